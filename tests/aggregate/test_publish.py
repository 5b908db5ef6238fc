"""Every table the builder makes leaves the disclosure engine proven: its own audit, and the
independent audit from the published cells alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from datashare.aggregate import publish
from datashare.aggregate.build import TableRequest, build
from datashare.aggregate.publish import notes, suppress
from datashare.aggregate.sample import write_sample
from datashare.disclosure.api import audit_table


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("agg") / "src", students=900, seed=4)


@pytest.mark.parametrize("table", ["enrollment", "graduation_4yr", "assessment_proficiency"])
def test_published_tables_pass_the_audit_and_small_cells_are_hidden(sample: Path,
                                                                     table: str) -> None:
    built = build(sample, TableRequest(table, 2025, level="district",
                                       groups=("gender", "race", "low_income")))
    published = suppress(built)
    cert = published.certificate
    assert published.passed and cert["policy"] == "ospi" and cert["table"] == table
    assert all(p["independent_audit"]["passed"] for p in cert["parts"])
    # The file audit re-verified the suppressor's witnesses rather than search again.
    assert sum(m["proven_by_suppressor_witnesses"] for p in cert["parts"]
               for m in p["independent_audit"]["measures"].values()) > 0
    out = published.table
    measure = "count" if table == "enrollment" else "denominator"
    small = built.frame[measure].between(1, 9).to_numpy()
    assert small.any()
    assert out.loc[small, measure].isna().all()
    assert (out.loc[small, "display"] == "N<10").all()
    assert cert["cells_suppressed"] == int((out["suppression"] != "").sum())
    # Anyone holding the published file and the spec can repeat the audit.
    for part in built.parts:
        rows = out if part.slice is None else out[out["subject"] == part.slice]
        args = ({"count": "count"} if table == "enrollment"
                else {"numerator": "numerator", "denominator": "denominator"})
        assert audit_table(rows.reset_index(drop=True), part.spec, **args).ok
    text = " ".join(notes(published))
    assert "N<10" in text and "audit" in text


def test_a_published_rate_never_shows_the_numerator_of_a_coded_rate(sample: Path) -> None:
    published = suppress(build(sample, TableRequest("graduation_4yr", 2025, level="district")))
    coded = published.table[published.table["suppression"] == "top_bottom"]
    assert coded["numerator"].isna().all()
    assert coded["display"].str.match(r"^[<>]\d").all() if len(coded) else True
    assert isinstance(published.table, pd.DataFrame)


def test_a_big_tables_parts_protected_in_processes_publish_the_same_file(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Test subjects share no relation: protected side by side, each is the pattern it is alone.
    built = build(sample, TableRequest("assessment_participation", 2025, level="district",
                                       groups=("gender", "low_income")))
    assert len(built.parts) > 1
    alone = suppress(built)
    monkeypatch.setattr(publish, "PARALLEL_MIN_ROWS", 0)
    assert publish._processes(built) > 1 or (os.cpu_count() or 1) == 1
    side_by_side = suppress(built)
    assert side_by_side.csv == alone.csv
    assert side_by_side.passed and alone.passed
    for a, b in zip(alone.certificate["parts"], side_by_side.certificate["parts"], strict=True):
        assert a["rows_sha256"] == b["rows_sha256"] and a["slice"] == b["slice"]
        untimed = [{k: {**v, "seconds": 0} for k, v in p["independent_audit"]["measures"].items()}
                   for p in (a, b)]
        assert untimed[0] == untimed[1]


PARENT = """
import multiprocessing as mp, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from datashare.aggregate import publish

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"),
                               initializer=publish.exit_with_parent, initargs=(os.getpid(),))
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 120)
    time.sleep(120)
"""


def test_a_parts_process_exits_when_the_process_that_started_it_is_killed(
        tmp_path: Path) -> None:
    # A stopped worker or benchmark (killed, no clean-up) must not leave a part running.
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # running
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the part's process outlived its parent")
