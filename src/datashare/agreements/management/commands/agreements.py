"""`datashare agreements verify FILE.pdf`: the seal's integrity, whole-file coverage and chain to
the agency CA, and the file's SHA-256 against the one recorded when the agreement was executed.
Exit 0: valid; 1: any problem (one changed byte is one); 2: bad input (no such file)."""

from __future__ import annotations

import hashlib
import logging
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from datashare.agreements.models import Agreement
from datashare.agreements.sealing import verify_pdf


class Command(BaseCommand):
    help = "Agreement tools. 'verify FILE.pdf' checks a sealed agreement PDF."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["verify"])
        parser.add_argument("file", help="the sealed agreement PDF")
        parser.add_argument("--ca", help="the agency CA certificate (default: AGREEMENT_CA_CERT_FILE)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        ca = Path(options["ca"] or settings.AGREEMENT_CA_CERT_FILE)
        for p, what in ((path, "file"), (ca, "CA certificate")):
            if not p.is_file():
                self.stderr.write(f"datashare agreements verify: no such {what}: {p}")
                sys.exit(2)
        data = path.read_bytes()
        # pyHanko logs every odd structure it meets as a warning with a traceback: the verdict
        # below says what matters, in one line each.
        logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
        result = verify_pdf(data, ca_file=ca)
        problems = list(result.problems)
        digest = hashlib.sha256(data).hexdigest()
        # The seal leaves the signature container itself (and unused bytes in it) outside what
        # it signs; the SHA-256 recorded at execution (and in the audit log) covers every byte.
        agreement = Agreement.objects.filter(sealed_sha256=digest).first()
        if agreement is None:
            problems.append(f"the file's SHA-256 {digest} matches no executed agreement on record (changed since sealing?)")
        if problems:
            for problem in problems:
                self.stderr.write(f"INVALID: {problem}")
            sys.exit(1)
        assert agreement is not None
        self.stdout.write(
            f"valid: {agreement.label} ({agreement.title}), sealed by {result.signer} at {result.signed_at}, SHA-256 {digest}"
        )
