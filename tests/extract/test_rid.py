"""Research IDs: random, unique, consistent within an extract, unlinkable across extracts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.stats import spearmanr

from datashare.extract import kernels, rid
from datashare.extract import spec as spec_module
from datashare.extract.api import ExtractResult, run_extract

from .conftest import crosswalk_map, every_element_spec

YEARLY = ["enrollment", "programs", "assessment", "courses", "attendance", "discipline", "outcomes"]


def test_rids_unique_and_well_formed(full_extract: ExtractResult) -> None:
    students = pq.read_table(full_extract.out / "student.parquet").column("rid").to_pylist()
    assert len(students) == len(set(students)) == full_extract.students
    assert all(len(r) == 12 and set(r) <= set("BCDFGHJKLMNPQRSTVWXZ") for r in students)


def test_rids_consistent_across_files_and_years(
    full_extract: ExtractResult, source: Path, key: bytes
) -> None:
    """Every record's RID maps (through the agency's crosswalk) to the student whose source
    record it is: same student, same RID, in every file and year."""
    xw = crosswalk_map(full_extract.crosswalk, key, "DSA-TEST-0001")
    back = {v: k for k, v in xw.items()}
    src = pq.read_table(
        source / "enrollment.parquet",
        columns=["student_key", "school_year", "school_code", "grade_level"],
    ).to_pylist()
    truth = {
        (r["student_key"], f"{r['school_year'] - 1}-{r['school_year'] % 100:02d}"): (
            r["school_code"],
            r["grade_level"],
        )
        for r in src
    }
    out = pq.read_table(full_extract.out / "enrollment.parquet").to_pylist()
    assert len(out) == len(truth)
    for row in out:
        assert truth[(back[row["rid"]], row["school_year"])] == (
            row["school_code"],
            row["grade_level"],
        )
    student_rids = set(
        pq.read_table(full_extract.out / "student.parquet").column("rid").to_pylist()
    )
    for f in YEARLY:
        rids = set(
            pq.read_table(full_extract.out / f"{f}.parquet", columns=["rid"]).column(0).to_pylist()
        )
        assert rids <= student_rids
    # A student enrolled in several years keeps one RID in all of them.
    years_per_rid: dict[str, set[str]] = {}
    for row in out:
        years_per_rid.setdefault(row["rid"], set()).add(row["school_year"])
    assert max(len(v) for v in years_per_rid.values()) > 5


def test_rids_have_no_rank_correlation_with_source_ids(
    full_extract: ExtractResult, source: Path, key: bytes
) -> None:
    xw = crosswalk_map(full_extract.crosswalk, key, "DSA-TEST-0001")
    st = pq.read_table(
        source / "students.parquet", columns=["student_key", "state_student_id", "birth_date"]
    ).to_pylist()
    rows = [
        (
            r["student_key"],
            int(r["state_student_id"]),
            r["birth_date"].toordinal(),
            xw[r["student_key"]],
        )
        for r in st
        if r["student_key"] in xw
    ]
    n = len(rows)
    assert n > 1000
    rid_rank = np.argsort(np.argsort([r[3] for r in rows]))
    for i, what in enumerate(["student key", "state student ID", "birth date"]):
        rho, _p = spearmanr([r[i] for r in rows], rid_rank)
        # Under independence rho ~ N(0, 1/sqrt(n)); 5 standard errors: a false alarm ~1e-6.
        assert abs(rho) < 5 / np.sqrt(n), f"RIDs rank-correlate with the {what} (rho={rho:.3f})"


def test_two_extracts_share_no_rid_mapping(
    full_extract: ExtractResult, source: Path, key: bytes, tmp_path: Path
) -> None:
    spec = spec_module.parse(every_element_spec(formats=["parquet"], risk={}))
    other = run_extract(spec, source, tmp_path / "again", key)
    a = crosswalk_map(full_extract.crosswalk, key, "DSA-TEST-0001")
    b = crosswalk_map(other.crosswalk, key, "DSA-TEST-0001")
    assert a.keys() == b.keys()
    assert not any(a[k] == b[k] for k in a)
    assert not set(a.values()) & set(b.values())


def test_amendment_reuses_rids_and_adds_new_students(
    full_extract: ExtractResult, source: Path, key: bytes, tmp_path: Path
) -> None:
    narrow = spec_module.parse(
        every_element_spec(school_years=["2014-15"], formats=["parquet"], risk={})
    )
    first = run_extract(narrow, source, tmp_path / "v1", key)
    wider = spec_module.parse(
        every_element_spec(school_years=["2014-15", "2015-16"], formats=["parquet"], risk={})
    )
    second = run_extract(
        wider,
        source,
        tmp_path / "v2",
        key,
        reuse_crosswalk=first.crosswalk,
        crosswalk_out=tmp_path / "v2.enc",
    )
    a = crosswalk_map(first.crosswalk, key, "DSA-TEST-0001")
    b = crosswalk_map(second.crosswalk, key, "DSA-TEST-0001")
    assert second.reused_rids == len(a)
    assert all(b[k] == v for k, v in a.items())
    assert len(b) > len(a) and len(set(b.values())) == len(b)


def test_draw_unique_redraws_collisions() -> None:
    taken = rid.draw_unique(1000)
    fresh = rid.draw_unique(5000, taken)
    assert len(set(fresh.tolist())) == 5000
    assert not set(fresh.tolist()) & set(taken.tolist())


def test_collisions_are_redrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    real = rid._draw_codes
    monkeypatch.setattr(
        rid, "_draw_codes", lambda n: real(n) % 3000
    )  # a tiny space: many collisions
    codes = rid.draw_unique(2000, taken=np.arange(500, dtype=np.int64))
    assert len(set(codes.tolist())) == 2000
    assert codes.min() >= 500


def test_rid_text_round_trip() -> None:
    assert len(rid.ALPHABET) == kernels.RID_BASE  # the compiled digit loop's constant
    codes = rid.draw_unique(1000)
    text = rid.to_text(codes)
    assert all(len(t) == 12 and set(t) <= set("BCDFGHJKLMNPQRSTVWXZ") for t in text.to_pylist())
    assert (rid.to_codes(text) == codes).all()
    assert rid.to_text(np.array([0, rid.SPACE - 1])).to_pylist() == ["B" * 12, "Z" * 12]


@pytest.mark.parametrize("n", [0, 1])
def test_crosswalk_small_populations(n: int) -> None:
    table, reused = rid.crosswalk(np.arange(n, dtype=np.int64))
    assert table.num_rows == n and reused == 0
