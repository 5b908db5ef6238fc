"""`datashare audit verify`: check the audit log's hash chain; exit 1 naming the first break."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from datashare.audit.chain import verify
from datashare.audit.models import AuditEvent


class Command(BaseCommand):
    help = "Audit log tools. 'verify' checks the hash chain and names the first broken row."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        problems = verify()
        if problems:
            first = problems[0]
            self.stderr.write(f"audit log BROKEN at {first}")
            for other in problems[1:10]:
                self.stderr.write(f"  also: {other}")
            sys.exit(1)
        count = AuditEvent.objects.count()
        self.stdout.write(f"audit log intact: {count} events, chain verified")
