"""What the scanner reports: one finding per cell (or table) with where it is and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    # SACRO's distinction: a block must be fixed before release; a warn asks a person to look.
    BLOCK = "block"
    WARN = "warn"


def column_letter(index: int) -> str:
    """1 → A, 27 → AA: spreadsheet column names, also used for CSV and document tables."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class Finding:
    severity: Severity
    rule: str  # a stable code: "small-count", "small-denominator", "back-calculation", …
    message: str  # plain words for the researcher and the steward
    file: str
    part: str  # "sheet 'Grade 3'", "table 2", "page 4" or "" for a CSV
    row: int | None = None  # 1-based in the source (spreadsheet row, table row, page line)
    column: int | None = None  # 1-based
    column_label: str = ""  # the column's header text, when there is one
    value: str = ""  # the cell as written

    @property
    def cell(self) -> str:
        if self.row is None or self.column is None:
            return ""
        return f"{column_letter(self.column)}{self.row}"

    @property
    def where(self) -> str:
        bits = [self.file]
        if self.part:
            bits.append(self.part)
        label = f" ({self.column_label})" if self.column_label else ""
        if self.cell and self.part.startswith("page"):
            # A PDF has lines, not cells: say where on the page a reader finds the number.
            bits.append(f"line {self.row}, column {self.column}{label}")
        elif self.cell:
            bits.append(f"cell {self.cell}{label}")
        elif self.row is not None:
            bits.append(f"row {self.row}")
        return ", ".join(bits)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["cell"] = self.cell
        data["where"] = self.where
        return data
