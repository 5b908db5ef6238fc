from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "datashare.intake"
    label = "intake"
    verbose_name = "Data sharing requests"

    def ready(self) -> None:
        from datashare.intake import audit_actions  # noqa: F401
