"""Protection by witnesses: cube witnesses, pruning to their cells, and their sparse check.

The engine's own final audit trusts re-verified witnesses; these tests check the pruned
patterns with the LPs alone (exact intervals, no shortcut) and the publisher-side audit, so a
witness that proved nothing could not slip through.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.audit import EXACT, THRESHOLD, audit
from datashare.disclosure.engine import count_primaries, protect, rule_for
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space, dense, locate_rows
from datashare.disclosure.witness import Witnesses, moves, verify

from .conftest import random_tables

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _space_and_values(frame, spec):  # type: ignore[no-untyped-def]
    space = build_space(parse_spec(spec))
    flat = locate_rows(space, frame)
    values = dense(space, flat, frame["count"].to_numpy())
    present = np.zeros(space.size, dtype=bool)
    present[flat] = True
    return space, values, present


@SETTINGS
@given(random_tables())
def test_a_pruned_cube_pattern_passes_the_lp_audit_without_shortcuts(case) -> None:
    space, values, present = _space_and_values(*case)
    primary = count_primaries(values, present, 10, False)
    rule = rule_for(primary, "threshold")
    prot = protect(space, values, primary, rule, 10, blocked=~present, method="cubes")
    hidden = prot.cover.suppressed
    assert prot.audit is not None and prot.audit.ok
    assert not (hidden & ~present).any()  # known zeros are never hidden
    # Exact intervals: one max and one min LP per hidden cell, no certificates, no witnesses.
    exact = audit(space, values, hidden, rule, 10, intervals=True)
    for cell in np.flatnonzero(primary):
        assert exact.intervals[int(cell)][1] >= 10 - 1e-6


@SETTINGS
@given(random_tables())
def test_cube_tables_pass_the_publisher_side_audit(case) -> None:
    frame, spec = case
    result = suppress_table(frame, spec, count="count", method="cubes")
    assert result.audit is not None and result.audit.ok
    small = (frame["count"] > 0) & (frame["count"] < 10)
    assert (result.table.loc[small, "suppression"] == "primary").all()
    assert audit_table(result.table, spec, count="count", cubes=False).ok


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables())
def test_cube_exact_protection_and_rates_pass_their_audits(case) -> None:
    frame, spec = case
    out = suppress_table(frame, spec, count="count", protection="exact", method="cubes").table
    assert audit_table(out, spec, count="count", protection="exact", cubes=False).ok
    rates = frame.rename(columns={"count": "tested"})
    rates["met"] = rates["tested"]  # 100% everywhere: top-coded wherever N >= 10
    result = suppress_table(rates, spec, numerator="met", denominator="tested", seed=1,
                            method="cubes")
    assert result.audit is not None and result.audit.ok
    assert audit_table(result.table, spec, numerator="met", denominator="tested",
                       cubes=False).ok


@SETTINGS
@given(random_tables())
def test_publisher_side_cube_certificates_never_pass_a_pattern_the_lps_fail(case) -> None:
    frame, spec = case
    small = (frame["count"] > 0) & (frame["count"] < 10)
    # A weak pattern (primaries only, plus every fifth row) that often fails.
    out = frame.copy()
    hide = small | (np.arange(len(frame)) % 5 == 0)
    out["suppression"] = np.where(small, "primary", np.where(hide, "complementary", ""))
    out["count"] = out["count"].astype("Int64").mask(hide)
    lps = audit_table(out, spec, count="count", cubes=False)
    both = audit_table(out, spec, count="count", cubes=True)
    assert {(f["organization"], f["student_group"], f["grade"]) for f in both.failures()} == \
        {(f["organization"], f["student_group"], f["grade"]) for f in lps.failures()}


def _pair():  # type: ignore[no-untyped-def]
    # T = A + B with T = 12 published, A = 3 small, B = 9.
    space = build_space(parse_spec({"organization": {"T": {"kids": ["A", "B"]}}}))
    values = np.array([12, 3, 9])
    rule = np.array([0, THRESHOLD, 0], dtype=np.int8)
    return space, values, rule


def _one(cells: list[int], dx: list[float], claim: int) -> Witnesses:
    w = Witnesses()
    w.add(np.zeros(len(cells), dtype=np.int64), np.array(cells), np.array(dx),
          np.array([claim]), np.array([0]), 1, Witnesses.CUBE)
    return w


def test_a_balanced_witness_proves_its_cell() -> None:
    space, values, rule = _pair()
    lo, hi = np.zeros(3), np.full(3, np.inf)
    both = np.array([False, True, True])
    proven, valid = verify(space, values, both, rule, 10, _one([1, 2], [7.0, -7.0], 1), lo, hi)
    assert proven[1] and valid.all()


def test_sparse_verification_rejects_bad_witnesses() -> None:
    space, values, rule = _pair()
    lo, hi = np.zeros(3), np.full(3, np.inf)
    both = np.array([False, True, True])
    unbalanced = _one([1, 2], [7.0, -6.0], 1)  # T would change: the relation does not add up
    assert not verify(space, values, both, rule, 10, unbalanced, lo, hi)[0].any()
    short = _one([1, 2], [6.0, -6.0], 1)  # A reaches 9 only: below the threshold
    assert not verify(space, values, both, rule, 10, short, lo, hi)[0].any()
    negative = _one([1, 2], [10.0, -10.0], 1)  # B would be -1
    assert not verify(space, values, both, rule, 10, negative, lo, hi)[0].any()
    only_a = np.array([False, True, False])  # B is published, so it cannot move
    assert not verify(space, values, only_a, rule, 10, _one([1, 2], [7.0, -7.0], 1),
                      lo, hi)[0].any()


def test_an_exact_cell_may_be_proven_by_a_downward_move() -> None:
    space, values, _ = _pair()
    rule = np.array([0, EXACT, 0], dtype=np.int8)
    lo, hi = np.zeros(3), np.full(3, np.inf)
    both = np.array([False, True, True])
    proven, _ = verify(space, values, both, rule, 10, _one([1, 2], [-1.0, 1.0], 1), lo, hi)
    assert proven[1]
    still, _ = verify(space, values, both, rule, 10, _one([1, 2], [0.0, 0.0], 1), lo, hi)
    assert not still[1]


def test_one_bad_witness_does_not_spoil_the_others() -> None:
    space, values, rule = _pair()
    lo, hi = np.zeros(3), np.full(3, np.inf)
    both = np.array([False, True, True])
    w = _one([1, 2], [7.0, -6.0], 1)
    w.add(np.zeros(2, dtype=np.int64), np.array([1, 2]), np.array([7.0, -7.0]),
          np.array([1]), np.array([0]), 1, Witnesses.CUBE)
    proven, valid = verify(space, values, both, rule, 10, w, lo, hi)
    assert proven[1] and valid.tolist() == [False, True]


@SETTINGS
@given(random_tables(), st.data())
def test_every_witness_is_judged_as_a_plain_point_check_judges_it(case, data) -> None:  # type: ignore[no-untyped-def]
    # ``moves`` checks every witness at once with sparse sums; one witness at a time, as a
    # dense point checked against every relation, must give the same movements and verdicts,
    # with cells listed twice, movements that cancel, published cells and bounds left.
    frame, spec = case
    space, values, _ = _space_and_values(frame, spec)
    hidden = np.array(data.draw(st.lists(st.booleans(), min_size=space.size,
                                         max_size=space.size)))
    lo = values - data.draw(st.integers(0, 3))
    hi = values + data.draw(st.integers(0, 3))
    n = data.draw(st.integers(1, 6))
    rows = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, space.size - 1),
                                        st.sampled_from([-2.0, -1.0, 1.0, 2.0, 0.5])),
                              max_size=30))
    # And one witness whose two movements of a cell cancel: it moves nothing, and is valid.
    c = data.draw(st.integers(0, space.size - 1))
    rows = [*rows, (n, c, 1.0), (n, c, -1.0)]
    n += 1
    wid, cell, dx = (np.array(col) for col in zip(*rows, strict=True))
    w = Witnesses()
    w.add(wid.astype(np.int64), cell.astype(np.int64), dx.astype(np.float64),
          np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), n, Witnesses.LP)
    m = moves(space, values, hidden, w, lo, hi)
    for i in range(n):
        point = np.zeros(space.size)
        np.add.at(point, w.cell[w.wid == i], w.dx[w.wid == i])
        listed = np.unique(w.cell[w.wid == i])
        assert m.cell[m.wid == i].tolist() == listed.tolist()
        assert m.dx[m.wid == i].tolist() == point[listed].tolist()
        moved = point != 0
        ok = (not (moved & ~hidden).any()
              and (point == np.round(point)).all()
              and ((values + point >= lo) & (values + point <= hi))[moved].all()
              and not space.relation_sums(point).any())
        assert bool(m.valid[i]) == ok
    assert m.valid[n - 1]
    assert (np.diff(m.key) > 0).all()
