"""Numerator witnesses that cross to another district (``blocks.py``).

A school with no dropouts has no numerator that can go down, so none of its zero numerators
can move up inside its own district: the movement must reach a school that has dropouts.
The local LPs' own and whole regions hold every other district at its true value; the block
regions (and, since, the local LPs' cross tier) carry these targets, which before them went
to the LP loop over the whole table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from datashare.disclosure import blocks, joint
from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space, dense, locate_rows
from datashare.disclosure.witness import EXACT, Witnesses, verify

from . import milp_audit
from .test_rate_properties import rate_frame

SPEC = {
    "organization": {"ST": {"districts": ["D1", "D2"]}, "D1": {"schools": ["A"]},
                     "D2": {"schools": ["B"]}},
    "student_group": {"All Students": {"gender": ["F", "M"]}},
    "grade": {"All Grades": {"grades": ["9", "10"]}},
}
# School A: no dropouts at all; B: five, all boys in grade 10.
SIZES = {("A", "F", "9"): (3, 0), ("A", "M", "9"): (12, 0), ("A", "F", "10"): (11, 0),
         ("A", "M", "10"): (12, 0), ("B", "F", "9"): (12, 0), ("B", "M", "9"): (12, 0),
         ("B", "F", "10"): (12, 0), ("B", "M", "10"): (15, 5)}


def dropout_frame() -> pd.DataFrame:
    records = [{"school": s, "grade": k, "groups": [g], "hit": i < hits}
               for (s, g, k), (n, hits) in SIZES.items() for i in range(n)]
    return rate_frame(records, SPEC)


def test_a_zero_numerator_in_a_school_without_dropouts_moves_through_another_district() -> None:
    frame = dropout_frame()
    space = build_space(parse_spec(SPEC))
    flat = locate_rows(space, frame)
    met = dense(space, flat, frame["met"].to_numpy())
    tested = dense(space, flat, frame["tested"].to_numpy())
    # Every numerator hidden (the pass's count space: met within [0, tested]), the grand
    # total held; the target: girls in grade 9 at A, 0 of 3.
    cell = next(c for c in range(space.size) if space.key(c) == {
        "organization": "A", "student_group": "F", "grade": "9"})
    hidden = tested > 0
    hidden[0] = False  # ST, All Students, All Grades: the grand total, published and held
    lo = np.zeros(space.size)
    hi = tested.astype(np.float64)
    blocked = ~hidden
    need = np.zeros(space.size)
    need[cell] = 1.0
    targets = np.array([cell])
    # (The local LPs' cross tier, since 2026-12-03 evening, finds such partners too: the
    # largest other district; the blocks take any district of the target's block.)
    points, left = blocks.block_repair(space, met, hidden.copy(), targets, need, lo, hi,
                                       blocked)
    assert left.tolist() == []
    w = Witnesses()
    w.add_points([(c, x) for c, x, _ in points], met,
                 np.where(np.arange(space.size) == cell, EXACT, 0).astype(np.int8), 10)
    proven, valid = verify(space, met, hidden, np.where(np.arange(space.size) == cell,
                                                         EXACT, 0).astype(np.int8),
                           10, w, lo, hi)
    assert valid.all() and proven[cell]
    moved = {space.key(int(c))["organization"] for c, d in zip(w.cell, w.dx, strict=True)
             if d != 0}
    assert "B" in moved  # the dropouts it takes are B's


def test_a_dropout_table_whose_witnesses_cross_districts_passes_every_audit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    carried: list[int] = []

    def spy(*args: Any, **kwargs: Any) -> tuple[list[tuple[np.ndarray, np.ndarray, int]],
                                                np.ndarray]:
        points, left = blocks.block_repair(*args, **kwargs)
        carried.extend(t for _, _, t in points)
        return points, left

    monkeypatch.setattr(joint, "block_repair", spy)
    frame = dropout_frame()
    result = suppress_table(frame, SPEC, numerator="met", denominator="tested", seed=1)
    assert carried, "no numerator target needed a block region"
    assert result.audit is not None
    assert result.audit.ok, result.audit.failures()[:5]
    out = result.table
    assert audit_table(out, SPEC, numerator="met", denominator="tested").ok
    verdict = milp_audit.check(out, SPEC, numerator="met", denominator="tested")
    assert verdict.exact == [] and verdict.below == []
