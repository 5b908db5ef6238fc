"""Retention's periodic jobs (registered with the core scheduler when the app loads)."""

from __future__ import annotations

from datetime import timedelta

from datashare.core.scheduler import periodic
from datashare.retention.destruction import send_due_destruction_reminders


@periodic("retention.destruction_reminders", every=timedelta(hours=1))
def destruction_reminders() -> None:
    send_due_destruction_reminders()
