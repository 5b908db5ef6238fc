"""Attachment checks: PDF or DOCX only, by content (not by name or browser-declared type)."""

from __future__ import annotations

import io
import zipfile
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from datashare.env import env_int
from datashare.intake.errors import InvalidAttachment

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def max_upload_bytes() -> int:
    return int(getattr(settings, "INTAKE_MAX_UPLOAD_BYTES", env_int("INTAKE_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)))


def _megabytes(size: int) -> str:
    return f"{round(size / 1e6, 1):g} MB"


def too_large_message() -> str:
    return f"The file is too large; the limit is {_megabytes(max_upload_bytes())}."


class LimitedUploadHandler(FileUploadHandler):
    """The first upload handler (settings.FILE_UPLOAD_HANDLERS): a file that grows past the
    attachment limit is skipped as it arrives, so it is never spooled to disk whole before a
    form sees its size; the rest of the request is read as usual. The request remembers the
    field (``oversized``), so the form can say why its file is missing."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > max_upload_bytes():
            if self.request is not None:
                oversized(self.request).add(self.field_name)
            raise SkipFile
        return raw_data  # on to the handlers that keep it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handlers make the file


def oversized(request: HttpRequest) -> set[str]:
    """Fields of this request whose file was skipped for its size (``LimitedUploadHandler``)."""
    fields: set[str] | None = getattr(request, "_datashare_oversized_uploads", None)
    if fields is None:
        fields = set()
        request._datashare_oversized_uploads = fields  # type: ignore[attr-defined]
    return fields


def sniff(stream: IO[bytes], size: int) -> str:
    """The content type of an upload, or InvalidAttachment saying why it is refused."""
    limit = max_upload_bytes()
    if size > limit:
        raise InvalidAttachment(f"The file is {_megabytes(size)}; the limit is {_megabytes(limit)}.")
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
                inspect_archive(archive, size)
                if "word/document.xml" in archive.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            pass
    raise InvalidAttachment("Only PDF or Word (.docx) documents are accepted.")


# What a real Word document inflates to: a few MB of XML plus its pictures. A zip bomb (2 MB
# that inflates to 2 GiB) is refused by its total and by how much any part inflates, read from
# the archive's directory without extracting anything (zipfile never inflates a part past the
# size the directory declares, so the declared sizes bound whatever reads the file later).
MAX_ARCHIVE_MEMBERS = 2_000
MAX_INFLATION_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024  # small parts (styles, settings) compress far better than 100:1


def max_uncompressed_bytes() -> int:
    return int(
        getattr(settings, "INTAKE_MAX_UNCOMPRESSED_BYTES", env_int("INTAKE_MAX_UNCOMPRESSED_BYTES", 100 * 1024 * 1024))
    )


def inspect_archive(archive: zipfile.ZipFile, size: int) -> None:
    """Refuse a zip-based upload (.docx) whose parts are too many, inflate too far, or add up
    to more than the uncompressed limit; InvalidAttachment says which."""
    infos = archive.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise InvalidAttachment(f"The document holds {len(infos):,} parts; a Word document has far fewer.")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_INFLATION_RATIO * max(info.compress_size, 1):
            raise InvalidAttachment(
                "The document expands to far more than its size (more than "
                f"{MAX_INFLATION_RATIO} times): it is refused as a possible zip bomb."
            )
    limit = max_uncompressed_bytes()
    if total > limit:
        raise InvalidAttachment(
            f"The document expands to {_megabytes(total)} when opened; the limit is {_megabytes(limit)}."
        )
    if total > MAX_INFLATION_RATIO * max(size, 1) and total > RATIO_CHECKED_FROM:
        raise InvalidAttachment(
            "The document expands to far more than its size (more than "
            f"{MAX_INFLATION_RATIO} times): it is refused as a possible zip bomb."
        )
