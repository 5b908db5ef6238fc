"""A region's single-target solve is skipped only when it has no point, and skipping one
changes nothing.

Why it matters: most of the suppressor's single-target region solves that find nothing are
infeasible LPs (scale-1 discipline: about 180,000 of them), and bound propagation through
the target's relations (``local._Slack``) shows it for most without running the solver. A
skipped solve that did have a point would leave a target unprotected by that region and
change the pattern; and since the same table must give the same pattern on every run
(test_determinism), a solve's answer must not depend on which solves ran before it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datashare.disclosure import local
from datashare.disclosure.api import suppress_table

from .conftest import statewide_records


@pytest.fixture(scope="module")
def rates() -> tuple[pd.DataFrame, dict[str, Any]]:
    # A low rate, as in discipline: most numerators are 0 or small, so many targets have no
    # room in a region's relations.
    return statewide_records(3, 4, 900, 7, met=0.08)


def _suppress(table: tuple[pd.DataFrame, dict[str, Any]]) -> pd.DataFrame:
    frame, spec = table
    return suppress_table(frame, spec, numerator="met", denominator="tested").table


def _solve_anyway(region: Any, t: int) -> np.ndarray | None:
    """The single-target solve ``_Region.carry`` would have run for position ``t``."""
    n = len(region.cells)
    col = np.array([t if region.up[t] else t + n])
    other = np.array([t + n if region.up[t] else t])
    return region._solve(col, other, region.goal[t:t + 1], region.hi[col], np.zeros(1),
                         integer=True)


@pytest.fixture(autouse=True)
def checked_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every single solve checked: this table's regions are small, where the engine checks
    # only while most single solves have no point.
    monkeypatch.setattr(local, "CHECK_CELLS", 0)


@pytest.mark.parametrize("passes", [1, local.CHECK_PASSES, 50])
def test_every_solve_the_relation_check_skips_has_no_point(
        rates: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        passes: int) -> None:
    monkeypatch.setattr(local, "CHECK_PASSES", passes)
    check = local._Region._held_by_its_relations
    skipped, with_point, kept = [0], [0], [0]

    def checked(region: Any, t: int) -> bool:
        held = check(region, t)
        if held:
            skipped[0] += 1
            with_point[0] += _solve_anyway(region, t) is not None
        else:
            kept[0] += 1
        return held

    monkeypatch.setattr(local._Region, "_held_by_its_relations", checked)
    _suppress(rates)
    assert skipped[0] > 50 and kept[0] > 50  # both verdicts were exercised
    assert with_point[0] == 0


def test_the_pattern_does_not_depend_on_which_solves_ran(
        rates: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    with_skips = _suppress(rates)
    check = local._Region._held_by_its_relations
    monkeypatch.setattr(local._Region, "_held_by_its_relations", lambda region, t: False)
    without = _suppress(rates)

    def twice(region: Any, t: int) -> bool:
        # An infeasible solve more before each one the check would skip.
        if check(region, t):
            assert _solve_anyway(region, t) is None
        return False

    monkeypatch.setattr(local._Region, "_held_by_its_relations", twice)
    extra = _suppress(rates)
    pd.testing.assert_frame_equal(with_skips, without)
    pd.testing.assert_frame_equal(with_skips, extra)


def test_a_relation_with_another_coefficient_is_never_said_to_hold_a_cell() -> None:
    # x0 - x1 = 0 with x1 in [-1, 1]: x0 cannot reach 3, and propagation says so.
    row, col = np.array([0, 0]), np.array([0, 1])
    hi = np.array([5.0, 1.0, 5.0, 1.0])  # room up, then room down, per cell
    assert _alone(local._Slack(row, col, np.array([1.0, -1.0]), 1, hi), 0, 3.0, True)
    # 2 x0 - x1 = 0 allows x0 up to 0.5 only, but the parts assume 1 and -1: not trusted.
    assert not _alone(local._Slack(row, col, np.array([2.0, -1.0]), 1, hi), 0, 3.0, True)


def _alone(slack: Any, t: int, goal: float, up: bool) -> bool:
    """The check for cell ``t`` made on its own."""
    return bool(slack.holds_many(np.array([t]), np.array([goal]), np.array([up]))[0])


def test_the_checks_made_ahead_give_each_solve_its_own_answer(
        rates: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    # A region's single solves still to come are checked together (``_Slack.holds_many``)
    # when the first of them asks: each must get what its own check gives.
    check = local._Region._held_by_its_relations
    many = local._Slack.holds_many
    asked, largest = [0], [0]

    def counted(slack: Any, ts: np.ndarray, goals: np.ndarray, ups: np.ndarray) -> np.ndarray:
        largest[0] = max(largest[0], len(ts))
        return many(slack, ts, goals, ups)

    def checked(region: Any, t: int) -> bool:
        held = check(region, t)
        asked[0] += 1
        assert held == _alone(region._slack, t, float(region.goal[t]), bool(region.up[t]))
        return held

    monkeypatch.setattr(local._Slack, "holds_many", counted)
    monkeypatch.setattr(local._Region, "_held_by_its_relations", checked)
    _suppress(rates)
    assert asked[0] > 50 and largest[0] > 10  # checked ahead, many at a time


def _propagated(row: np.ndarray, col: np.ndarray, coef: np.ndarray, hi: np.ndarray, t: int,
                goal: float, up: bool, passes: int) -> bool:
    """The check ``_Slack.holds_many`` documents, written out cell by cell and relation by
    relation: ``t`` held between its goal and its bound; each pass, the relations of the
    cells the last pass changed must be able to sum to 0, and every cell in them is held to
    what the rest of each relation leaves it (a change counts from a unit)."""
    n = len(hi) // 2
    low, high = [-float(x) for x in hi[n:]], [float(x) for x in hi[:n]]
    members: dict[int, list[tuple[int, float]]] = defaultdict(list)
    relations: dict[int, set[int]] = defaultdict(set)
    for r, c, a in zip(row.tolist(), col.tolist(), coef.tolist(), strict=True):
        members[r].append((c, a))
        relations[c].add(r)

    def part(c: int, a: float) -> tuple[float, float]:  # the least and most of a * m_c
        return (low[c], high[c]) if a > 0 else (-high[c], -low[c])

    if up:
        low[t] = goal
    else:
        high[t] = -goal
    changed = {t}
    for _ in range(passes):
        rows = sorted({r for c in changed for r in relations[c]})
        for r in rows:
            if (sum(part(c, a)[0] for c, a in members[r]) > 0.5
                    or sum(part(c, a)[1] for c, a in members[r]) < -0.5):
                return True
        tight: dict[int, tuple[float, float]] = {}
        for r in rows:
            for i, (c, a) in enumerate(members[r]):
                others = [part(d, b) for j, (d, b) in enumerate(members[r]) if j != i]
                least, most = sum(o[0] for o in others), sum(o[1] for o in others)
                lo_c, hi_c = (-most, -least) if a > 0 else (least, most)
                was = tight.get(c, (low[c], high[c]))
                tight[c] = (max(was[0], lo_c), min(was[1], hi_c))
        moved = {c: (lo_c if lo_c > low[c] + 0.5 else low[c],
                     hi_c if hi_c < high[c] - 0.5 else high[c])
                 for c, (lo_c, hi_c) in tight.items()
                 if lo_c > low[c] + 0.5 or hi_c < high[c] - 0.5}
        if not moved:
            return False
        if any(lo_c > hi_c + 0.5 for lo_c, hi_c in moved.values()):
            return True
        for c, (lo_c, hi_c) in moved.items():
            low[c], high[c] = lo_c, hi_c
        changed = set(moved)
    return False


@st.composite
def unit_models(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """A region's relations (coefficients 1 and -1), rooms (some unbounded) and targets."""
    n, m = draw(st.integers(2, 30)), draw(st.integers(1, 20))
    pairs = draw(st.sets(st.tuples(st.integers(0, m - 1), st.integers(0, n - 1)),
                         min_size=1, max_size=4 * n))
    row, col = (np.array(x) for x in zip(*sorted(pairs), strict=True))
    coef = np.array(draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=len(row),
                                  max_size=len(row))))
    hi = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0, np.inf]),
                                min_size=2 * n, max_size=2 * n)))
    ts = np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)))
    goals = np.array(draw(st.lists(st.integers(1, 6), min_size=len(ts), max_size=len(ts))),
                     dtype=np.float64)
    ups = np.array(draw(st.lists(st.booleans(), min_size=len(ts), max_size=len(ts))))
    return row, col, coef, np.array([m]), hi, ts, goals, ups


@settings(max_examples=200, deadline=None)
@given(unit_models(), st.integers(1, 400), st.integers(1, 5))
def test_checks_made_together_are_the_propagation_written_out(
        model: tuple[np.ndarray, ...], batch: int, passes: int) -> None:
    row, col, coef, m, hi, ts, goals, ups = model
    slack = local._Slack(row, col, coef, int(m[0]), hi)
    expected = [_propagated(row, col, coef, hi, int(t), float(g), bool(u), passes)
                for t, g, u in zip(ts, goals, ups, strict=True)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local, "CHECK_PASSES", passes)  # a verdict in any pass, or none
        patch.setattr(local, "CHECK_BATCH", batch)  # chunks from one target to all
        assert slack.holds_many(ts, goals, ups).tolist() == expected
        assert [_alone(slack, int(t), float(g), bool(u))
                for t, g, u in zip(ts, goals, ups, strict=True)] == expected
