from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "datashare.intake"
    label = "intake"
    verbose_name = "Data sharing requests"
