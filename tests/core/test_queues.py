"""Short and long work run in separate worker processes: a long job never delays the heartbeat."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datashare.core.queues import LONG_QUEUE, SHORT_QUEUE

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _heartbeats(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM core_workerheartbeat")]


CLI = [sys.executable, "-m", "datashare.cli"]


def _holding_jobs(tmp_path: Path, names: str) -> dict[str, str]:
    """A migrated database in ``tmp_path`` with one stand-in long job per name queued (the
    name "" writes "started"); the environment the workers need."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATASHARE_DEMO": "1",
        "DATASHARE_DATA_DIR": str(tmp_path),
        # The worker processes import the stand-in long job from the tests package.
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([*CLI, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120, cwd=ROOT)
    subprocess.run(
        [*CLI, "shell", "-c",
         "from tests.core.longjob import hold_the_long_worker as t\n"
         f"for name in {list(names) or ['']!r}: t.enqueue(folder={str(tmp_path)!r}, name=name)"],
        env=env, check=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    return env


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for proc in workers:
        proc.terminate()
    for proc in workers:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.timeout(150)
def test_a_long_job_running_on_the_long_worker_does_not_delay_the_short_queues_heartbeat(tmp_path: Path) -> None:
    env = _holding_jobs(tmp_path, "")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers.append(subprocess.Popen([*CLI, "worker", "--queue", "long"], env=env, cwd=ROOT))
        assert _wait_for(lambda: (tmp_path / "started").exists(), 60), "the long worker never started the job"
        # The long job is running and will not finish until released. The short worker (and its
        # scheduler) start now: the heartbeat must be processed while the long job still runs.
        workers.append(subprocess.Popen([*CLI, "worker", "--queue", "short"], env=env, cwd=ROOT))
        db = tmp_path / "datashare.sqlite3"
        assert _wait_for(lambda: SHORT_QUEUE in _heartbeats(db), 60), "no heartbeat while the long job ran"
        assert not (tmp_path / "finished").exists()
        (tmp_path / "release").touch()
        assert _wait_for(lambda: (tmp_path / "finished").exists(), 30)
    finally:
        _stop(workers)
    with sqlite3.connect(tmp_path / "datashare.sqlite3") as conn:
        queues = dict(conn.execute("SELECT task_path, queue_name FROM django_tasks_database_dbtaskresult"))
    assert queues["tests.core.longjob.hold_the_long_worker"] == LONG_QUEUE
    assert queues["datashare.core.tasks.run_scheduled_job"] == SHORT_QUEUE


@pytest.mark.timeout(150)
def test_two_long_workers_publish_two_tables_side_by_side_each_once(tmp_path: Path) -> None:
    # `datashare run` starts LONG_WORKERS (2) long workers, so a steward's year of tables
    # publishes two at a time: each worker claims its own job, and no job runs twice.
    env = _holding_jobs(tmp_path, "abc")
    started = [tmp_path / f"started{name}" for name in "abc"]
    workers = [subprocess.Popen([*CLI, "worker", "--queue", "long"], env=env, cwd=ROOT) for _ in range(2)]
    try:
        # Two jobs hold the two workers at once; the third waits for one of them.
        assert _wait_for(lambda: sum(p.exists() for p in started) == 2, 90), "the jobs did not run side by side"
        time.sleep(2)  # a third worker claiming the held jobs would show here
        assert sum(p.exists() for p in started) == 2
        (tmp_path / "release").touch()
        assert _wait_for(lambda: all((tmp_path / f"finished{name}").exists() for name in "abc"), 60)
    finally:
        _stop(workers)
    assert [p.read_text() for p in started] == ["run\n"] * 3
