"""Two engines, one result: the same extract through DuckDB and through Spark (local mode)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datashare.extract import spec as spec_module
from datashare.extract.api import run_extract

from .conftest import assert_same_files


@pytest.mark.spark
def test_duckdb_and_spark_give_the_same_content(
    spark: Any, source: Path, key: bytes, tmp_path: Path
) -> None:
    spec = spec_module.parse(
        {
            "agreement": "DSA-TEST-ENGINES",
            "school_years": {"from": "2015-16", "to": "2018-19"},
            "files": {
                "student": ["gender", "race_ethnicity", "birth_year"],
                "enrollment": [
                    "school_code",
                    "grade_level",
                    "entry_date",
                    "exit_date",
                    "exit_reason",
                ],
                "programs": [
                    "special_education",
                    "disability_category",
                    "foster_care",
                    "low_income",
                ],
                "discipline": ["incident_date", "discipline_action", "days_excluded"],
            },
            "formats": ["parquet", "csv", "dta"],
            "risk": {"quasi_identifiers": ["school_code", "grade_level", "gender"]},
        }
    )
    duck = run_extract(spec, source, tmp_path / "duck", key)
    # The same crosswalk, so that the same students carry the same RIDs in both packages.
    sparked = run_extract(
        spec,
        source,
        tmp_path / "spark",
        key,
        engine="spark",
        reuse_crosswalk=duck.crosswalk,
        crosswalk_out=tmp_path / "spark.enc",
        spark_session=spark,
    )
    assert sparked.rows == duck.rows
    assert sparked.students == duck.students
    assert_same_files(duck, sparked, spec.files, ("csv", "dta"))
    assert sparked.risk == duck.risk
    for name in ("codebook.json", "codebook.html", "README.txt", "risk_report.json"):
        assert (duck.out / name).read_bytes() == (sparked.out / name).read_bytes(), name


@pytest.mark.spark
def test_both_engines_deliver_each_element_only_for_its_own_years(
    spark: Any, source: Path, key: bytes, tmp_path: Path
) -> None:
    # Enrollment (the population's file) narrower than the extract: the DuckDB engine collects
    # the population while it reads the files, Spark runs sql.population_sql; same students.
    spec = spec_module.parse(
        {
            "agreement": "DSA-TEST-ENGINE-YEARS",
            "school_years": ["2016-17", "2017-18", "2018-19"],
            "element_years": {
                "grade_level": ["2017-18"],
                "school_code": ["2017-18", "2018-19"],
                "birth_year": ["2016-17"],
                "low_income": ["2018-19"],
            },
            "files": {
                "student": ["gender", "birth_year"],
                "enrollment": ["school_code", "grade_level"],
                "programs": ["low_income"],
                "attendance": ["days_absent"],
            },
            "formats": ["parquet", "csv"],
            "risk": {"quasi_identifiers": ["school_code", "grade_level", "gender"]},
        }
    )
    duck = run_extract(spec, source, tmp_path / "duck", key)
    sparked = run_extract(
        spec, source, tmp_path / "spark", key, engine="spark", reuse_crosswalk=duck.crosswalk,
        crosswalk_out=tmp_path / "spark.enc", spark_session=spark,
    )  # fmt: skip
    assert sparked.students == duck.students and sparked.rows == duck.rows
    assert_same_files(duck, sparked, spec.files, ("csv",))
    assert sparked.risk == duck.risk
