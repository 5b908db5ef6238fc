"""Scan one results file: read its tables, check each, and say what could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datashare.outputcheck.findings import Finding, Severity
from datashare.outputcheck.readers import Limits, kind_of, read_tables
from datashare.outputcheck.rules import Rules, check_table


@dataclass
class ScanReport:
    file: str
    tables: int
    findings: list[Finding] = field(default_factory=list)
    # Parts a person must read by eye (a PDF page with no text, a document with no tables).
    notes: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.BLOCK for f in self.findings)

    @property
    def blocks(self) -> int:
        return sum(f.severity is Severity.BLOCK for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARN for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "tables": self.tables,
            "blocks": self.blocks,
            "warnings": self.warnings,
            "findings": [f.as_dict() for f in self.findings],
            "notes": list(self.notes),
        }


def scan_bytes(
    name: str, data: bytes, *, rules: Rules | None = None, limits: Limits | None = None
) -> ScanReport:
    """Check every table in a file. Raises :class:`ScanError` for a file that cannot be read."""
    rules = rules or Rules()
    suffix = kind_of(name)
    tables = read_tables(name, data, limits)
    report = ScanReport(file=name, tables=sum(1 for t in tables if t.rows))
    for table in tables:
        report.findings.extend(check_table(table, rules))
    if suffix == ".pdf":
        empty = [t.part for t in tables if not t.rows]
        if empty and len(empty) == len(tables):
            report.notes.append(
                "No table text could be read from this PDF (a scan or an image?): "
                "the steward checks its tables by eye."
            )
        elif empty:
            report.notes.append(f"No table text on {', '.join(empty)}: check those pages by eye.")
        report.notes.append(
            "A PDF keeps no table structure: its tables were read line by line; "
            "figures and charts are not checked."
        )
    elif suffix == ".docx" and not tables:
        report.notes.append("This document has no tables; figures and charts are not checked.")
    return report


def scan_file(path: str | Path, *, rules: Rules | None = None, limits: Limits | None = None) -> ScanReport:
    path = Path(path)
    limits = limits or Limits()
    # Read at most one byte past the limit, so a huge file is refused without reading it all.
    with path.open("rb") as handle:
        data = handle.read(limits.max_bytes + 1)
    return scan_bytes(path.name, data, rules=rules, limits=limits)
