"""Fixtures: one small synthetic source and one full extract, shared by the extract tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from datashare import elements
from datashare.extract import keys
from datashare.extract import spec as spec_module
from datashare.extract.api import ExtractResult, run_extract
from datashare.synthetic import generate

ALL_YEARS = {"from": "2009-10", "to": "2024-25"}


def every_element_spec(**overrides: Any) -> dict[str, Any]:
    """A spec asking for every non-identifying element of every file, all years, all formats."""
    files = {
        f.identifier: [
            e.identifier
            for e in elements.elements_in(f.identifier)
            if e.tier != elements.Tier.DIRECT_IDENTIFIER
        ]
        for f in elements.FILES
    }
    data: dict[str, Any] = {
        "agreement": "DSA-TEST-0001",
        "title": "Test study",
        "recipient": "Test University",
        "school_years": ALL_YEARS,
        "files": files,
        "formats": ["parquet", "csv", "dta", "sav", "xpt"],
        "risk": {
            "quasi_identifiers": [
                "school_code",
                "grade_level",
                "gender",
                "race_ethnicity",
                "birth_year",
                "disability_category",
            ]
        },
        "terms": ["Use only for the approved study."],
        "destroy_by": "2027-06-30",
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("source") / "src"
    generate(out, scale=0.001, seed=7)
    return out


@pytest.fixture(scope="session")
def key() -> bytes:
    return bytes(range(32))


@pytest.fixture(scope="session")
def full_extract(
    source: Path, key: bytes, tmp_path_factory: pytest.TempPathFactory
) -> ExtractResult:
    out = tmp_path_factory.mktemp("full") / "pkg"
    return run_extract(spec_module.parse(every_element_spec()), source, out, key)


def crosswalk_map(path: Path, key: bytes, agreement: str) -> dict[int, str]:
    table = keys.decrypt_crosswalk(path, key, agreement)
    return dict(
        zip(table.column("student_key").to_pylist(), table.column("rid").to_pylist(), strict=True)
    )


def assert_same_files(a: ExtractResult, b: ExtractResult, files: Any, byte_formats: tuple[str, ...]) -> None:
    """Two extracts of the same spec and crosswalk hold the same content: per file the same
    column names and types and the same rows in the same order (DuckDB may flag never-null
    columns as required, so the schemas' nullability is not compared), and the same bytes in
    ``byte_formats``."""
    for f in files:
        x = pq.read_table(a.out / f"{f}.parquet")
        y = pq.read_table(b.out / f"{f}.parquet")
        assert [(c.name, c.type) for c in x.schema] == [(c.name, c.type) for c in y.schema], f
        assert x.cast(y.schema).equals(y), f
        for fmt in byte_formats:
            assert (a.out / f"{f}.{fmt}").read_bytes() == (b.out / f"{f}.{fmt}").read_bytes(), f"{f}.{fmt}"
