"""The shared background tasks (Django's tasks API; the database queue in production).

Enqueue them with ``transaction.on_commit`` so a rolled-back change sends nothing and the
worker never sees a row that is not committed yet. Each task names its queue (``core.queues``):
everything here is short.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.core.mail import EmailMessage
from django.utils import timezone
from django_tasks import task

from datashare.core.models import WorkerHeartbeat
from datashare.core.queues import SHORT_QUEUE

HEARTBEAT_TASK_PATH = "datashare.core.tasks.heartbeat"
SCHEDULED_JOB_TASK_PATH = "datashare.core.tasks.run_scheduled_job"
# Queue rows enqueued before the move to core still name the old module, which re-exports these.
_OLD_PATHS = ("datashare.web.tasks.heartbeat",)
# Successful rows of these frequent tasks are pruned after this long (failed rows are kept).
KEEP_SUCCESSFUL = timedelta(hours=1)


@task(queue_name=SHORT_QUEUE)
def send_email(*, to: list[str], subject: str, body: str) -> None:
    # Outside any transaction, on the worker: SMTP may be slow or down; a failure marks this
    # task FAILED in the queue without touching the change that caused the email.
    EmailMessage(subject=subject, body=body, to=to).send()


def beat(queue: str = SHORT_QUEUE) -> None:
    """Record that a worker of ``queue`` is consuming it; prune old frequent queue rows."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=queue, defaults={"beat_at": now, "worker_pid": os.getpid()})
    # One heartbeat every 30 s and a scheduled job a minute are thousands of queue rows a day:
    # keep only the last hour's successful ones.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        task_path__in=(HEARTBEAT_TASK_PATH, SCHEDULED_JOB_TASK_PATH, *_OLD_PATHS),
        status="SUCCESSFUL",
        finished_at__lt=now - KEEP_SUCCESSFUL,
    ).delete()


@task(queue_name=SHORT_QUEUE)
def heartbeat(queue: str = SHORT_QUEUE) -> None:
    """Proves the queue is consumed; /healthz reads the row."""
    beat(queue)


@task(queue_name=SHORT_QUEUE)
def run_scheduled_job(*, name: str) -> None:
    """One run of a periodic job the scheduler has already claimed (see ``core.scheduler``).

    Enqueued on the job's own queue (``using(queue_name=...)``), so a long job runs on the
    long worker.
    """
    from datashare.core.scheduler import run_claimed

    run_claimed(name)
