"""One SQL, two engines: the same table from DuckDB and from Spark (local mode), cell for cell,
with the same disclosure spec; so a source that outgrows one machine gives the same tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datashare.aggregate.build import BuildError, TableRequest, build, connect
from datashare.aggregate.sample import write_sample


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("engines") / "src", districts=2,
                        schools_per_district=2, students=300, seed=5)


REQUESTS = [
    TableRequest("enrollment", 2025),  # a count table, every level, group and grade
    TableRequest("assessment_proficiency", 2025),  # one part per subject
    TableRequest("graduation_5yr", 2025),  # the cohort counted where last enrolled
    TableRequest("discipline", 2025, level="school", groups=("gender", "low_income"),
                 district="11111", grades=("09", "10")),  # a custom request's filters
]


@pytest.mark.spark
def test_duckdb_and_spark_build_the_same_tables(spark: Any, source: Path) -> None:
    duck = connect(source)
    sparked = connect(source, engine="spark", session=spark)
    for req in REQUESTS:
        a, b = build(duck, req), build(sparked, req)
        assert a.partitions == b.partitions and len(a.parts) == len(b.parts) > 0
        for x, y in zip(a.parts, b.parts, strict=True):
            assert x.slice == y.slice and x.spec == y.spec
            pd.testing.assert_frame_equal(x.frame, y.frame, check_dtype=False)
            assert len(x.frame) > 10


@pytest.mark.spark
def test_bad_requests_fail_the_same_way_on_spark(spark: Any, source: Path) -> None:
    sparked = connect(source, engine="spark", session=spark)
    with pytest.raises(BuildError, match="not in the source"):
        build(sparked, TableRequest("enrollment", 1999))


def test_an_unknown_engine_is_a_one_line_error(source: Path) -> None:
    with pytest.raises(BuildError, match="unknown engine 'hive'"):
        connect(source, engine="hive")
