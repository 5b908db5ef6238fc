"""An analyst builds a standard table for a year from a synthetic source on the command line:
the published CSV, its certificate, report, notes and specs land in one folder, and
`datashare audit-table` repeats the check from those files alone. Bad input is one line and
exit status 2, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datashare.aggregate import publish
from datashare.aggregate.sample import write_sample
from datashare.cli import main


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("cli") / "src", districts=2,
                        schools_per_district=2, students=400, seed=3)


def test_build_writes_an_audited_release_that_audit_table_repeats(
        source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "release"
    rc = main(["aggregate", "build", "graduation_4yr", "--year", "2024-25",
               "--source", str(source), "--out", str(out)])
    said = capsys.readouterr()
    assert rc == 0, said.err
    stem = "graduation_4yr-2024-25"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}{ext}" for ext in (".csv", ".certificate.json", ".report.json", ".notes.txt",
                                   ".spec.json"))
    assert "audit passed from the published file" in said.out
    cert = json.loads((out / f"{stem}.certificate.json").read_text())
    assert cert["passed"] and cert["school_year"] == 2025
    # What the proof covers is said as the certificate records it (rates: labels only once
    # the engine audits numerators and denominators as one model).
    limited = not cert["labels_accounted"]
    assert ("labels NOT yet included" in said.out) is limited
    assert ("does not yet account" in (out / f"{stem}.notes.txt").read_text()) is limited
    rc = main(["audit-table", str(out / f"{stem}.csv"), "--spec", str(out / f"{stem}.spec.json"),
               "--numerator", "numerator", "--denominator", "denominator"])
    assert rc == 0 and "audit passed" in capsys.readouterr().out


def test_a_sliced_table_gets_a_spec_per_subject_and_a_custom_cut(source: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "prof"
    rc = main(["aggregate", "build", "assessment_proficiency", "--year", "2025",
               "--source", str(source), "--out", str(out), "--level", "district",
               "--groups", "gender,low_income", "--grades", "03,04,05"])
    assert rc == 0
    specs = sorted(p.name for p in out.glob("*.spec.json"))
    assert specs == [f"assessment_proficiency-2024-25.{s}.spec.json"
                     for s in ("ELA", "Math", "Science")]
    assert json.loads(next(out.glob("*.certificate.json")).read_text())["student_groups"] == [
        "gender", "low_income"]


def test_the_tables_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aggregate", "tables"]) == 0
    listing = capsys.readouterr().out
    assert "enrollment" in listing and "graduation_5yr" in listing and "rate" in listing


@pytest.mark.parametrize(("args", "message"), [
    (["build", "attendance", "--year", "2025"], "unknown table 'attendance'"),
    (["build", "enrollment", "--year", "2012"], "school year 2011-12 is not in the source"),
    (["build", "enrollment", "--year", "2024/25"], "is not like 2024-25"),
    (["build", "enrollment", "--year", "2025", "--groups", "military"],
     "unknown student group 'military'"),
    (["build", "enrollment", "--year", "2025", "--grades", "13"], "unknown grade '13'"),
    (["build", "enrollment", "--year", "2025", "--engine", "hive"], "invalid choice: 'hive'"),
    (["build", "enrollment", "--year", "2025", "--level", "state", "--district", "11111"],
     "a district filter needs the district or school level"),
    (["frobnicate"], "usage: datashare aggregate"),
    ([], "usage: datashare aggregate"),
])
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(
        source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        message: str) -> None:
    out = tmp_path / "release"
    extra = ["--source", str(source), "--out", str(out)] if args[:1] == ["build"] else []
    assert main(["aggregate", *args, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".release.*"))  # no temporary folder left behind


def test_a_missing_source_or_an_existing_out_folder_is_exit_2(
        source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aggregate", "build", "enrollment", "--year", "2025",
                 "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    assert main(["aggregate", "build", "enrollment", "--year", "2025",
                 "--source", str(source), "--out", str(tmp_path / "taken")]) == 2
    assert "exists (use --force" in capsys.readouterr().err


def test_a_table_whose_file_fails_its_audit_gets_no_csv_and_exit_1(
        source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def unaudited(built: object, **kwargs: object) -> publish.Published:
        return real(built, **{**kwargs, "independent": False})  # type: ignore[arg-type]

    real = publish.suppress
    monkeypatch.setattr("datashare.aggregate.cli.suppress", unaudited)
    out = tmp_path / "release"
    # Any table will do: a quick one (dropout's proof takes ~25x as long on this sample).
    rc = main(["aggregate", "build", "graduation_5yr", "--year", "2025", "--source", str(source),
               "--out", str(out)])
    assert rc == 1
    assert "not released: the published file was not audited" in capsys.readouterr().err
    assert not list(out.glob("*.csv")) and list(out.glob("*.certificate.json"))
