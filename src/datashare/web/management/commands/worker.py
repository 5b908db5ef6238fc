"""`datashare worker`: the django-tasks-db worker, plus the heartbeat /healthz reads."""

from __future__ import annotations

import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

HEARTBEAT_SECONDS = 30


def _enqueue_heartbeats(stop: threading.Event) -> None:
    from datashare.web.tasks import heartbeat

    while not stop.is_set():
        try:
            heartbeat.enqueue()
        finally:
            # A thread's connection is never closed by Django's request cycle; don't hold one.
            connection.close()
        stop.wait(HEARTBEAT_SECONDS)


class Command(BaseCommand):
    help = "Process background tasks (db_worker --no-reload) and enqueue a heartbeat every 30 s."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue-name", default="*")

    def handle(self, *args: Any, **options: Any) -> None:
        # The heartbeat is a task like any other, so a fresh heartbeat row proves that this
        # worker is taking work off the queue, not just that the process is alive.
        stop = threading.Event()
        thread = threading.Thread(target=_enqueue_heartbeats, args=(stop,), name="heartbeat", daemon=True)
        thread.start()
        try:
            call_command("db_worker", "--no-reload", "--queue-name", options["queue_name"], "--interval", "1")
        finally:
            stop.set()
