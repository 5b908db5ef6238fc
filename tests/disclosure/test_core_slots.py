"""The engine's extra threads run only on cores no other suppression is using.

Why it matters: two tables published side by side (the portal's two long workers) each
solving regions ahead in a second thread ran four threads on two cores, which cost every
table about a quarter more CPU for nothing (docs/disclosure.md, *Cores shared between
tables*). A core is a slot: a lock the kernel releases when its process ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datashare.disclosure import cores, local
from datashare.disclosure.api import suppress_table

from .conftest import private_cores, statewide_records

# Another process, as the portal's other long worker: holds a core while it works.
_WORKER = """
import time
from datashare.disclosure.cores import working
with working():
    print("working", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def two_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_cores(monkeypatch, tmp_path / "slots", 2)


@pytest.fixture
def other_table(two_cores: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process suppressing a table (holding one of the two cores) meanwhile."""
    proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdout=subprocess.PIPE,
                            text=True, env=_env(two_cores))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "working"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _env(slots: Path) -> dict[str, str]:
    return {**os.environ, "DATASHARE_CORE_SLOTS": str(slots)}


def test_a_table_alone_on_the_machine_gets_a_thread_per_core(two_cores: Path) -> None:
    with cores.threads(4) as n:
        assert n == 2
    with cores.working(), cores.threads(4) as n:  # its own core counted once
        assert n == 2


def test_a_table_gets_no_second_thread_while_another_table_works(
        other_table: subprocess.Popen[str]) -> None:
    with cores.working():
        with cores.threads(4) as n:
            assert n == 1
        assert cores._HELD.fd is not None  # it holds the other core for itself


def test_a_core_comes_back_when_the_table_holding_it_is_killed(
        two_cores: Path, other_table: subprocess.Popen[str]) -> None:
    with cores.threads(2) as n:
        assert n == 1
    other_table.kill()  # stopped at the table timeout, or its worker killed: no cleanup ran
    other_table.wait()
    with cores.threads(2) as n:
        assert n == 2


def test_every_core_is_given_back_after_a_block_that_failed(two_cores: Path) -> None:
    with pytest.raises(RuntimeError), cores.working(), cores.threads(2) as n:
        assert n == 2
        raise RuntimeError("a table that failed half way")
    assert cores._HELD.fd is None and cores._HELD.depth == 0
    with cores.threads(2) as n:
        assert n == 2


def test_a_machine_busier_than_its_cores_runs_each_table_in_one_thread(
        two_cores: Path) -> None:
    held = cores._take(two_cores, 2, 2)  # two other tables already hold both cores
    try:
        with cores.working():
            assert cores._HELD.fd is None
            with cores.threads(4) as n:
                assert n == 1
    finally:
        cores._give_back(held)


def test_a_table_started_on_a_busy_machine_takes_the_cores_that_come_free(
        two_cores: Path) -> None:
    others = [cores._take(two_cores, 2, 1), cores._take(two_cores, 2, 1)]
    try:
        with cores.working():
            assert cores._HELD.fd is None
            cores._give_back(others.pop())  # one of the other tables finished
            with cores.threads(4) as n:
                assert n == 1  # its own core now, the other still busy
            assert cores._HELD.fd is not None
            cores._give_back(others.pop())
            with cores.threads(4) as n:
                assert n == 2  # alone at the end of the year: both cores
        assert cores._HELD.fd is None
    finally:
        for fds in others:
            cores._give_back(fds)


def test_a_forked_child_holds_no_core_of_its_own_and_takes_the_free_one(
        two_cores: Path) -> None:
    with cores.working():
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report, then leave without running the parent's cleanup
            ok = cores._HELD.fd is None and cores._HELD.depth == 0 and not cores._OPEN
            with cores.threads(4) as n:
                os.write(write, f"{ok} {n}".encode())
            os._exit(0)
        os.close(write)
        answer = os.read(read, 64).decode()
        os.waitpid(pid, 0)
        os.close(read)
        assert cores._HELD.fd is not None  # the parent still holds its own
    assert answer == "True 1"  # the parent's core is not the child's: one thread, on the other


def test_a_slot_directory_that_cannot_be_made_runs_the_table_in_one_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("DATASHARE_CORE_SLOTS", str(tmp_path / "file" / "slots"))
    with cores.threads(4) as n:
        assert n == 1


def test_a_slot_directory_that_is_a_link_runs_the_table_in_one_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another user could plant a link at the default path in a shared /tmp.
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "slots").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv("DATASHARE_CORE_SLOTS", str(tmp_path / "slots"))
    with cores.threads(4) as n:
        assert n == 1
    assert not any((tmp_path / "elsewhere").iterdir())  # nothing made through the link


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, dict[str, Any]]:
    return statewide_records(4, 5, 1500, 1)  # 221 targets for the local LPs at threshold


def _solver_threads(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    seen: set[str] = set()
    solve = local._solve_region

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen.add(threading.current_thread().name.split("_")[0])
        return solve(*args, **kwargs)

    monkeypatch.setattr(local, "_solve_region", counted)
    return seen


def test_a_table_published_beside_another_solves_its_regions_in_one_thread_and_the_same_pattern(
        table: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        two_cores: Path, other_table: subprocess.Popen[str]) -> None:
    frame, spec = table
    monkeypatch.setattr(local, "THREADS", 2)
    seen = _solver_threads(monkeypatch)
    beside = suppress_table(frame, spec, count="count", method="cubes")
    assert seen == {"MainThread"}

    other_table.kill()
    other_table.wait()
    seen.clear()
    alone = suppress_table(frame, spec, count="count", method="cubes")
    assert "region-lp" in seen  # a core came free: the regions ahead ran in a second thread
    pd.testing.assert_frame_equal(alone.table, beside.table)
