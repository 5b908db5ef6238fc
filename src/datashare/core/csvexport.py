"""Streamed CSV exports of staff records (the audit log, the record of disclosures).

Both are opened in a spreadsheet by people who trust them, so a cell a spreadsheet would run as
a formula (``=HYPERLINK(...)`` typed into a title or an organisation's name) is written as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The value as CSV text, quoted with a leading apostrophe if it would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Echo:
    """A file-like object whose ``write`` returns the line: csv.writer then yields rows."""

    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterable[Iterable[object]], filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` (header first) as a download; every cell goes through ``safe_cell``.
    Not cached anywhere: these exports hold who saw which students' data."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([safe_cell(v) for v in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
