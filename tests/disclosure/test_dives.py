"""A region LP whose optimum is fractional is dived to a whole witness before any MILP."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from datashare.disclosure import local
from datashare.disclosure.api import audit_table, suppress_table

from .conftest import statewide_records


@pytest.mark.parametrize("protection", ["threshold", "exact"])
def test_fractional_region_optima_become_whole_witnesses_without_a_milp(
        protection: str, monkeypatch: pytest.MonkeyPatch) -> None:
    dives: list[bool] = []
    dive = local._Region._dive

    def spy(self: Any, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        got = dive(self, x, lo, hi)
        dives.append(got is not None)
        if got is not None:
            assert np.array_equal(got, np.round(got))
            # A point of the model the dive started from: within its bounds, every
            # relation balanced.
            assert (got >= lo - 1e-9).all() and (got <= hi + 1e-9).all()
            lp = self.h.getLp()
            assert np.allclose(_times(lp, got), 0.0)
        # The bounds the dive fixed are given back: the model is as it was.
        lp = self.h.getLp()
        assert np.array_equal(np.asarray(lp.col_lower_), lo)
        assert np.array_equal(np.asarray(lp.col_upper_), hi)
        return got

    def no_milp(self: Any, gap: float | None = local.MILP_GAP) -> None:
        raise AssertionError("a region MILP ran although its dive found a whole point")

    monkeypatch.setattr(local._Region, "_dive", spy)
    monkeypatch.setattr(local._Region, "_milp", no_milp)
    # The table of the determinism tests: its regions' fractional optima used to be MILPs.
    frame, spec = statewide_records(2, 3, 600, 0)
    result = suppress_table(frame, spec, count="count", protection=protection)
    assert dives and all(dives)
    assert result.audit is not None and result.audit.ok
    assert audit_table(result.table, spec, count="count", protection=protection).ok


def _times(lp: Any, x: np.ndarray) -> np.ndarray:
    """The rows' values at ``x`` (the model's equalities are all zero on the right)."""
    a = lp.a_matrix_
    out = np.zeros(lp.num_row_)
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    for j in range(lp.num_col_):
        out[index[start[j]:start[j + 1]]] += value[start[j]:start[j + 1]] * x[j]
    return out
