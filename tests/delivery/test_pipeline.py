"""Exhibit A to a sealed package: a worker killed (SIGKILL) mid-extract five times leaves no
partial package in the store, and the job completes on the next attempt."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datashare.delivery import pipeline
from datashare.extract import vault
from datashare.extract.errors import ExtractError
from datashare.synthetic import generate

MASTER = bytes(range(32))
EXHIBIT_A = {
    e: [2019, 2020]
    for e in ["gender", "race_ethnicity", "birth_year", "school_code", "grade_level",
              "special_education", "test_subject", "scale_score"]
}  # fmt: skip

RUNNER = """
import json, sys
from pathlib import Path
from datashare.delivery import pipeline
args = json.loads(sys.argv[1])
p = pipeline.prepare(args["spec"], source=Path(args["source"]), crosswalk_key=bytes(32), work=Path(args["work"]),
                     store=Path(args["store"]), master=bytes(range(32)), package_id="job-1",
                     crosswalk_dir=Path(args["xw"]), progress=lambda s: print(s, flush=True))
print("DONE", json.dumps(p.rows), flush=True)
"""


def _spec() -> dict[str, object]:
    return pipeline.spec_from_exhibit_a(agreement="DSA-2026-0001", exhibit_a=EXHIBIT_A,
                                        formats=["parquet", "csv", "dta", "sav"])  # fmt: skip


def test_exhibit_a_becomes_a_spec() -> None:
    spec = _spec()
    assert spec["school_years"] == ["2018-19", "2019-20"]
    assert spec["files"] == {"student": ["gender", "race_ethnicity", "birth_year"],
                             "enrollment": ["school_code", "grade_level"],
                             "programs": ["special_education"], "assessment": ["test_subject", "scale_score"]}  # fmt: skip
    assert spec["risk"] == {
        "quasi_identifiers": ["school_code", "grade_level", "gender", "race_ethnicity", "birth_year"],
        # Every coarsening that fits them: reported as the alternative a steward may re-cut with.
        "coarsen": ["race", "birth_year", "school"],
        "apply_coarsening": False,
    }
    # Different years per element: the extract's years are all of them, each element keeps its own.
    spec = pipeline.spec_from_exhibit_a(agreement="X", exhibit_a={"gender": [2019], "grade_level": [2020, 2019],
                                                                  "school_year": [2018, 2019, 2020]}, formats=[])  # fmt: skip
    assert spec["school_years"] == ["2018-19", "2019-20"]
    assert spec["element_years"] == {"gender": ["2018-19"]}
    assert "element_years" not in _spec()
    with pytest.raises(ExtractError, match="unknown element 'lunch_menu'"):
        pipeline.spec_from_exhibit_a(agreement="X", exhibit_a={"lunch_menu": [2019]}, formats=[])


def test_a_worker_killed_five_times_leaves_no_partial_package_and_then_completes(tmp_path: Path) -> None:
    generate(tmp_path / "source", scale=0.01, seed=11)
    args = {"spec": _spec(), "source": str(tmp_path / "source"), "work": str(tmp_path / "work"),
            "store": str(tmp_path / "store"), "xw": str(tmp_path / "agency")}  # fmt: skip
    cmd = [sys.executable, "-c", RUNNER, json.dumps(args)]
    rng = random.Random(5)
    for attempt in range(5):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill it at a different point each time: while cutting, and (last) while sealing.
        wait_for = "encrypting the package" if attempt == 4 else "cutting the extract"
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and wait_for not in line:
            line = proc.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.4) if attempt < 4 else 0.01)
        assert proc.poll() is None, f"attempt {attempt} ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        # Whatever instant it died at, the store holds no partial package: either nothing, or
        # a sealed package whose every file decrypts.
        sealed = tmp_path / "store" / "job-1"
        if sealed.exists():
            vault.decrypt_package(tmp_path / "store", "job-1", MASTER, tmp_path / f"check{attempt}")
        assert all(p.name in ("job-1",) or p.name.startswith(".job-1.seal-")
                   for p in (tmp_path / "store").iterdir()) if (tmp_path / "store").exists() else True  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "DONE" in done.stdout
    # Nothing left behind: no plaintext work folder, no half-sealed folder, the crosswalk
    # with the agency (never in the store).
    assert not (tmp_path / "work").exists()
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["job-1"]
    assert (tmp_path / "agency" / "job-1.crosswalk.enc").exists()
    out = tmp_path / "final"
    vault.decrypt_package(tmp_path / "store", "job-1", MASTER, out)
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, check=True)
    assert {"student.dta", "assessment.sav", "enrollment.csv", "programs.parquet"} <= {p.name for p in out.iterdir()}
