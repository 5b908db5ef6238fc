"""The same table gives the same pattern (and the same audit verdict) on every run, whatever
the machine's load: no solve and no pass of the engine stops on a clock.

Why it matters: an agency re-publishes a year's table (a corrected release, the portal
rebuilding a version). Two different patterns of the same numbers can be combined by an
attacker to narrow small cells that each pattern protects alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import highspy
import pandas as pd
import pytest

from datashare.disclosure import local, lp
from datashare.disclosure.api import ENGINE_VERSION, audit_table, suppress_table
from datashare.disclosure.errors import SolverGuardError

from .conftest import statewide_records

CLOCKS = ("process_time", "perf_counter", "monotonic", "thread_time")
SLOWER = 1000.0


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, dict[str, Any]]:
    # Small enough for a few seconds a run, big enough that cubes, region LPs, region MILPs,
    # the LP loop and the unhide pass all have work (2 districts of 3 schools, 339 rows).
    return statewide_records(2, 3, 600, 0)


def _racing(real: Callable[[], float]) -> Callable[[], float]:
    """A clock that runs SLOWER times as fast as ``real``: every second of work looks like
    SLOWER seconds, as on a machine SLOWER times slower (or that loaded)."""
    start = real()

    def now() -> float:
        return start + (real() - start) * SLOWER

    return now


def _slow_down(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLOCKS:
        monkeypatch.setattr(time, name, _racing(getattr(time, name)))


@pytest.fixture
def slow_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_down(monkeypatch)


def _protect(frame: pd.DataFrame, spec: dict[str, Any], protection: str) -> pd.DataFrame:
    return suppress_table(frame, spec, count="count", protection=protection).table


@pytest.fixture(scope="module")
def patterns(table: tuple[pd.DataFrame, dict[str, Any]]) -> dict[str, pd.DataFrame]:
    frame, spec = table
    return {p: _protect(frame, spec, p) for p in ("threshold", "exact")}


@pytest.mark.parametrize("protection", ["threshold", "exact"])
def test_a_machine_a_thousand_times_slower_publishes_the_same_pattern(
        table: tuple[pd.DataFrame, dict[str, Any]], patterns: dict[str, pd.DataFrame],
        slow_machine: None, protection: str) -> None:
    frame, spec = table
    slow = _protect(frame, spec, protection)
    pd.testing.assert_frame_equal(patterns[protection], slow)


def test_a_rate_table_gets_the_same_pattern_on_a_slow_machine_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The rate path: group sizes first (with the unhide pass), then the joint rounds.
    frame, spec = statewide_records(2, 2, 300, 0, met=0.8)

    def protect() -> pd.DataFrame:
        return suppress_table(frame, spec, numerator="met", denominator="tested",
                              seed=1).table

    fast = protect()
    _slow_down(monkeypatch)
    pd.testing.assert_frame_equal(fast, protect())


def test_the_report_names_the_engine_version_and_the_table_exercises_the_limits(
        table: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, spec = table
    report = suppress_table(frame, spec, count="count").report
    # A re-publication compares it: another version may choose another pattern.
    assert report["engine_version"] == ENGINE_VERSION
    assert report["solver"].startswith("HiGHS (highspy 1.")
    # The table above only tests the limits if the unhide pass and the region LPs work on it.
    stats = report["protection_method"]["count"]
    assert stats["complements_published_again"] > 0
    assert stats["local_lp_witnesses"] > 0


def test_the_publisher_side_audit_gives_the_same_verdict_on_a_slow_machine(
        table: tuple[pd.DataFrame, dict[str, Any]], patterns: dict[str, pd.DataFrame],
        monkeypatch: pytest.MonkeyPatch) -> None:
    frame, spec = table
    # A weak pattern (a third of the complements published again) so the verdict has
    # failures whose intervals the per-cell LPs and MILPs compute.
    weak = patterns["threshold"].copy()
    comp = (weak["suppression"] == "complementary").to_numpy().nonzero()[0][::3]
    weak.loc[weak.index[comp], "count"] = frame.loc[frame.index[comp], "count"]
    weak.loc[weak.index[comp], "suppression"] = ""
    before = audit_table(weak, spec, count="count")
    # Python's clocks only: HiGHS's own cannot be raced from here, which is why the test
    # below checks that no solve has a time limit a normal run can reach.
    _slow_down(monkeypatch)
    after = audit_table(weak, spec, count="count")
    assert not before.ok
    assert before.failures() == after.failures()


@pytest.fixture
def solves(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every HiGHS solve of the engine, with the options it ran under."""
    seen: list[dict[str, Any]] = []
    run = highspy._Highs.run

    def option(h: Any, name: str) -> Any:
        got = h.getOptionValue(name)
        return got[-1] if isinstance(got, tuple) else got  # (status, value) in highspy 1.16

    def spy(h: Any, *args: Any) -> Any:
        integer = any(int(v) != 0 for v in h.getLp().integrality_)
        seen.append({name: option(h, name) for name in ("time_limit", "threads", "parallel",
                                                       "mip_max_nodes")} | {"mip": integer})
        return run(h, *args)

    monkeypatch.setattr(highspy._Highs, "run", spy)
    yield seen


def test_no_solve_of_the_suppressor_or_the_audit_has_a_time_limit_a_normal_run_can_reach(
        table: tuple[pd.DataFrame, dict[str, Any]], solves: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    frame, spec = table
    # No dives: the regions' fractional optima go to their MILPs, whose options are checked.
    monkeypatch.setattr(local, "DIVE_STEPS", 0)
    out = suppress_table(frame, spec, count="count").table
    audit_table(out, spec, count="count")
    assert solves and any(s["mip"] for s in solves)  # LPs and MILPs both ran
    # The wall clock only guards against a hung solver (an hour; the largest solves of the
    # 45,730-row bench take seconds), and reaching it raises (the next test).
    assert min(s["time_limit"] for s in solves) >= 3600.0
    # One thread: HiGHS's parallel parts are not used, so every run takes the same path.
    assert {s["threads"] for s in solves} == {1}
    assert {s["parallel"] for s in solves} == {"off"}
    # Every MILP stops on a node count.
    assert max(s["mip_max_nodes"] for s in solves if s["mip"]) <= 10_000


def test_a_solve_past_the_guard_stops_the_run_instead_of_changing_the_pattern(
        table: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    frame, spec = table
    monkeypatch.setattr(lp, "GUARD_SECONDS", 0.0)  # every solve reaches it at once
    with pytest.raises(SolverGuardError, match="guard"):
        suppress_table(frame, spec, count="count")
