from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "datashare.results"
    label = "results"
    verbose_name = "Shared results"

    def ready(self) -> None:
        from datashare.results import audit_actions  # noqa: F401
