"""`datashare audit verify [--against HEAD_FILE]` and `datashare audit export-head [--to DIR]`."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from datashare.audit.chain import audit_key, verify
from datashare.audit.head import BadHeadFile, check_against, export_head, load_head
from datashare.audit.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Audit log tools. 'verify' checks the keyed hash chain (and, with --against, that an earlier "
        "exported head is still in it) and names the first broken row; 'export-head' writes the "
        "signed chain head now."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["verify", "export-head"])
        parser.add_argument("--against", type=Path, help="a head file written by export-head (or its .jsonl history)")
        parser.add_argument("--to", type=Path, help="export-head: the folder (default AUDIT_HEAD_DIR)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export-head":
            try:
                path = export_head(options["to"])
            except (BadHeadFile, OSError) as exc:
                raise CommandError(str(exc), returncode=2) from None
            self.stdout.write(f"chain head written to {path}")
            return
        head = None
        if options["against"] is not None:
            try:
                head = load_head(options["against"])
            except BadHeadFile as exc:
                raise CommandError(str(exc), returncode=2) from None
        problems = verify()
        if head is not None:
            problems += check_against(head)
        if problems:
            first = problems[0]
            self.stderr.write(f"audit log BROKEN at {first}")
            for other in problems[1:10]:
                self.stderr.write(f"  also: {other}")
            sys.exit(1)
        count = AuditEvent.objects.count()
        keyed = "keyed chain" if audit_key() else "UNKEYED chain (set AUDIT_HMAC_KEY)"
        unkeyed = settings.AUDIT_UNKEYED_UP_TO
        legacy = f", rows #1..#{unkeyed} accepted unkeyed" if unkeyed else ""
        against = f", head #{head['seq']} of {head['exported_at']} present" if head is not None else ""
        self.stdout.write(f"audit log intact: {count} events, {keyed} verified{legacy}{against}")
