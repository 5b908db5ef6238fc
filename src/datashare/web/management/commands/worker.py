"""`datashare worker`: the django-tasks-db worker for one queue, and (short queue) the scheduler."""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from datashare.core.queues import LONG_QUEUE

SCHEDULER_TICK_SECONDS = 1.0
log = logging.getLogger(__name__)


def _tick_scheduler(stop: threading.Event) -> None:
    from datashare.core.scheduler import run_due

    while not stop.is_set():
        try:
            run_due()
        except Exception:
            # A database hiccup must not kill the thread (the worker would look healthy while
            # nothing is scheduled): log and retry next tick; the heartbeat goes stale if it lasts.
            log.exception("scheduler tick failed")
        finally:
            # A thread's connection is never closed by Django's request cycle; don't hold one.
            connection.close()
        stop.wait(SCHEDULER_TICK_SECONDS)


class Command(BaseCommand):
    help = (
        "Process background tasks of one queue (db_worker --no-reload). The short queue's worker "
        "also runs the periodic scheduler (the heartbeat among its jobs)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue",
            choices=["short", "long", "all"],
            default="short",
            help="short: email, heartbeat, scheduled jobs (+ the scheduler); long: extracts, publishing; "
            "all: both in one process (a long job then delays the short ones)",
        )
        parser.add_argument("--no-scheduler", action="store_true", help="do not run the periodic scheduler here")

    def handle(self, *args: Any, **options: Any) -> None:
        queue = options["queue"]
        if queue == "long":
            queue_args = ["--queue-name", LONG_QUEUE]
        elif queue == "short":
            # Everything but the long queue, so a task on a queue nobody listed is still run.
            queue_args = ["--queue-name", "*", "--exclude-queues", LONG_QUEUE]
        else:
            queue_args = ["--queue-name", "*"]
        stop = threading.Event()
        if queue != "long" and not options["no_scheduler"]:
            thread = threading.Thread(target=_tick_scheduler, args=(stop,), name="scheduler", daemon=True)
            thread.start()
        try:
            call_command("db_worker", "--no-reload", *queue_args, "--interval", "1")
        finally:
            stop.set()


