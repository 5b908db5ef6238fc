from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "datashare.catalog"
    label = "catalog"
    verbose_name = "Data catalog"

    def ready(self) -> None:
        from datashare.catalog import audit_actions  # noqa: F401
