from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "datashare.catalog"
    label = "catalog"
    verbose_name = "Data catalog"
