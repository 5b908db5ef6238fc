"""Read the tables in a results file: CSV, XLSX, DOCX and (text) PDF, within size limits.

Every reader returns plain :class:`Table` objects whose cells keep their position in the
source, so a finding can point at a spreadsheet cell, a document table or a PDF page line.
Untrusted files: the raw size, the inflated size and inflation ratio of a zip container
(XLSX, DOCX), the number of cells and of PDF pages are bounded before or while reading, XML is
parsed with defusedxml (no entities, no DTDs), and any parser failure becomes one
:class:`ScanError` sentence instead of a traceback.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from datashare.outputcheck.errors import ScanError

Cell = str | int | float | None

KINDS = {".csv": "CSV", ".xlsx": "Excel", ".docx": "Word", ".pdf": "PDF"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 25 * 1024 * 1024  # the upload itself
    max_unpacked_bytes: int = 200 * 1024 * 1024  # all members of an XLSX/DOCX, inflated
    max_ratio: int = 200  # inflated/compressed for one member larger than 1 MiB: a zip bomb
    max_members: int = 5_000
    max_cells: int = 2_000_000
    max_pages: int = 500


@dataclass
class Table:
    file: str
    part: str  # "sheet 'X'", "table 2", "page 3", "" for a CSV
    rows: list[list[Cell]] = field(default_factory=list)
    # Source row number of each row (1-based); PDF tables skip the page's non-table lines.
    row_numbers: list[int] = field(default_factory=list)

    def add(self, number: int, cells: list[Cell]) -> None:
        self.rows.append(cells)
        self.row_numbers.append(number)


class _Budget:
    """Counts cells across all tables of one file so a huge sheet stops early."""

    def __init__(self, name: str, limit: int) -> None:
        self.name, self.limit, self.used = name, limit, 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise ScanError(
                f"{self.name} has more than {self.limit:,} cells; split it or send the tables only"
            )


def kind_of(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if suffix not in KINDS:
        raise ScanError(
            f"{name}: only {', '.join(sorted(KINDS))} files can be checked (got {suffix or 'no extension'})"
        )
    return suffix


def read_tables(name: str, data: bytes, limits: Limits | None = None) -> list[Table]:
    """All tables in ``data`` (the bytes of the file called ``name``)."""
    limits = limits or Limits()
    suffix = kind_of(name)
    if len(data) > limits.max_bytes:
        raise ScanError(f"{name} is larger than {limits.max_bytes // (1024 * 1024)} MB")
    budget = _Budget(name, limits.max_cells)
    try:
        if suffix == ".csv":
            return _read_csv(name, data, budget)
        if suffix == ".xlsx":
            _check_zip(name, data, limits)
            return _read_xlsx(name, data, budget)
        if suffix == ".docx":
            _check_zip(name, data, limits)
            return _read_docx(name, data, budget)
        return _read_pdf(name, data, budget, limits)
    except ScanError:
        raise
    except Exception as exc:  # parsers raise anything on a damaged file
        raise ScanError(
            f"{name} could not be read: it is damaged or not really a {KINDS[suffix]} file"
        ) from exc


def _check_zip(name: str, data: bytes, limits: Limits) -> None:
    # Declared sizes bound what zipfile will inflate (it stops at file_size), so checking
    # them up front is enough to refuse a zip bomb before openpyxl or the XML parser runs.
    if not data.startswith(b"PK"):
        raise ScanError(f"{name} could not be read: it is damaged or not really an Office file")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ScanError(f"{name} holds too many parts ({len(infos):,}) to be a report")
        total = 0
        for info in infos:
            total += info.file_size
            big = info.file_size > 1024 * 1024
            if big and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise ScanError(f"{name} inflates far beyond its size (a zip bomb?); not read")
        if total > limits.max_unpacked_bytes:
            raise ScanError(
                f"{name} inflates to more than {limits.max_unpacked_bytes // (1024 * 1024)} MB; not read"
            )


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise ScanError("not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows still saves "CSV" as cp1252; every byte decodes, so this cannot fail
        # except on the five undefined bytes, which we map to U+FFFD.
        return data.decode("cp1252", errors="replace")


def _read_csv(name: str, data: bytes, budget: _Budget) -> list[Table]:
    try:
        text = _decode(data)
    except ScanError:
        raise ScanError(f"{name} could not be read: it is not a text (CSV) file") from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    table = Table(file=name, part="")
    for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        budget.take(len(row))
        table.add(number, list(row))
    return [table]


def _read_xlsx(name: str, data: bytes, budget: _Budget) -> list[Table]:
    import openpyxl  # imported here: only XLSX uploads pay for it

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    tables = []
    try:
        for sheet in book.worksheets:
            table = Table(file=name, part=f"sheet '{sheet.title}'")
            for number, row in enumerate(sheet.iter_rows(), start=1):
                budget.take(len(row))
                cells: list[Cell] = []
                for cell in row:
                    value = getattr(cell, "value", None)
                    fmt = getattr(cell, "number_format", "") or ""
                    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                        cells.append(None if value is None else str(value))
                    elif isinstance(value, (int, float)) and "%" in fmt:
                        # 0.3 shown as "30%": keep what the reader of the report sees.
                        cells.append(f"{value * 100:.10g}%")
                    else:
                        cells.append(value)
                table.add(number, cells)
            tables.append(table)
    finally:
        book.close()
    return tables


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _read_docx(name: str, data: bytes, budget: _Budget) -> list[Table]:
    from defusedxml import ElementTree

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("word/document.xml")
    root = ElementTree.fromstring(xml)
    tables = []
    for index, tbl in enumerate(root.iter(f"{_W}tbl"), start=1):
        table = Table(file=name, part=f"table {index}")
        for number, tr in enumerate(tbl.findall(f"{_W}tr"), start=1):
            cells: list[Cell] = []
            for tc in tr.findall(f"{_W}tc"):
                paragraphs = [
                    "".join(t.text or "" for t in p.iter(f"{_W}t")) for p in tc.findall(f"{_W}p")
                ]
                cells.append(" ".join(p for p in paragraphs if p).strip())
            budget.take(len(cells))
            table.add(number, cells)
        tables.append(table)
    return tables


_COLUMNS = re.compile(r"\s{2,}|\t")


def _read_pdf(name: str, data: bytes, budget: _Budget, limits: Limits) -> list[Table]:
    from pypdf import PdfReader

    if not data.lstrip()[:5] == b"%PDF-":
        raise ScanError(f"{name} could not be read: it is damaged or not really a PDF file")
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ScanError(f"{name} is password-protected; send it without a password")
    if len(reader.pages) > limits.max_pages:
        raise ScanError(f"{name} has more than {limits.max_pages} pages")
    tables = []
    for page_number, page in enumerate(reader.pages, start=1):
        # Layout mode keeps the gaps between columns, so a line of a table splits on runs of
        # spaces; a PDF keeps no table structure, so this is the most that can be read.
        text = page.extract_text(extraction_mode="layout") or ""
        table = Table(file=name, part=f"page {page_number}")
        for line_number, line in enumerate(text.splitlines(), start=1):
            cells: list[Cell] = [c for c in _COLUMNS.split(line.strip()) if c]
            if len(cells) >= 2:
                budget.take(len(cells))
                table.add(line_number, cells)
        tables.append(table)
    return tables
