from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "datashare.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # Register the periodic jobs: the signed head's export and the hourly verification.
        from datashare.audit import head, status  # noqa: F401

        # The audit app's own actions.
        from datashare.audit.registry import register

        register("audit.chain_verified", "Audit chain verified")
        register("audit.log_exported", "Audit log exported")
