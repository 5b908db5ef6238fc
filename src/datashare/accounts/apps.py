from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "datashare.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from datashare.accounts import audit_actions, signals  # noqa: F401

        signals.connect()
