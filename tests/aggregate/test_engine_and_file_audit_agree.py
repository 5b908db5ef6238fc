"""The suppressor's own label-aware proof and the publisher-side audit from the published file
alone (`audit_table`) agree (issue 12). The seed-7 enrollment table once failed the file
audit: the engine published, as "derivable", primaries the labels alone determine, and the
file audit then read them as complements (>= 10) and found the labels contradictory."""

from __future__ import annotations

from pathlib import Path

import pytest

from datashare.aggregate.build import TableRequest, build
from datashare.aggregate.publish import suppress
from datashare.aggregate.sample import write_sample
from datashare.disclosure import model


def test_the_enrollment_table_of_sample_seed_7_passes_both_audits(tmp_path: Path) -> None:
    src = write_sample(tmp_path / "src", districts=2, schools_per_district=2, students=500, seed=7)
    published = suppress(build(src, TableRequest("enrollment", 2025)))
    assert published.certificate["passed"]
    part = published.certificate["parts"][0]
    assert part["suppressor_audit"]["passed"] and part["independent_audit"]["passed"]


def test_a_rate_table_too_big_to_refine_goals_up_front_passes_both_audits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Statewide rate tables are above REFINE_MAX_CELLS: the suppressor asks the exact goals of
    # the group sizes its cheap witnesses leave, audit-table of those that fail the estimate.
    monkeypatch.setattr(model, "REFINE_MAX_CELLS", 50)
    src = write_sample(tmp_path / "src", districts=2, schools_per_district=2, students=200,
                       seed=11)
    published = suppress(build(src, TableRequest("dropout", 2025)))
    part = published.certificate["parts"][0]
    assert part["suppressor_audit"]["passed"] and part["independent_audit"]["passed"]
    assert published.certificate["passed"]
