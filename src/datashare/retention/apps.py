from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "datashare.retention"
    label = "retention"
    verbose_name = "Retention, disclosures and destruction"

    def ready(self) -> None:
        from datashare.retention import audit_actions, jobs, receivers  # noqa: F401
