"""Agreements' periodic sweeps (``core.scheduler``): reminders, start and end of term, and a
retry of executions that did not finish. Each transition is its service with its row lock."""

from __future__ import annotations

from datetime import timedelta

from datashare.core.queues import LONG_QUEUE
from datashare.core.scheduler import periodic


@periodic("agreements.send_reminders", every=timedelta(hours=1))
def send_reminders() -> None:
    from datashare.agreements.services import send_due_reminders

    send_due_reminders()


@periodic("agreements.term_sweep", every=timedelta(minutes=5))
def term_sweep() -> None:
    from datashare.agreements.services import activate_due, expire_due

    activate_due()
    expire_due()


@periodic("agreements.execute_pending", every=timedelta(minutes=10), queue=LONG_QUEUE)
def execute_pending() -> None:
    from datashare.agreements.services import execute_pending as retry

    retry()
