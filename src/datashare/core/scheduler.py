"""Periodic jobs and deadline sweeps, claimed with a conditional UPDATE (no cron, no locks held).

Register a job on a plain function, in a module your app's ``AppConfig.ready()`` imports:

    from datetime import timedelta
    from datashare.core.scheduler import claim_due, periodic

    @periodic("agreements.expire_due", every=timedelta(minutes=1))
    def expire_due() -> None:
        for agreement in claim_due(Agreement.objects.filter(status=Status.SIGNED), "expires_at",
                                   push=timedelta(hours=1)):
            services.expire(actor=None, agreement=agreement)  # sets expires_at=None on success

How it runs. The short-queue worker (``datashare worker``, started by ``datashare run``) ticks
``run_due()`` every second in a thread. For each registered job whose ``ScheduledJob.next_run_at``
has passed, it moves ``next_run_at`` to ``now + every`` with
``filter(pk=…, next_run_at=<the value read>).update(…)`` and goes on only if exactly one row
changed (healthchecks' ``sendalerts``): of two workers that read the same due row, one wins and
the other's UPDATE matches nothing. The deadline is pushed *before* the job runs, so a job that
crashes (or a worker killed mid-run) is retried at its next interval, never in a tight loop.
The claimed run is then enqueued as the ``core.tasks.run_scheduled_job`` task on the job's
queue (``queue=SHORT_QUEUE`` by default, ``LONG_QUEUE`` for slow jobs), so the scheduler thread
never runs job code itself and a slow job cannot delay the others' claims.

``claim_due`` is the same claim for rows of any model with a deadline column: it yields rows
one at a time, each after pushing its deadline by ``push`` with a conditional UPDATE, so two
sweeps (or a sweep and a retry) never act on the same row at once. The sweep's action should
clear or move the deadline when it succeeds; if it fails, the row comes back after ``push``.
All "now" comes from ``core.clock.now()``, which tests freeze and advance.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.db.models import F

from datashare.core import clock
from datashare.core.models import ScheduledJob
from datashare.core.queues import QUEUES, SHORT_QUEUE

log = logging.getLogger(__name__)

F_ = TypeVar("F_", bound=Callable[[], Any])
M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], Any]
    every: dt.timedelta
    queue: str


_JOBS: dict[str, Job] = {}


def periodic(name: str, *, every: dt.timedelta, queue: str = SHORT_QUEUE) -> Callable[[F_], F_]:
    """Register the decorated no-argument function to run every ``every`` (first run: at once).

    ``name`` is ``<app>.<job>`` and stable: it is the ``ScheduledJob`` row's key.
    """
    if every <= dt.timedelta(0):
        raise ValueError(f"{name}: the interval must be positive")
    if queue not in QUEUES:
        raise ValueError(f"{name}: unknown queue {queue!r} (one of {', '.join(QUEUES)})")

    def register(func: F_) -> F_:
        existing = _JOBS.get(name)
        # Re-importing the same module yields a new function object with the same name:
        # replace silently; two different functions under one name is a mistake.
        if existing is not None and (existing.func.__module__, existing.func.__qualname__) != (
            func.__module__,
            func.__qualname__,
        ):
            raise ValueError(f"periodic job {name!r} is already registered by {existing.func.__module__}")
        _JOBS[name] = Job(name=name, func=func, every=every, queue=queue)
        return func

    return register


def registered_jobs() -> dict[str, Job]:
    return dict(_JOBS)


def _ensure_rows(now: dt.datetime) -> None:
    """A ``ScheduledJob`` row for every registered job; a new job is due at once."""
    known = set(ScheduledJob.objects.filter(name__in=_JOBS).values_list("name", flat=True))
    missing = [ScheduledJob(name=name, next_run_at=now) for name in _JOBS if name not in known]
    if missing:
        # Two workers starting together may both insert: the unique name keeps one row each.
        ScheduledJob.objects.bulk_create(missing, ignore_conflicts=True)


def claim(job: Job, *, row: ScheduledJob, now: dt.datetime) -> bool:
    """Move the job's deadline past ``now`` iff it still holds the value we read; True if we won."""
    won = ScheduledJob.objects.filter(pk=row.pk, next_run_at=row.next_run_at).update(
        next_run_at=now + job.every, last_started_at=now, runs=F("runs") + 1
    )
    return won == 1


def run_due(*, now: dt.datetime | None = None, dispatch: Callable[[Job], None] | None = None) -> list[str]:
    """Claim every due job and dispatch each claimed run (default: enqueue it on its queue).

    Returns the names this call claimed. Safe to call from any number of processes at once.
    """
    now = now or clock.now()
    _ensure_rows(now)
    claimed: list[str] = []
    for row in ScheduledJob.objects.filter(name__in=_JOBS, next_run_at__lte=now).order_by("next_run_at"):
        job = _JOBS[row.name]
        if not claim(job, row=row, now=now):
            continue  # another scheduler got it first
        claimed.append(job.name)
        (dispatch or enqueue)(job)
    return claimed


def enqueue(job: Job) -> None:
    from datashare.core.tasks import run_scheduled_job

    run_scheduled_job.using(queue_name=job.queue).enqueue(name=job.name)


def run_claimed(name: str) -> None:
    """Run a claimed job now and record how it went (the deadline was already pushed)."""
    job = _JOBS.get(name)
    if job is None:
        # The job was removed from the code after this run was queued: nothing to do.
        log.warning("scheduled job %s is no longer registered", name)
        return
    try:
        job.func()
    except Exception as exc:
        ScheduledJob.objects.filter(name=name).update(
            last_finished_at=clock.now(), last_status="failed", last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        raise  # the queue marks the task FAILED too
    ScheduledJob.objects.filter(name=name).update(last_finished_at=clock.now(), last_status="ok", last_error="")


def run_inline(job: Job) -> None:
    """A ``dispatch`` for ``run_due`` that runs the job in this process (tests, ``scheduler --once``)."""
    run_claimed(job.name)


def claim_due(
    queryset: models.QuerySet[M],
    field: str,
    *,
    push: dt.timedelta,
    now: dt.datetime | None = None,
    limit: int = 100,
) -> Iterator[M]:
    """Yield up to ``limit`` rows of ``queryset`` whose ``field`` has passed, each one claimed.

    A row is yielded only after ``queryset.filter(pk=…, <field>=<value read>).update(<field>=now +
    push)`` changed exactly one row, so concurrent sweeps never yield the same row, and the
    caller's own conditions (a status, say) are checked again at the moment of the claim. Rows
    with a null deadline are never due. Pass an unsliced queryset.
    """
    now = now or clock.now()
    if push <= dt.timedelta(0):
        raise ValueError("push must be positive, or a failing row would be claimed again at once")
    # Read the candidates first (a plain list: no cursor held open while we update).
    candidates = list(
        queryset.filter(**{f"{field}__lte": now}).order_by(field, "pk").values_list("pk", field)[:limit]
    )
    for pk, deadline in candidates:
        won = queryset.filter(pk=pk, **{field: deadline}).update(**{field: now + push})
        if won != 1:
            continue
        row = queryset.filter(pk=pk).first()
        if row is not None:
            yield row
