"""Retention listens to agreements; agreements never imports retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from datashare.agreements.signals import agreement_ended


def on_agreement_ended(sender: Any, agreement: Any, termination_date: dt.date, actor: Any = None, **kwargs: Any) -> None:
    from datashare.retention.destruction import schedule_destruction
    from datashare.retention.tasks import erase_agency_copies_task

    d = schedule_destruction(agreement=agreement, termination_date=termination_date, actor=actor)
    # Our own copies end with the agreement; the erasure touches files, so it runs in a task.
    transaction.on_commit(lambda: erase_agency_copies_task.enqueue(destruction_id=d.pk))


agreement_ended.connect(on_agreement_ended, dispatch_uid="retention.on_agreement_ended")
