"""A soft round's whole point that hides no new cell is its witness, with no second solve.

Why it matters: a soft round rewards every target of a region towards its goal; where it
carries only some of them, the suppressor solved again for the cheapest movement carrying
just those, so that the witness hides as few new cells as it can. When the soft point moves
only cells already hidden, that second solve can hide no fewer, and in chronic absence's
regions of 5,000+ cells it cost about 300 ms each. A point kept without it must still be a
witness (a whole point of the table's model, as ``witness.moves`` checks the suppressor's
witnesses, with each target it claims at its goal), and a point that does hide a new cell must still get the second solve:
keeping it would hide cells the cheapest point leaves published.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from datashare.disclosure import local
from datashare.disclosure.api import suppress_table
from datashare.disclosure.witness import SUPPORT_TOL, Witnesses, moves

from .conftest import statewide_records


@pytest.fixture(scope="module")
def rates() -> tuple[pd.DataFrame, dict[str, Any]]:
    return statewide_records(4, 6, 2400, 11, met=0.3)


def _check_point(region: Any, hidden_before: np.ndarray,
                 got: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    cells, at, carried = got
    pos = region.pos(cells)
    assert np.all(hidden_before[pos]), "a point kept without the second solve hid a new cell"
    # A whole point of the whole table's model (``witness.moves``, the suppressor's own
    # check): whole movements of hidden cells, within their bounds, every relation exact.
    space, values, hidden, lower, upper = region.model
    seen = hidden.copy()
    seen[region.cells] = hidden_before
    w = Witnesses()
    w.add(np.zeros(len(cells), dtype=np.int64), cells, at - values[cells], carried,
          np.zeros(len(carried), dtype=np.int64), 1, Witnesses.LP)
    assert moves(space, values, seen, w, lower, upper).valid[0], "a kept point is no witness"
    full = np.zeros(len(region.cells))
    full[pos] = at - region.v[pos]
    t = region.pos(carried)
    reach = np.where(region.up[t], full[t], -full[t])
    assert np.all(reach >= region.goal[t] - SUPPORT_TOL), "a claimed target is short of its goal"


def test_a_soft_point_hiding_no_new_cell_is_kept_and_is_a_witness(
        rates: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    carry, solve, init = local._Region.carry, local._Region._solve, local._Region.__init__
    solves = [0]
    kept, resolved = [0], [0]

    def remembered(self: Any, space: Any, values: np.ndarray, hidden: np.ndarray,
                   region: np.ndarray, lower: np.ndarray, upper: np.ndarray, *args: Any,
                   **kwargs: Any) -> None:
        init(self, space, values, hidden, region, lower, upper, *args, **kwargs)
        self.model = (space, values, hidden, lower, upper)

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        solves[0] += 1
        return solve(self, *args, **kwargs)

    def watched(self: Any, targets: np.ndarray, soft: bool, **kwargs: Any) -> Any:
        before, hidden = solves[0], self.hid.copy()
        got = carry(self, targets, soft, **kwargs)
        if not soft or got is None or len(got[2]) == len(targets):
            return got
        if solves[0] - before == 1:  # the soft solve alone
            kept[0] += 1
            _check_point(self, hidden, got)
        else:
            resolved[0] += 1
        return got

    monkeypatch.setattr(local, "THREADS", 1)
    monkeypatch.setattr(local._Region, "__init__", remembered)
    monkeypatch.setattr(local._Region, "_solve", counted)
    monkeypatch.setattr(local._Region, "carry", watched)
    frame, spec = rates
    result = suppress_table(frame, spec, numerator="met", denominator="tested")

    assert result.audit is not None and result.audit.ok
    # Both cases happen on this table: points kept, and points that hid a new cell solved
    # again for the cheapest.
    assert kept[0] > 0 and resolved[0] > 0, (kept[0], resolved[0])
