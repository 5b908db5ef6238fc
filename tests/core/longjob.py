"""A stand-in for a long extract, used by test_queues.py's worker processes."""

from __future__ import annotations

import time
from pathlib import Path

from django_tasks import task

from datashare.core.queues import LONG_QUEUE


@task(queue_name=LONG_QUEUE)
def hold_the_long_worker(*, folder: str, name: str = "") -> None:
    """Run until the test says stop (a file appears), like an extract that takes minutes.
    ``name`` tells several such jobs apart; each counts its runs in ``started{name}``."""
    here = Path(folder)
    with (here / f"started{name}").open("a") as runs:
        runs.write("run\n")
    deadline = time.monotonic() + 60
    while not (here / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    (here / f"finished{name}").touch()
