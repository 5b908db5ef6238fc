from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: errors, transition tables, the clock, the calendar, tasks, the scheduler.

    The lowest app layer (see the import-linter layers contract): it imports no other datashare app.
    """

    name = "datashare.core"
    label = "core"
    verbose_name = "Core services"

    def ready(self) -> None:
        # The core's own periodic jobs (the heartbeat) register on import.
        from datashare.core import jobs  # noqa: F401
