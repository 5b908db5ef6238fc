"""Operational state of the running system (not part of any request's record)."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a task worker actually processed a heartbeat task from the queue.

    Written by the heartbeat task itself (not by the process that enqueues it), so a fresh row
    proves the queue is being consumed, not merely that a worker process exists.
    """

    name = models.CharField(max_length=50, unique=True, default="default")
    beat_at = models.DateTimeField()
    worker_pid = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
