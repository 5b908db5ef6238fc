"""Bad input: exit 2, one clear line on stderr, and no output folder (nor crosswalk)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from datashare.cli import main

from .conftest import every_element_spec


def _run(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    source: Path,
    spec: dict[str, Any],
    *extra: str,
    key: Path | None = None,
) -> str:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    if key is None:
        key = tmp_path / "key"
        if not key.exists():
            key.write_text("ab" * 32 + "\n")
    out = tmp_path / "out"
    code = main(
        [
            "extract",
            str(spec_path),
            "--source",
            str(source),
            "--out",
            str(out),
            "--key-file",
            str(key),
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    assert not (tmp_path / "out.crosswalk.enc").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".work-" in p.name]
    return err


def _small(**changes: Any) -> dict[str, Any]:
    spec = every_element_spec(formats=["parquet"], risk={}, school_years=["2019-20"])
    spec.update(changes)
    return spec


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"files": {"enrollment": ["shoe_size"]}}, "unknown data element 'shoe_size'"),
        ({"files": {"lunch_menu": ["grade_level"]}}, "unknown data file 'lunch_menu'"),
        ({"files": {"enrollment": ["gender"]}}, "belongs to file 'student'"),
        ({"school_years": ["2008-09"]}, "before 2009-10"),
        ({"school_years": ["2025-26"]}, "school year 2025-26 is not in the source"),
        ({"school_years": ["2019-2020"]}, "not of the form 2009-10"),
        ({"files": {"student": ["gender", "birth_date"]}}, "direct identifier 'birth_date'"),
        (
            {"files": {"enrollment": ["district_student_id"]}},
            "direct identifier 'district_student_id'",
        ),
        ({"formats": ["xlsx"]}, "unknown output format 'xlsx'"),
        ({"risk": {"quasi_identifiers": ["scale_score"]}}, "quasi-identifier 'scale_score'"),
        # A typo inside a nested mapping is an error naming the key, not a skipped assessment.
        ({"risk": {"quasi_identifers": ["gender"]}}, "unknown key risk.'quasi_identifers'"),
        ({"risk": {"threshold": {"kk": 5}}}, "unknown key risk.threshold.'kk'"),
        ({"risk": {"threshold": {"max_share": 2}}}, "max_share must be a number from 0 to 1"),
        ({"risk": {"threshold": {"k": 1}}}, "threshold.k must be a whole number"),
        ({"school_years": {"from": "2018-19", "too": "2019-20"}}, "school_years.'too'"),
    ],
)
def test_bad_spec(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    source: Path,
    changes: dict[str, Any],
    message: str,
) -> None:
    assert message in _run(capsys, tmp_path, source, _small(**changes))


def test_missing_source_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path
) -> None:
    broken = tmp_path / "src"
    shutil.copytree(source, broken)
    (broken / "attendance.parquet").unlink()
    assert "source table 'attendance' not found" in _run(capsys, tmp_path, broken, _small())


def test_missing_source_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path
) -> None:
    broken = tmp_path / "src"
    shutil.copytree(source, broken)
    table = pq.read_table(broken / "programs.parquet")
    pq.write_table(table.drop_columns(["low_income"]), broken / "programs.parquet")
    assert "has no column 'low_income'" in _run(capsys, tmp_path, broken, _small())


def test_missing_source_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "does not exist" in _run(capsys, tmp_path, tmp_path / "nowhere", _small())


def test_missing_key(capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path) -> None:
    assert "key file" in _run(capsys, tmp_path, source, _small(), key=tmp_path / "no-such-key")


def test_malformed_key(capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    assert "not a 256-bit key" in _run(capsys, tmp_path, source, _small(), key=bad)


def test_wrong_key_for_crosswalk(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path
) -> None:
    first = tmp_path / "first"
    first.mkdir()
    key1 = first / "key"
    assert main(["extract", "--new-key", str(key1)]) == 0
    spec_path = first / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_small()))
    assert (
        main(
            [
                "extract",
                str(spec_path),
                "--source",
                str(source),
                "--out",
                str(first / "pkg"),
                "--key-file",
                str(key1),
            ]
        )
        == 0
    )
    capsys.readouterr()
    crosswalk = first / "pkg.crosswalk.enc"
    assert crosswalk.exists() and crosswalk.stat().st_mode & 0o077 == 0
    other = tmp_path / "other.key"
    assert main(["extract", "--new-key", str(other)]) == 0
    capsys.readouterr()
    err = _run(capsys, tmp_path, source, _small(), "--reuse-crosswalk", str(crosswalk), key=other)
    assert "crosswalk cannot be decrypted with this key" in err
    # ... and another agreement cannot reuse it even with the right key.
    err = _run(
        capsys,
        tmp_path,
        source,
        _small(agreement="DSA-OTHER"),
        "--reuse-crosswalk",
        str(crosswalk),
        key=key1,
    )
    assert "crosswalk cannot be decrypted with this key" in err


def test_existing_output_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path
) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_small()))
    (tmp_path / "key").write_text("cd" * 32)
    (tmp_path / "out").mkdir()
    code = main(
        [
            "extract",
            str(spec_path),
            "--source",
            str(source),
            "--out",
            str(tmp_path / "out"),
            "--key-file",
            str(tmp_path / "key"),
        ]
    )
    assert code == 2
    assert "already exists" in capsys.readouterr().err
    assert list((tmp_path / "out").iterdir()) == []


def test_new_key_refuses_to_overwrite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    key = tmp_path / "k"
    assert main(["extract", "--new-key", str(key)]) == 0
    before = key.read_text()
    assert len(before.strip()) == 64 and key.stat().st_mode & 0o777 == 0o600
    assert main(["extract", "--new-key", str(key)]) == 2
    assert key.read_text() == before
    assert "refusing to overwrite" in capsys.readouterr().err


def test_failure_midway_leaves_nothing(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed while writing (here: the CSV step raises) leaves no package, no crosswalk."""
    from datashare.extract import api, formats
    from datashare.extract import spec as spec_module

    def boom(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(formats, "write_csv", boom)
    with pytest.raises(RuntimeError):
        api.run_extract(spec_module.parse(_small()), source, tmp_path / "pkg", b"k" * 32)
    assert list(tmp_path.iterdir()) == []


def test_sigterm_mid_extract_leaves_nothing(tmp_path: Path) -> None:
    """A real `datashare extract` process sent SIGTERM while it writes removes its temporary
    package and work folder (Python's default SIGTERM exit skipped every cleanup) and writes
    no crosswalk."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from datashare.synthetic import generate

    generate(tmp_path / "src", scale=0.01, seed=3)
    spec = every_element_spec(formats=["parquet", "csv", "dta", "sav", "xpt"])
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "key").write_text("ab" * 32 + "\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "datashare.cli", "extract", str(tmp_path / "spec.yaml"),
         "--source", str(tmp_path / "src"), "--out", str(out_dir / "pkg"),
         "--key-file", str(tmp_path / "key")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    # Wait until it is writing data files into its temporary package.
    while time.monotonic() < deadline and proc.poll() is None:
        tmps = [p for p in out_dir.iterdir() if ".tmp-" in p.name]
        if tmps and any(tmps[0].glob("*.parquet")):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the extract finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert list(out_dir.iterdir()) == []


def test_clean_stale_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    from datashare.extract.api import clean_stale

    (tmp_path / "pkg.tmp-abc").mkdir()
    (tmp_path / "pkg.tmp-abc" / "student.parquet").write_bytes(b"x")
    (tmp_path / ".pkg.work-xyz").mkdir()
    (tmp_path / ".pkg.crosswalk.enc.1234abcd.tmp").write_bytes(b"x")
    (tmp_path / "other.tmp-abc").mkdir()
    assert len(clean_stale(tmp_path / "pkg")) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["other.tmp-abc"]
