"""Region LPs solved ahead in worker threads or forked processes give the serial run's
pattern and proofs.

Why it matters: the same table must give the same pattern on every run (see
test_determinism). Workers finish in any order; a region solved ahead may have read cells an
earlier region then hid, and must be solved again, or the pattern would depend on timing.
A forked process reads the cells hidden so far from memory it shares with the parent, and
its result carries what it read, so the parent's check sees the same as for a thread.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from datashare.disclosure import cores, forked, local
from datashare.disclosure.api import audit_table, suppress_table

from .conftest import private_cores, statewide_records


@pytest.fixture(autouse=True)
def idle_cores(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every core free for these tests' threads, whatever else runs on the machine (threads
    run only on free cores: ``cores.threads``)."""
    private_cores(monkeypatch, tmp_path / "slots", 4)


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, dict[str, Any]]:
    # 4 districts of 5 schools: 221 targets left to the local LPs at ``threshold``, in
    # regions that share their district's and the state's cells.
    return statewide_records(4, 5, 1500, 1)


def _suppress(table: tuple[pd.DataFrame, dict[str, Any]], protection: str) -> Any:
    frame, spec = table
    return suppress_table(frame, spec, count="count", method="cubes", protection=protection)


def _late_results(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The caller takes each result late and the workers pause at random: the regions
    ahead are solved before the earlier ones hide their cells, and finish in any order."""
    solve, holds = local._solve_region, local._Solved.still_holds
    pause = random.Random(seed)
    lock = threading.Lock()
    caller = os.getpid()

    def slow_solve(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != caller or threading.current_thread() is not threading.main_thread():
            with lock:
                wait = pause.random() * 0.002
            time.sleep(wait)
        return solve(*args, **kwargs)

    def slow_take(self: Any, hidden: Any, allowed: int) -> bool:
        time.sleep(0.003)
        return holds(self, hidden, allowed)

    monkeypatch.setattr(local, "_solve_region", slow_solve)
    monkeypatch.setattr(local._Solved, "still_holds", slow_take)


def _workers(monkeypatch: pytest.MonkeyPatch, kind: str) -> list[int]:
    """Regions solved ahead in threads, or in forked processes from the first region on;
    returns a list that gets one entry per pool of processes started."""
    if kind == "processes" and not forked.AVAILABLE:
        pytest.skip("nothing forks here")
    monkeypatch.setattr(local, "FORK_MIN_REGIONS", 1 if kind == "processes" else 10**9)
    pools: list[int] = []
    start = forked.pool

    def counted(work: Any, n: int) -> Any:
        pools.append(n)
        return start(work, n)

    monkeypatch.setattr(forked, "pool", counted)
    return pools


@pytest.mark.parametrize("kind", ["threads", "processes"])
@pytest.mark.parametrize("protection", ["threshold", "exact"])
def test_workers_publish_the_serial_pattern_whatever_the_order_they_finish_in(
        table: tuple[pd.DataFrame, dict[str, Any]], protection: str, kind: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "THREADS", 1)
    serial = _suppress(table, protection)
    assert serial.report["protection_method"]["count"]["local_lp_witnesses"] > 0

    pools = _workers(monkeypatch, kind)
    monkeypatch.setattr(local, "THREADS", 3)
    monkeypatch.setattr(local, "AHEAD", 4)
    _late_results(monkeypatch, seed=7)
    before = local.RERUNS[0]
    threaded = _suppress(table, protection)

    if protection == "threshold":  # (exact leaves the local LPs 8 targets: rarely one)
        assert local.RERUNS[0] > before, "no region was solved again: the check went untried"
    assert bool(pools) == (kind == "processes")
    pd.testing.assert_frame_equal(threaded.table, serial.table)
    assert (threaded.report["protection_method"]["count"]
            == serial.report["protection_method"]["count"])
    assert threaded.audit is not None and threaded.audit.ok


def test_the_file_audit_in_threads_proves_what_the_serial_one_proves(
        table: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The audits' regions stay in threads, even where the suppressor's would fork."""
    spec = table[1]
    published = _suppress(table, "exact").table
    monkeypatch.setattr(local, "THREADS", 1)
    serial = audit_table(published, spec, count="count", protection="exact")
    pools = _workers(monkeypatch, "processes")
    monkeypatch.setattr(local, "THREADS", 2)
    _late_results(monkeypatch, seed=3)
    threaded = audit_table(published, spec, count="count", protection="exact")
    assert not pools
    assert serial.ok and threaded.ok
    methods = {k: r.proof_methods() for k, r in serial.results.items()}
    assert sum(m["local_lp"] for m in methods.values()) > 0, methods
    assert {k: r.proof_methods() for k, r in threaded.results.items()} == methods


def test_neighbouring_regions_are_solved_far_apart_and_none_is_lost() -> None:
    """A tier's regions are solved interleaved (``local._spread``): regions next to each
    other in the targets' order share cells, and one solved ahead of a neighbour that then
    hides a cell it read is solved again, serially. Every region is still solved once."""
    for n in (12_070, 5 * local.SPREAD + 7, 2 * local.SPREAD + 2, 40):
        groups = [(((i,),), np.array([i])) for i in range(n)]
        order = [int(cells[0]) for _, cells in local._spread(groups)]
        assert sorted(order) == list(range(n))
        at = {g: i for i, g in enumerate(order)}
        if n < 2 * (local.SPREAD + 1):  # too few to interleave: they stay in order
            assert order == list(range(n))
            continue
        apart = min(abs(at[g + 1] - at[g]) for g in range(n - 1))
        assert apart >= local.SPREAD, (n, apart)


def test_regions_in_flight_never_outnumber_the_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many LP threads are asked for, the workers each with AHEAD regions in
    flight stay within SPREAD, so two neighbours are never solved ahead together."""
    monkeypatch.setenv("DATASHARE_LP_THREADS", "64")
    assert cores.workers() * local.AHEAD <= local.SPREAD
