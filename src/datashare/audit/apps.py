from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "datashare.audit"
    label = "audit"
    verbose_name = "Audit log"
