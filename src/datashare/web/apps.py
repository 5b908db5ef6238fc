from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "datashare.web"
    label = "web"
    verbose_name = "Portal pages"
