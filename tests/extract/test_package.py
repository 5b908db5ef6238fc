"""Package contents: only what was asked, every row, verifiable checksums, readable formats,
a risk report, and the same bytes when re-run with the same crosswalk."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pyreadstat

from datashare.extract import spec as spec_module
from datashare.extract.api import ExtractResult, run_extract

from .conftest import every_element_spec


def test_only_requested_elements_and_years(source: Path, key: bytes, tmp_path: Path) -> None:
    spec = spec_module.parse(
        {
            "agreement": "DSA-TEST-0002",
            "school_years": ["2016-17", "2018-19"],
            "files": {"enrollment": ["grade_level"], "assessment": ["test_subject", "scale_score"]},
        }
    )
    result = run_extract(spec, source, tmp_path / "pkg", key)
    enrollment = pq.read_table(result.out / "enrollment.parquet")
    assert enrollment.column_names == ["rid", "school_year", "grade_level"]
    assert set(enrollment.column("school_year").to_pylist()) == {"2016-17", "2018-19"}
    assessment = pq.read_table(result.out / "assessment.parquet")
    assert assessment.column_names == ["rid", "school_year", "test_subject", "scale_score"]
    assert sorted(p.name for p in result.out.glob("*.parquet")) == [
        "assessment.parquet",
        "enrollment.parquet",
    ]
    header = (result.out / "enrollment.csv").read_text().splitlines()[0]
    assert header == "rid,school_year,grade_level"
    # Row counts match the source for the chosen years.
    with duckdb.connect() as con:
        for f, n in result.rows.items():
            path = str(source / f"{f}.parquet")
            src = con.execute(
                "SELECT count(*) FROM read_parquet(?) WHERE school_year IN (2017, 2019)", [path]
            ).fetchone()
            assert src is not None and src[0] == n
    # Rows are sorted by RID: the source's order (which could say something) is gone.
    rids = enrollment.column("rid").to_pylist()
    assert rids == sorted(rids)


def test_full_extract_row_counts_match_source(full_extract: ExtractResult, source: Path) -> None:
    for f, n in full_extract.rows.items():
        table = "students" if f == "student" else f
        assert pq.ParquetFile(source / f"{table}.parquet").metadata.num_rows == n, f
        assert pq.ParquetFile(full_extract.out / f"{f}.parquet").metadata.num_rows == n


def test_checksums_verify_with_sha256sum(full_extract: ExtractResult) -> None:
    result = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"],
        cwd=full_extract.out,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = {
        line.split("  ", 1)[1]
        for line in (full_extract.out / "SHA256SUMS").read_text().splitlines()
    }
    assert listed == {p.name for p in full_extract.out.iterdir()} - {"SHA256SUMS"}


def test_manifest_codebook_readme(full_extract: ExtractResult) -> None:
    manifest = json.loads((full_extract.out / "manifest.json").read_text())
    assert manifest["agreement"] == "DSA-TEST-0001"
    assert manifest["files"]["enrollment"]["rows"] == full_extract.rows["enrollment"]
    book = json.loads((full_extract.out / "codebook.json").read_text())
    programs = next(f for f in book["files"] if f["file"] == "programs")
    foster = next(c for c in programs["columns"] if c["element"] == "foster_care")
    assert foster["years"][0] == "2016-17" and foster["value_labels"] == {
        "true": "Yes",
        "false": "No",
    }
    assert sum(programs["rows_by_school_year"].values()) == programs["rows"]
    assert "<table>" in (full_extract.out / "codebook.html").read_text()
    readme = (full_extract.out / "README.txt").read_text()
    assert (
        "DSA-TEST-0001" in readme
        and "2027-06-30" in readme
        and "Use only for the approved study." in readme
    )
    assert not (full_extract.out / "crosswalk.parquet").exists()
    assert full_extract.crosswalk.parent == full_extract.out.parent


def test_stata_and_spss_read_back_with_labels(full_extract: ExtractResult) -> None:
    for suffix, read in ((".dta", pyreadstat.read_dta), (".sav", pyreadstat.read_sav)):
        df, meta = read(str(full_extract.out / f"programs{suffix}"))
        assert meta.variable_value_labels["special_education"] == {1: "Yes", 0: "No"}
        assert (
            dict(zip(meta.column_names, meta.column_labels, strict=True))["rid"]
            == "Research ID (RID)"
        )
        assert len(df) == full_extract.rows["programs"]
        df, meta = read(str(full_extract.out / f"assessment{suffix}"))
        assert meta.variable_value_labels["performance_level"][3] == "Level 3"
    df, _meta = pyreadstat.read_xport(str(full_extract.out / "discipline.xpt"))
    assert len(df) == full_extract.rows["discipline"]


def test_risk_report(full_extract: ExtractResult, source: Path, key: bytes, tmp_path: Path) -> None:
    report = json.loads((full_extract.out / "risk_report.json").read_text())
    enrollment = report["files"]["enrollment"]
    assert enrollment["records"] == full_extract.rows["enrollment"]
    assert (
        0
        < enrollment["records_in_groups_under_5"]
        <= enrollment["records_in_groups_under_10"]
        <= enrollment["records"]
    )
    # Coarsening can only merge groups, so fewer records sit in small ones.
    coarse = spec_module.parse(
        every_element_spec(
            formats=["parquet"],
            risk={
                "quasi_identifiers": [
                    "school_code",
                    "grade_level",
                    "gender",
                    "race_ethnicity",
                    "birth_year",
                ],
                "coarsen": ["race", "birth_year", "school"],
            },
        )
    )
    fine = spec_module.parse(
        every_element_spec(
            formats=["parquet"],
            risk={
                "quasi_identifiers": [
                    "school_code",
                    "grade_level",
                    "gender",
                    "race_ethnicity",
                    "birth_year",
                ]
            },
        )
    )
    a = run_extract(fine, source, tmp_path / "fine", key).risk
    b = run_extract(coarse, source, tmp_path / "coarse", key).risk
    # The report states the risk of what is delivered: naming coarsenings does not coarsen
    # the package, so its delivered figures are the uncoarsened ones ...
    assert b["files"] == a["files"] and b["groups"] == a["groups"]
    assert b["coarsening_applied"] == [] and "coarsened_alternative" not in a
    # ... and the coarser release is reported beside them: it can only merge groups.
    alt = b["coarsened_alternative"]["files"]["enrollment"]
    assert alt["records_in_groups_under_5"] < a["files"]["enrollment"]["records_in_groups_under_5"]
    assert set(b["coarsened_alternative"]["coarsening"]) == {"race", "birth_year", "school"}


def test_risk_above_threshold_is_flagged(source: Path, key: bytes, tmp_path: Path) -> None:
    qis = ["school_code", "grade_level", "gender", "race_ethnicity", "birth_year"]
    strict = spec_module.parse(
        every_element_spec(
            formats=["parquet"],
            files={
                "student": ["gender", "race_ethnicity", "birth_year"],
                "enrollment": ["school_code", "grade_level"],
            },
            risk={"quasi_identifiers": qis, "threshold": {"k": 3, "max_share": 0.0}},
        )
    )
    report = run_extract(strict, source, tmp_path / "strict", key).risk
    assert report["threshold"] == {"k": 3, "max_share": 0.0}
    assert report["k_thresholds"] == [3, 5, 10]
    assert report["exceeds_threshold"] is True
    assert any(w.startswith("enrollment: ") and "under 3" in w for w in report["warnings"])
    lax = spec_module.parse(
        every_element_spec(
            formats=["parquet"],
            files={"student": ["gender"], "enrollment": ["grade_level"]},
            risk={"quasi_identifiers": ["gender"], "threshold": {"max_share": 1}},
        )
    )
    report = run_extract(lax, source, tmp_path / "lax", key).risk
    assert report["exceeds_threshold"] is False and report["warnings"] == []


def test_rerun_with_same_crosswalk_is_byte_identical(
    full_extract: ExtractResult, source: Path, key: bytes, tmp_path: Path
) -> None:
    spec = spec_module.parse(every_element_spec())
    again = run_extract(
        spec,
        source,
        tmp_path / "pkg",
        key,
        reuse_crosswalk=full_extract.crosswalk,
        crosswalk_out=tmp_path / "xw.enc",
    )
    assert (again.out / "SHA256SUMS").read_text() == (full_extract.out / "SHA256SUMS").read_text()


def test_streamed_writers_give_the_whole_file_writers_bytes(
    full_extract: ExtractResult, tmp_path: Path
) -> None:
    """The .dta, .sav and .xpt written a slice at a time (bounded memory) are byte-for-byte
    the files pyreadstat writes from the whole frame, for every file of the extract."""
    import datetime as dt

    from datashare.extract import formats

    when = dt.date(2000, 1, 1)
    for fmt in ("dta", "sav", "xpt"):
        for f in full_extract.rows:
            parquet = full_extract.out / f"{f}.parquet"
            whole, sliced = tmp_path / "whole" / f"{f}.{fmt}", tmp_path / "sliced" / f"{f}.{fmt}"
            whole.parent.mkdir(exist_ok=True)
            sliced.parent.mkdir(exist_ok=True)
            formats.write_extra(fmt, parquet, whole, f"label {f}", when, streamed=False)
            formats.write_streamed(fmt, parquet, sliced, file_label=f"label {f}", chunk_rows=997)
            formats.pin_timestamps(fmt, sliced, when)
            assert sliced.read_bytes() == whole.read_bytes(), (fmt, f)
