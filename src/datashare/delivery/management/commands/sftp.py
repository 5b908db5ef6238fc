"""``datashare sftp``: the SFTP delivery server (started by ``datashare run``)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from datashare.delivery import keys as delivery_keys
from datashare.delivery import sftpd
from datashare.delivery.backend import DjangoBackend
from datashare.extract.vault import VaultError


class Command(BaseCommand):
    help = "Serve delivered packages over SFTP (read-only, one agreement per account)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SFTP_HOST)
        parser.add_argument("--port", type=int, default=settings.SFTP_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        logging.basicConfig(level=logging.INFO, format="sftp: %(message)s", stream=sys.stdout)
        logging.getLogger("asyncssh").setLevel(logging.WARNING)
        if os.geteuid() == 0:
            self.stderr.write("sftp: warning: running as root; run datashare as an unprivileged user")
        try:
            master = delivery_keys.master_key()
        except VaultError as exc:
            self.stderr.write(f"sftp: {exc}")
            sys.exit(2)
        host_key = sftpd.load_or_create_host_key(settings.SFTP_HOST_KEY_FILE)
        server = sftpd.DeliveryServer(
            DjangoBackend(settings.DELIVERY_STORE),
            master_key=master,
            host_key=host_key,
            host=options["host"],
            port=options["port"],
        )

        try:
            asyncio.run(sftpd.serve_until_signalled(server))
        except OSError as exc:  # the port is taken, the host does not exist
            self.stderr.write(f"sftp: cannot listen on {options['host']}:{options['port']}: {exc.strerror}")
            sys.exit(2)
