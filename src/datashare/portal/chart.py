"""A bar chart as server-rendered SVG geometry (no script, no inline style: the CSP forbids
both); the template draws the bars from these numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH, BAR, GAP, LABEL = 640, 22, 8, 250


@dataclass
class Bar:
    label: str
    text: str  # what is published: a number, a rate, "N<10"
    y: int
    width: float  # 0 when the value is suppressed


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL
    plot_width: int = WIDTH - LABEL - 90


def _value(row: dict[str, Any], rate: bool) -> float | None:
    if rate:
        num, den = row.get("numerator"), row.get("denominator")
        if num is None or den is None or den == 0:
            return None
        return 100.0 * float(num) / float(den)
    count = row.get("count")
    return None if count is None else float(count)


def bar_chart(title: str, rows: list[dict[str, Any]], *, label: str, rate: bool) -> Chart | None:
    if not rows:
        return None
    values = [_value(r, rate) for r in rows]
    top = 100.0 if rate else max([v for v in values if v is not None] or [1.0]) or 1.0
    chart = Chart(title, [], 0)
    for i, (row, value) in enumerate(zip(rows, values, strict=True)):
        width = 0.0 if value is None else round(chart.plot_width * value / top, 1)
        chart.bars.append(Bar(str(row.get(label, "")), str(row.get("display", "")),
                              i * (BAR + GAP), width))
    chart.height = len(rows) * (BAR + GAP)
    return chart
