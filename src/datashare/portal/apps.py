from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "datashare.portal"
    label = "portal"
    verbose_name = "Public data portal"

    def ready(self) -> None:
        from datashare.portal import audit_actions  # noqa: F401
