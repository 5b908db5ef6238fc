"""A region LP whose optimum is fractional is dived to a whole witness before any MILP."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from datashare.disclosure import local
from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space, dense, locate_rows

from .conftest import statewide_records


@pytest.mark.parametrize("protection", ["threshold", "exact"])
def test_fractional_region_optima_become_whole_witnesses_without_a_milp(
        protection: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The table of the determinism tests: its regions' fractional optima used to be MILPs.
    frame, spec = statewide_records(2, 3, 600, 0)
    space = build_space(parse_spec(spec))
    truth = dense(space, locate_rows(space, frame), frame["count"].to_numpy()).astype(float)
    dives: list[bool] = []
    dive = local._Region._dive

    def spy(self: Any, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        got = dive(self, x, lo, hi)
        dives.append(got is not None)
        if got is not None:
            assert np.array_equal(got, np.round(got))
            assert (got >= lo - 1e-9).all() and (got <= hi + 1e-9).all()
            # The movement it stands for, with every cell outside the region at its true
            # value, balances every relation of the table: a witness point.
            n = len(self.cells)
            point = truth.copy()
            point[self.cells] = self.v + got[:n] - got[n:]
            assert not space.relation_sums(point).any()
        # The bounds the dive fixed are given back: the model is as it was.
        lp = self.h.getLp()
        assert np.array_equal(np.asarray(lp.col_lower_), lo)
        assert np.array_equal(np.asarray(lp.col_upper_), hi)
        return got

    def no_milp(self: Any, gap: float | None = local.MILP_GAP) -> None:
        raise AssertionError("a region MILP ran although its dive found a whole point")

    # The suppressor's regions hold the cells outside at the truth (audit-table's at its
    # start point), so the dives are watched while it runs.
    with monkeypatch.context() as m:
        m.setattr(local._Region, "_dive", spy)
        m.setattr(local._Region, "_milp", no_milp)
        result = suppress_table(frame, spec, count="count", protection=protection)
    assert dives and all(dives)
    assert result.audit is not None and result.audit.ok
    assert audit_table(result.table, spec, count="count", protection=protection).ok
