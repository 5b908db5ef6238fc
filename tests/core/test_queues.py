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


@pytest.mark.timeout(150)
def test_a_long_job_running_on_the_long_worker_does_not_delay_the_short_queues_heartbeat(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATASHARE_DEMO": "1",
        "DATASHARE_DATA_DIR": str(tmp_path),
        # The worker processes import the stand-in long job from the tests package.
        "PYTHONPATH": str(ROOT),
    }
    cli = [sys.executable, "-m", "datashare.cli"]
    subprocess.run([*cli, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120, cwd=ROOT)
    subprocess.run(
        [*cli, "shell", "-c",
         f"from tests.core.longjob import hold_the_long_worker as t; t.enqueue(folder={str(tmp_path)!r})"],
        env=env, check=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    workers = []
    try:
        workers.append(subprocess.Popen([*cli, "worker", "--queue", "long"], env=env, cwd=ROOT))
        assert _wait_for(lambda: (tmp_path / "started").exists(), 60), "the long worker never started the job"
        # The long job is running and will not finish until released. The short worker (and its
        # scheduler) start now: the heartbeat must be processed while the long job still runs.
        workers.append(subprocess.Popen([*cli, "worker", "--queue", "short"], env=env, cwd=ROOT))
        db = tmp_path / "datashare.sqlite3"
        assert _wait_for(lambda: SHORT_QUEUE in _heartbeats(db), 60), "no heartbeat while the long job ran"
        assert not (tmp_path / "finished").exists()
        (tmp_path / "release").touch()
        assert _wait_for(lambda: (tmp_path / "finished").exists(), 30)
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    with sqlite3.connect(tmp_path / "datashare.sqlite3") as conn:
        queues = dict(conn.execute("SELECT task_path, queue_name FROM django_tasks_database_dbtaskresult"))
    assert queues["tests.core.longjob.hold_the_long_worker"] == LONG_QUEUE
    assert queues["datashare.core.tasks.run_scheduled_job"] == SHORT_QUEUE
