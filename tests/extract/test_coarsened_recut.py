"""A re-cut with coarsening delivers the coarsened alternative the risk report described: the
delivered values are coarsened (race's smallest categories to OT, birth years to three-year
cohorts, school codes to districts) in every format, the codebook says so, and the re-cut's
delivered risk is exactly the alternative's risk in the first cut's report."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat
import pytest

from datashare.extract import spec as spec_module
from datashare.extract.api import run_extract
from datashare.extract.errors import ExtractError

QIS = ["school_code", "grade_level", "gender", "race_ethnicity", "birth_year"]


def _spec(apply: bool) -> dict[str, object]:
    return {
        "agreement": "DSA-TEST-0009",
        "school_years": {"from": "2018-19", "to": "2020-21"},
        "files": {
            "student": ["gender", "race_ethnicity", "birth_year"],
            "enrollment": ["school_code", "grade_level"],
        },
        "formats": ["parquet", "csv", "sav"],
        "risk": {
            "quasi_identifiers": QIS,
            "coarsen": ["race", "birth_year", "school"],
            "apply_coarsening": apply,
        },
    }


def test_the_recut_delivers_the_alternative_the_steward_reviewed(source: Path, key: bytes, tmp_path: Path) -> None:
    first = run_extract(spec_module.parse(_spec(False)), source, tmp_path / "first", key)
    alternative = first.risk["coarsened_alternative"]
    recut = run_extract(
        spec_module.parse(_spec(True)), source, tmp_path / "recut", key, reuse_crosswalk=first.crosswalk,
        crosswalk_out=tmp_path / "recut.xw",
    )  # fmt: skip
    student = pq.read_table(recut.out / "student.parquet")
    assert not set(student.column("race_ethnicity").to_pylist()) & {"AI", "NH"}
    assert "OT" in set(student.column("race_ethnicity").to_pylist())
    assert all(y % 3 == 0 for y in student.column("birth_year").drop_null().to_pylist())
    schools = pq.read_table(source / "schools.parquet")
    districts = set(pc.unique(schools.column("district_code").cast("string")).to_pylist())
    assert set(pq.read_table(recut.out / "enrollment.parquet").column("school_code").to_pylist()) <= districts
    # Every format is derived from the coarsened values.
    df, _meta = pyreadstat.read_sav(str(recut.out / "student.sav"))
    assert set(df["race_ethnicity"]) <= {"AS", "BL", "HI", "TW", "WH", "OT", ""}
    # The delivered risk is the alternative the first report described; no alternative left.
    report = json.loads((recut.out / "risk_report.json").read_text())
    assert report["coarsening_applied"] == ["race", "birth_year", "school"]
    assert "coarsened_alternative" not in report
    assert report["files"] == alternative["files"]
    book = json.loads((recut.out / "codebook.json").read_text())
    columns = {c["element"]: c for f in book["files"] for c in f["columns"]}
    assert "three-year" in columns["birth_year"]["coarsened"] and "coarsened" not in columns["gender"]


def test_applying_coarsening_needs_coarsenings() -> None:
    data = _spec(True)
    data["risk"] = {"quasi_identifiers": QIS, "apply_coarsening": True}
    with pytest.raises(ExtractError, match="needs the coarsenings"):
        spec_module.parse(data)
