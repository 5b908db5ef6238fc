"""Seal the executed agreement (PAdES, pyHanko) and verify a sealed PDF.

The seal is the agency's signature over the whole file (the agreement, its exhibits and the
certificate of completion): any byte changed afterwards breaks it. Verification checks the
signature's integrity, that it covers the entire file, and the certificate chain up to the
configured CA, without reaching the network (no revocation fetching: the trust root is ours).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

T = TypeVar("T")


def _outside_event_loop(func: Callable[..., T], *args: Any) -> T:
    """pyHanko's sync API calls ``asyncio.run``, which refuses to run inside a running event loop
    (an async server, Playwright's sync API in a test): then it runs on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(func, *args).result()


class SealingNotConfigured(Exception):
    pass


@dataclass(frozen=True)
class SealConfig:
    key_file: Path
    cert_file: Path
    ca_file: Path | None
    tsa_url: str = ""


def seal_pdf(pdf: bytes, config: SealConfig, *, reason: str, location: str) -> bytes:
    """The PDF with the agency's PAdES signature (and a timestamp when a TSA is configured)."""
    for path in (config.key_file, config.cert_file):
        if not path.is_file():
            raise SealingNotConfigured(f"the agreement signing key or certificate is missing: {path}")
    # The CA certificate is not embedded: verification trusts the configured root, so an
    # embedded copy would be bytes that no check reads.
    signer = signers.SimpleSigner.load(str(config.key_file), str(config.cert_file))
    if signer is None:
        raise SealingNotConfigured("the agreement signing key or certificate cannot be read")
    meta = signers.PdfSignatureMetadata(
        field_name="AgencySeal",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    timestamper = timestamps.HTTPTimeStamper(config.tsa_url) if config.tsa_url else None
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = _outside_event_loop(lambda: signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper))
    return out.getvalue()


@dataclass
class Verification:
    ok: bool
    problems: list[str] = field(default_factory=list)
    signer: str = ""
    signed_at: str = ""


def verify_pdf(data: bytes, *, ca_file: Path) -> Verification:
    """Integrity, whole-file coverage and the chain to ``ca_file``; ``ok`` only if all hold."""
    try:
        trust_root = load_cert_from_pemder(str(ca_file))
    except (OSError, ValueError) as exc:
        return Verification(ok=False, problems=[f"cannot read the CA certificate {ca_file}: {exc}"])
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # a changed byte can break the PDF's structure itself
        return Verification(ok=False, problems=[f"the file is not a readable PDF: {type(exc).__name__}: {exc}"])
    if not signatures:
        return Verification(ok=False, problems=["the PDF carries no signature"])
    context = ValidationContext(trust_roots=[trust_root], allow_fetching=False)
    problems: list[str] = []
    result = Verification(ok=False)
    for sig in signatures:
        try:
            status = _outside_event_loop(validate_pdf_signature, sig, context)
        except Exception as exc:
            # The file is untrusted input: a changed byte anywhere in the signature dictionary
            # or container can make pyHanko fail in many ways, each one a failed verification.
            problems.append(f"signature {sig.field_name}: cannot be validated: {exc}")
            continue
        if not status.intact:
            problems.append(f"signature {sig.field_name}: the signed bytes were changed")
        if not status.valid:
            problems.append(f"signature {sig.field_name}: the signature is not valid")
        if not status.trusted:
            problems.append(f"signature {sig.field_name}: the certificate does not chain to the agency CA")
        if status.coverage is None or status.coverage.name != "ENTIRE_FILE":
            problems.append(f"signature {sig.field_name}: does not cover the whole file (bytes were added after signing)")
        result.signer = status.signing_cert.subject.human_friendly
        result.signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else ""
    result.problems = problems
    result.ok = not problems
    return result
