from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "datashare.agreements"
    label = "agreements"
    verbose_name = "Data sharing agreements"

    def ready(self) -> None:
        # Intake sends request_approved after its commit; agreements (a later layer) listens.
        from datashare.agreements import audit_actions, jobs, receivers  # noqa: F401
