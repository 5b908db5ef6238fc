"""Attachment checks: PDF or DOCX only, by content (not by name or browser-declared type)."""

from __future__ import annotations

import io
import zipfile
from typing import IO

from django.conf import settings

from datashare.env import env_int
from datashare.intake.errors import InvalidAttachment

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def max_upload_bytes() -> int:
    return int(getattr(settings, "INTAKE_MAX_UPLOAD_BYTES", env_int("INTAKE_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)))


def sniff(stream: IO[bytes], size: int) -> str:
    """The content type of an upload, or InvalidAttachment saying why it is refused."""
    limit = max_upload_bytes()
    if size > limit:
        raise InvalidAttachment(f"The file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.")
    if size == 0:
        raise InvalidAttachment("The file is empty.")
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        data = stream.read(limit + 1)
        stream.seek(0)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            pass
    raise InvalidAttachment("Only PDF or Word (.docx) documents are accepted.")
