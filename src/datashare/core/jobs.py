"""The core's own periodic jobs."""

from __future__ import annotations

from datetime import timedelta

from datashare.core.queues import SHORT_QUEUE
from datashare.core.scheduler import periodic
from datashare.core.tasks import beat

HEARTBEAT_EVERY = timedelta(seconds=30)


@periodic("core.heartbeat", every=HEARTBEAT_EVERY, queue=SHORT_QUEUE)
def heartbeat() -> None:
    # Run by the short worker from the queue, so a fresh WorkerHeartbeat row proves the
    # scheduler claims jobs *and* the short queue is consumed (/healthz reads it).
    beat(SHORT_QUEUE)
