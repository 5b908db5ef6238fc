"""The agency's output-checking rules for one table (SACRO/ACRO practice, threshold 10).

How a table is read: the rows before the first row holding a number are its header; the first
column (and columns headed like "Year", "Grade", "Code") are labels, never counts. Each other
column is a *count*, a *percentage/rate* or a *magnitude* (mean, sum, score, amount), told by
its header or, for a cell written "30%", by the cell itself. A row's *group size* is the number
in a column headed "N", "Total", "Students", "Enrolled", "Tested" or "Denominator", else the
largest count in the row.

The rules (``threshold`` = the policy's minimum N, 10 for OSPI):

* ``small-count`` (block): a count from 1 to threshold-1.
* ``small-denominator`` (block): a percentage, rate or magnitude over a group of 1 to
  threshold-1.
* ``back-calculation`` (block): a percentage whose numerator, given the group size and the
  rounding shown, can only be 1 to threshold-1 (30% of 10 → 3).
* ``complement`` (warn): the rest of the group back-calculates to 1 to threshold-1 (95% of 40).
* ``zero`` / ``all-or-none`` (warn; a zero blocks when the policy calls zeros disclosive): a
  zero count, 0 % or 100 % *near small groups*: the group is under twice the threshold, or its
  row or column holds a small cell.
* ``dominance`` (warn): in a magnitude column of sums, the largest group holds at least half of
  the column's total, or the two largest hold ``nk_k`` (90 %) of it (the N-K rule with N=2), or
  the rest after the two largest is under ``p`` (10 %) of the largest (the p% rule): one or two
  contributors can be estimated by the others.
* ``no-denominator`` (warn, once per column): percentages with no group size in their row cannot
  be checked, so a person must.

Suppressed cells ("N<10", "<10", "*", the policy's labels) are what we want and are skipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from datashare.outputcheck.findings import Finding, Severity

if TYPE_CHECKING:  # the disclosure engine's policy is read, never changed
    from datashare.disclosure.policy import Policy
    from datashare.outputcheck.readers import Cell, Table


@dataclass(frozen=True)
class Rules:
    threshold: int = 10
    zeros_disclosive: bool = False
    suppressed_labels: tuple[str, ...] = ("n<10", "no students")
    nk_k: float = 0.90
    p_percent: float = 0.10
    near_factor: int = 2

    @classmethod
    def from_policy(cls, policy: Policy) -> Rules:
        """The thresholds and labels of a ``datashare.disclosure`` policy (OSPI: 10, "N<10")."""
        labels = {policy.small_label, policy.zero_label, policy.complementary_default}
        labels.update(policy.complementary_labels.values())
        return cls(
            threshold=policy.min_n,
            zeros_disclosive=policy.zeros_disclosive,
            suppressed_labels=tuple(sorted(label.strip().lower() for label in labels)),
        )


class Kind(Enum):
    LABEL = "label"
    COUNT = "count"
    PERCENT = "percent"
    MAGNITUDE = "magnitude"


_PERCENT = re.compile(r"%|percent|\bpct\b|\brate\b|proportion|\bshare\b|per\s*[\d,]+")
_MAGNITUDE = re.compile(
    r"mean|average|\bavg\b|median|\bsum\b|amount|\$|dollar|salary|income|expend|cost|"
    r"score|\bgpa\b|\bsd\b|std|deviation|\bmin(imum)?\b|\bmax(imum)?\b|hours|days"
)
_SUM = re.compile(r"\bsum\b|total|amount|\$|dollar|salary|income|expend|cost|hours|days")
_LABEL = re.compile(
    r"^(school |academic |fiscal )?(year|grade|grade level|code|id|age|rank|cohort|"
    r"district code|school code|county code|cds code)s?$"
)
_DENOMINATOR = re.compile(
    r"^n$|\(n\)|\bn\b|total|denominator|students|enrolled|enrollment|tested|headcount|population"
)
_TOTAL_ROW = re.compile(r"^(grand )?total\b|^all\b|^overall\b")
_PER = re.compile(r"per\s*([\d,]+)")
_SUPPRESSED = re.compile(r"^(n\s*)?<\s*\d+%?$|^[*\u2020\u2021\u2014\u2013-]+$|^(n/?a|suppressed|redacted|s)$", re.I)
_NUMBER = re.compile(r"^\(?([-+]?[$£€]?\s*\d[\d,]*(?:\.\d+)?|[-+]?\.\d+)\)?\s*(%?)$")
# "3 (30%)": a count with its percentage in one cell, common in Word reports.
_COUNT_AND_PERCENT = re.compile(r"^(\d[\d,]*)\s*\(\s*(\d+(?:\.\d+)?)\s*%\s*\)$")


@dataclass(frozen=True)
class Value:
    number: float
    percent: bool  # written with a % sign
    decimals: int  # digits after the point as written (the rounding a reader can exploit)
    text: str


def parse(cell: Cell) -> Value | None:
    """A cell's number, or None for text, blanks and suppression labels."""
    if cell is None or isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        if not math.isfinite(cell):
            return None
        text = repr(cell) if isinstance(cell, float) else str(cell)
        decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
        if isinstance(cell, float) and cell.is_integer():
            decimals = 0
        return Value(float(cell), False, decimals, text)
    text = str(cell).strip()
    if not text:
        return None
    both = _COUNT_AND_PERCENT.match(text)
    if both:
        return Value(float(both.group(1).replace(",", "")), False, 0, text)
    match = _NUMBER.match(text)
    if not match:
        return None
    digits = match.group(1).replace(",", "").replace("$", "").replace("£", "").replace("€", "")
    digits = digits.replace(" ", "")
    try:
        number = float(digits)
    except ValueError:
        return None
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return Value(number, bool(match.group(2)), decimals, text)


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell).strip()


@dataclass
class _Column:
    index: int  # 0-based
    header: str
    kind: Kind
    scale: float = 100.0  # percent: 100; "rate per 1,000": 1000; proportions 0-1: 1


def _is_suppressed(cell: Cell, rules: Rules) -> bool:
    text = _text(cell).lower()
    return bool(text) and (text in rules.suppressed_labels or bool(_SUPPRESSED.match(text)))


def _classify(header: str, values: list[Value], first: bool) -> _Column:
    low = header.lower().strip()
    if _LABEL.match(low):
        return _Column(0, header, Kind.LABEL)
    if _PERCENT.search(low) or (values and all(v.percent for v in values)):
        column = _Column(0, header, Kind.PERCENT)
        per = _PER.search(low)
        if per:
            column.scale = float(per.group(1).replace(",", ""))
        elif values and not any(v.percent for v in values) and max(abs(v.number) for v in values) <= 1:
            column.scale = 1.0  # proportions written 0.3
        return column
    if _MAGNITUDE.search(low):
        return _Column(0, header, Kind.MAGNITUDE)
    if first and not _DENOMINATOR.search(low) and not re.search(r"count|number|#", low):
        return _Column(0, header, Kind.LABEL)
    if values and all(v.number.is_integer() and v.decimals == 0 for v in values if not v.percent):
        return _Column(0, header, Kind.COUNT)
    return _Column(0, header, Kind.MAGNITUDE)


def _candidates(value: Value, scale: float, denominator: float) -> range:
    """Whole numerators consistent with ``value`` as rounded, given the group size."""
    half = 0.5 * 10 ** (-value.decimals)
    lo = (value.number - half) / scale * denominator
    hi = (value.number + half) / scale * denominator
    eps = 1e-9
    return range(max(0, math.ceil(lo - eps)), min(int(denominator), math.floor(hi + eps)) + 1)


def check_table(table: Table, rules: Rules | None = None) -> list[Finding]:
    rules = rules or Rules()
    return list(_Checker(table, rules).run())


class _Checker:
    def __init__(self, table: Table, rules: Rules) -> None:
        self.table, self.rules = table, rules
        self.k = rules.threshold

    def finding(
        self, severity: Severity, rule: str, message: str, r: int, c: int | None, cell: Cell
    ) -> Finding:
        column = self.columns[c] if c is not None and c < len(self.columns) else None
        return Finding(
            severity=severity,
            rule=rule,
            message=message,
            file=self.table.file,
            part=self.table.part,
            row=self.table.row_numbers[r],
            column=None if c is None else c + 1,
            column_label=column.header if column else "",
            value=_text(cell),
        )

    def run(self) -> Iterable[Finding]:
        rows = self.table.rows
        width = max((len(r) for r in rows), default=0)
        if width == 0:
            return
        grid: list[list[Cell]] = [list(r) + [None] * (width - len(r)) for r in rows]
        # The header: rows before the first row with a number outside the first column.
        first_data = next(
            (i for i, row in enumerate(grid) if any(parse(c) for c in row[1:])), None
        )
        if first_data is None:
            return
        headers = []
        carried = [""] * first_data
        for c in range(width):
            # Merged header cells over a group of columns ("Reading" over "N", "% met") leave
            # blanks to the right: carry the upper rows' text forward (never from the labels).
            parts = []
            for i in range(first_data):
                text = _text(grid[i][c])
                if i < first_data - 1 and c > 0:
                    carried[i] = text or carried[i]
                    text = carried[i]
                if text and text not in parts:
                    parts.append(text)
            headers.append(" ".join(parts))
        data = [i for i in range(first_data, len(grid)) if any(_text(c) for c in grid[i])]
        self.columns = []
        for c in range(width):
            values = [v for i in data if (v := parse(grid[i][c])) is not None]
            column = _classify(headers[c], values, first=c == 0)
            column.index = c
            self.columns.append(column)
        self.grid, self.data = grid, data
        self.total_rows = {i for i in data if _TOTAL_ROW.match(_text(grid[i][0]).lower())}
        self._denominators: dict[tuple[int, int | None], float | None] = {}
        self.small: set[tuple[int, int]] = set()  # (row, column) of small counts and groups

        findings: list[Finding] = []
        findings += self.counts()
        findings += self.shares()
        findings += self.magnitudes()
        findings += self.zeros(findings)
        findings.sort(key=lambda f: (f.row or 0, f.column or 0, f.severity != Severity.BLOCK))
        yield from findings

    def value(self, r: int, c: int) -> Value | None:
        cell = self.grid[r][c]
        if _is_suppressed(cell, self.rules):
            return None
        return parse(cell)

    def kind(self, r: int, c: int, value: Value) -> Kind:
        kind = self.columns[c].kind
        if value.percent and kind is not Kind.LABEL:
            return Kind.PERCENT
        if kind is Kind.PERCENT and _COUNT_AND_PERCENT.match(_text(self.grid[r][c])):
            return Kind.COUNT
        return kind

    def denominator(self, r: int, c: int | None = None) -> float | None:
        """The group size for cell (r, c): the nearest "N"-like column to its left (a table
        may repeat N and % for several subjects), else any, else the row's largest count."""
        key = (r, c)
        if key in self._denominators:
            return self._denominators[key]
        named: list[tuple[int, float]] = []
        counts = []
        for column in self.columns:
            if column.kind is not Kind.COUNT:
                continue
            v = self.value(r, column.index)
            if v is None or v.percent:
                continue
            counts.append(v.number)
            if _DENOMINATOR.search(column.header.lower()):
                named.append((column.index, v.number))
        left = [n for i, n in named if c is None or i < c]
        result = left[-1] if left else named[0][1] if named else max(counts) if counts else None
        self._denominators[key] = result
        return result

    def counts(self) -> list[Finding]:
        out = []
        for r in self.data:
            for column in self.columns:
                c = column.index
                v = self.value(r, c)
                if v is None or self.kind(r, c, v) is not Kind.COUNT:
                    continue
                if 1 <= v.number < self.k:
                    self.small.add((r, c))
                    out.append(self.finding(
                        Severity.BLOCK, "small-count",
                        f"A count of {v.number:g} is under the agency's threshold of {self.k}: "
                        f"show it as \"N<{self.k}\" or combine groups.",
                        r, c, self.grid[r][c],
                    ))
            d = self.denominator(r)
            if d is not None and 1 <= d < self.k:
                self.small.update((r, column.index) for column in self.columns)
        return out

    def shares(self) -> list[Finding]:
        out = []
        unchecked: set[int] = set()
        for r in self.data:
            for column in self.columns:
                c = column.index
                v = self.value(r, c)
                if v is None or self.kind(r, c, v) is not Kind.PERCENT:
                    continue
                d = self.denominator(r, c)
                scale = column.scale if column.kind is Kind.PERCENT else 100.0
                shown = f"{v.text}" if v.percent else f"{v.text} ({column.header or 'rate'})"
                if d is None or d <= 0:
                    if c not in unchecked:
                        unchecked.add(c)
                        out.append(self.finding(
                            Severity.WARN, "no-denominator",
                            "These percentages have no group size (N) beside them, so they "
                            "cannot be checked for small numerators: add the N or check by hand.",
                            r, c, self.grid[r][c],
                        ))
                    continue
                if d < self.k:
                    out.append(self.finding(
                        Severity.BLOCK, "small-denominator",
                        f"{shown} is a share of a group of {d:g}, under the agency's threshold "
                        f"of {self.k}: suppress it with the group's count.",
                        r, c, self.grid[r][c],
                    ))
                    continue
                numerators = _candidates(v, scale, d)
                if not numerators:
                    continue
                lo, hi = numerators[0], numerators[-1]
                said = f"{lo}" if lo == hi else f"between {lo} and {hi}"
                if lo >= 1 and hi < self.k:
                    self.small.add((r, c))
                    out.append(self.finding(
                        Severity.BLOCK, "back-calculation",
                        f"{shown} of a group of {d:g} back-calculates to {said} "
                        f"(under {self.k}): suppress it or show a coarser range.",
                        r, c, self.grid[r][c],
                    ))
                    continue
                rest_lo, rest_hi = int(d) - hi, int(d) - lo
                if rest_lo >= 1 and rest_hi < self.k:
                    out.append(self.finding(
                        Severity.WARN, "complement",
                        f"{shown} of a group of {d:g} leaves "
                        f"{rest_lo if rest_lo == rest_hi else f'{rest_lo} to {rest_hi}'} "
                        f"outside it (under {self.k}): consider top-coding (e.g. \">95%\").",
                        r, c, self.grid[r][c],
                    ))
                elif (hi == 0 or lo == int(d)) and self.near_small(r, c, d):
                    out.append(self.finding(
                        Severity.WARN, "all-or-none",
                        f"{shown} of a group of {d:g} says something about every member of a "
                        "small group: check it is not disclosive.",
                        r, c, self.grid[r][c],
                    ))
        return out

    def magnitudes(self) -> list[Finding]:
        out = []
        for column in self.columns:
            if column.kind is not Kind.MAGNITUDE:
                continue
            c = column.index
            values: list[tuple[int, float]] = []
            for r in self.data:
                v = self.value(r, c)
                if v is None or v.percent:
                    continue
                d = self.denominator(r, c)
                if d is not None and 1 <= d < self.k:
                    out.append(self.finding(
                        Severity.BLOCK, "small-denominator",
                        f"{v.text} ({column.header or 'a magnitude'}) is computed over "
                        f"{d:g} people, under the agency's threshold of {self.k}.",
                        r, c, self.grid[r][c],
                    ))
                if r not in self.total_rows:
                    values.append((r, v.number))
            header = column.header.lower()
            # Dominance is about sums of contributions; a mean or a score has no "share".
            if _SUM.search(header) and not re.search(r"mean|average|avg|median|score|gpa", header):
                out += self.dominance(column, values)
        return out

    def dominance(self, column: _Column, values: list[tuple[int, float]]) -> list[Finding]:
        if len(values) < 3 or any(x < 0 for _, x in values):
            return []
        total = sum(x for _, x in values)
        if total <= 0:
            return []
        ranked = sorted(values, key=lambda rv: rv[1], reverse=True)
        (r1, x1), (_, x2) = ranked[0], ranked[1]
        rest = total - x1 - x2
        reasons = []
        if x1 >= 0.5 * total:
            reasons.append(f"the largest group holds {x1 / total:.0%} of the column's total")
        elif x1 + x2 >= self.rules.nk_k * total:
            reasons.append(f"the two largest groups hold {(x1 + x2) / total:.0%} of it")
        if rest < self.rules.p_percent * x1 and not reasons:
            reasons.append(
                f"the others after the two largest add up to under "
                f"{self.rules.p_percent:.0%} of the largest"
            )
        if not reasons:
            return []
        return [self.finding(
            Severity.WARN, "dominance",
            f"Dominance: {reasons[0]}; if a group has few contributors, its value can be "
            "estimated. Check the contributors behind it.",
            r1, column.index, self.grid[r1][column.index],
        )]

    def near_small(self, r: int, c: int, d: float | None) -> bool:
        if d is not None and d < self.rules.near_factor * self.k:
            return True
        return any(rr == r or cc == c for rr, cc in self.small)

    def zeros(self, so_far: list[Finding]) -> list[Finding]:
        out = []
        for r in self.data:
            for column in self.columns:
                c = column.index
                v = self.value(r, c)
                if v is None or v.number != 0 or self.kind(r, c, v) is not Kind.COUNT:
                    continue
                if self.rules.zeros_disclosive:
                    out.append(self.finding(
                        Severity.BLOCK, "zero",
                        "The policy treats zero counts as disclosive: suppress this zero.",
                        r, c, self.grid[r][c],
                    ))
                elif self.near_small(r, c, self.denominator(r, c)):
                    out.append(self.finding(
                        Severity.WARN, "zero",
                        "A zero next to small groups can reveal that every member of a group "
                        "shares (or lacks) something: check it is not disclosive.",
                        r, c, self.grid[r][c],
                    ))
        return out
