"""`datashare run`: the portal (gunicorn), the task workers and the SFTP delivery server, together."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from datashare.env import env_int, env_str
from datashare.web.processes import children, supervise


class Command(BaseCommand):
    help = "Serve the portal and run the task worker in one process group; Ctrl-C stops all."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default=env_str("DATASHARE_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, help="gunicorn workers (default 2, also WEB_CONCURRENCY)")
        parser.add_argument(
            "--no-worker", action="store_true", help="web only (when the worker runs elsewhere: `datashare worker`)"
        )
        parser.add_argument(
            "--long-workers", type=int,
            help="long-queue workers (extracts, publishing) running side by side (default 2, "
            "also LONG_WORKERS)",
        )
        parser.add_argument(
            "--no-sftp", action="store_true", help="without the SFTP delivery server (also SFTP_ENABLED=0)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # From the environment here, not as argparse defaults: a bad value is then one
            # line (exit 2), not a traceback from building the parser.
            for option, name in (("web_workers", "WEB_CONCURRENCY"), ("long_workers", "LONG_WORKERS")):
                if options[option] is None:
                    options[option] = env_int(name, 2)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["long_workers"] < 1:
            # No long worker: extracts and publishing would wait in the queue for ever.
            raise CommandError("--long-workers (LONG_WORKERS) must be at least 1", returncode=2)
        procs = children(
            bind=options["bind"],
            web_workers=options["web_workers"],
            worker=not options["no_worker"],
            sftp=settings.SFTP_ENABLED and not options["no_sftp"],
            long_workers=options["long_workers"],
        )
        self.stdout.write(f"datashare: serving on http://{options['bind']}/ (Ctrl-C stops everything)")
        self.stdout.flush()

        def log(line: str) -> None:
            self.stdout.write(f"datashare: {line}")
            self.stdout.flush()

        sys.exit(supervise(procs, log=log))
