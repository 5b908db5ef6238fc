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


@pytest.mark.parametrize("audit_steps", [local.AUDIT_DIVE_STEPS, 0])
def test_the_file_audit_dives_on_past_the_suppressors_step_limit(
        audit_steps: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two of this table's soft rounds in the file audit end at a fractional point
    # (tests/disclosure/test_audit_regions.py). With the suppressor's limit at 0 steps, the
    # audit's own limit must still turn them whole, with no MILP (a MILP over a big region
    # took 40 s at scale-1 enrollment); at 0 for the audit too, the MILPs come back.
    frame, spec = statewide_records(5, 8, 3000, 4)
    table = suppress_table(frame, spec, count="count", method="cubes",
                           protection="threshold").table
    milps: list[int] = []
    milp = local._Region._milp

    def counted(self: Any, gap: float | None = local.MILP_GAP) -> np.ndarray | None:
        milps.append(len(self.cells))
        return milp(self, gap)

    with monkeypatch.context() as m:
        m.setattr(local, "DIVE_STEPS", 0)
        m.setattr(local, "AUDIT_DIVE_STEPS", audit_steps)
        m.setattr(local, "THREADS", 1)
        m.setattr(local._Region, "_milp", counted)
        checked = audit_table(table, spec, count="count", protection="threshold")
    assert checked.ok
    assert (not milps) if audit_steps else milps
