from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "datashare.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # Registers the periodic export of the signed chain head.
        from datashare.audit import head  # noqa: F401
