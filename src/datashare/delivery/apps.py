from __future__ import annotations

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "datashare.delivery"
    label = "delivery"
    verbose_name = "Delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from datashare.delivery import audit_actions, jobs, receivers  # noqa: F401
