"""Background tasks (Django's tasks API; the database queue in production).

Enqueue them with ``transaction.on_commit`` so a rolled-back change sends nothing and the
worker never sees a row that is not committed yet.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.core.mail import EmailMessage
from django.utils import timezone
from django_tasks import task

from datashare.web.models import WorkerHeartbeat

HEARTBEAT_TASK_PATH = "datashare.web.tasks.heartbeat"


@task()
def send_email(*, to: list[str], subject: str, body: str) -> None:
    # Outside any transaction, on the worker: SMTP may be slow or down; a failure marks this
    # task FAILED in the queue without touching the change that caused the email.
    EmailMessage(subject=subject, body=body, to=to).send()


@task()
def heartbeat() -> None:
    """Proves the queue is consumed; /healthz reads the row."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name="default", defaults={"beat_at": now, "worker_pid": os.getpid()})
    # One heartbeat every 30 s is ~3,000 queue rows a day: keep only the last hour's.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        task_path=HEARTBEAT_TASK_PATH, status="SUCCESSFUL", finished_at__lt=now - timedelta(hours=1)
    ).delete()
