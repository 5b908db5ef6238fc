"""A known gap of the disclosure engine (issue 12, left open): on some count tables the
suppressor's own label-aware proof passes while the publisher-side audit from the published
file alone (`audit_table`) fails, so the portal refuses to publish them (fail-safe). This test
records one such table; it turns green when the engine and its audit agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from datashare.aggregate.build import TableRequest, build
from datashare.aggregate.publish import suppress
from datashare.aggregate.sample import write_sample


@pytest.mark.xfail(reason="issue 12: publisher-side audit disagrees with the suppressor on "
                          "this enrollment table; the portal refuses to publish it", strict=False)
def test_the_enrollment_table_of_sample_seed_7_passes_both_audits(tmp_path: Path) -> None:
    src = write_sample(tmp_path / "src", districts=2, schools_per_district=2, students=500, seed=7)
    published = suppress(build(src, TableRequest("enrollment", 2025)))
    assert published.certificate["passed"]
