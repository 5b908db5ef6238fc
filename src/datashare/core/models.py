"""Operational state shared by every app: the scheduler's jobs and the workers' heartbeats."""

from __future__ import annotations

from django.db import models


class ScheduledJob(models.Model):
    """One row per periodic job registered with ``core.scheduler.periodic``.

    ``next_run_at`` is the claim: a scheduler runs a job only after moving ``next_run_at``
    forward with a conditional UPDATE that names the value it read, so of two schedulers
    reading the same due row exactly one wins (see ``core.scheduler``).
    """

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField(db_index=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # "", "ok" or "failed"; the error's type and message (never a traceback with data in it).
    last_status = models.CharField(max_length=10, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (next {self.next_run_at:%Y-%m-%d %H:%M:%S})"


class WorkerHeartbeat(models.Model):
    """The last time a task worker actually processed a heartbeat task from its queue.

    Written by the heartbeat task itself (not by the process that enqueues it), so a fresh row
    proves the queue is being consumed, not merely that a worker process exists. ``name`` is
    the queue's name.
    """

    name = models.CharField(max_length=50, unique=True, default="default")
    beat_at = models.DateTimeField()
    worker_pid = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
