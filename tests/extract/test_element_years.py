"""Each element only for the years the agreement approves for it (``element_years``).

An agreement approves gender for every year but birth year only for 2021-22, days absent only
for 2019-20, homelessness only for 2020-21: the package holds exactly those element-years, and
blanks (documented in the codebook and README) where the union of the years would have
disclosed more. Malformed per-element years are refused with one clear line."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from datashare.extract import spec as spec_module
from datashare.extract.api import ExtractResult, run_extract
from datashare.extract.errors import ExtractError

from .conftest import crosswalk_map
from .test_bad_input import _run, _small

YEARS = ["2019-20", "2020-21", "2021-22"]
OWN_YEARS = {"days_absent": ["2019-20"], "birth_year": ["2021-22"], "homeless": ["2020-21"]}


def _spec(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "agreement": "DSA-TEST-YEARS",
        "school_years": YEARS,
        "element_years": OWN_YEARS,
        "files": {
            "student": ["gender", "birth_year"],
            "attendance": ["days_enrolled", "days_absent"],
            "programs": ["homeless"],
        },
        "formats": ["parquet", "csv", "sav"],
        "risk": {"quasi_identifiers": ["gender", "birth_year"]},
    }
    data.update(changes)
    return data


@pytest.fixture(scope="module")
def cuts(
    source: Path, key: bytes, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ExtractResult, ExtractResult]:
    """The package with each element's own years, and (same crosswalk) the union of the years."""
    folder = tmp_path_factory.mktemp("years")
    own = run_extract(spec_module.parse(_spec()), source, folder / "own", key)
    union = run_extract(
        spec_module.parse(_spec(element_years=None)), source, folder / "union", key,
        reuse_crosswalk=own.crosswalk, crosswalk_out=folder / "union.enc",
    )  # fmt: skip
    return own, union


def _rows(package: Path, file: str) -> list[dict[str, Any]]:
    return pq.read_table(package / f"{file}.parquet").to_pylist()


def test_a_yearly_element_is_delivered_only_in_its_own_years(
    cuts: tuple[ExtractResult, ExtractResult],
) -> None:
    own, union = cuts
    rows, wide = _rows(own.out, "attendance"), _rows(union.out, "attendance")
    assert {r["school_year"] for r in rows} == set(YEARS)  # days_enrolled has every year
    assert len(rows) == len(wide)
    for mine, theirs in zip(rows, wide, strict=True):
        assert (mine["rid"], mine["school_year"], mine["days_enrolled"]) == (
            theirs["rid"],
            theirs["school_year"],
            theirs["days_enrolled"],
        )
        assert mine["days_absent"] == (
            theirs["days_absent"] if mine["school_year"] == "2019-20" else None
        )
    # The union would have disclosed days absent for 2020-21 and 2021-22.
    assert any(r["days_absent"] is not None for r in wide if r["school_year"] != "2019-20")
    assert any(r["days_absent"] is not None for r in rows)


def test_a_file_has_no_row_in_a_year_none_of_its_elements_is_approved_for(
    cuts: tuple[ExtractResult, ExtractResult],
) -> None:
    own, union = cuts
    rows = _rows(own.out, "programs")
    assert rows and {r["school_year"] for r in rows} == {"2020-21"}
    assert rows == [r for r in _rows(union.out, "programs") if r["school_year"] == "2020-21"]
    assert own.rows["programs"] < union.rows["programs"]


def test_a_demographic_element_is_delivered_only_for_the_students_of_its_years(
    cuts: tuple[ExtractResult, ExtractResult], source: Path, key: bytes
) -> None:
    own, union = cuts
    rid_of = crosswalk_map(own.crosswalk, key, "DSA-TEST-YEARS")
    # The students with a record in 2021-22 in enrollment or attendance (programs: only 2020-21).
    import pyarrow.compute as pc

    keys: set[int] = set()
    for table in ("enrollment", "attendance"):
        t = pq.read_table(source / f"{table}.parquet", columns=["student_key", "school_year"])
        keys |= set(
            t.filter(pc.equal(t.column("school_year"), 2022)).column("student_key").to_pylist()
        )
    of_2022 = {rid_of[k] for k in keys if k in rid_of}
    rows, wide = _rows(own.out, "student"), _rows(union.out, "student")
    assert [r["rid"] for r in rows] == [r["rid"] for r in wide]
    assert 0 < len(of_2022) < len(rows)
    for mine, theirs in zip(rows, wide, strict=True):
        assert mine["gender"] == theirs["gender"]
        assert mine["birth_year"] == (theirs["birth_year"] if mine["rid"] in of_2022 else None)


def test_every_format_carries_the_blanks_and_the_codebook_and_readme_say_why(
    cuts: tuple[ExtractResult, ExtractResult],
) -> None:
    own, _ = cuts
    with (own.out / "attendance.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["school_year"] for r in rows if r["days_absent"] != ""} == {"2019-20"}
    pyreadstat = pytest.importorskip("pyreadstat")
    sav, _ = pyreadstat.read_sav(str(own.out / "attendance.sav"))
    assert set(sav.loc[sav["days_absent"].notna(), "school_year"]) == {"2019-20"}

    book = json.loads((own.out / "codebook.json").read_text())
    assert book["school_years"] == YEARS and book["element_years"] == OWN_YEARS
    columns = {c["element"]: c for f in book["files"] for c in f["columns"]}
    assert (
        columns["days_absent"]["years"] == ["2019-20"]
        and columns["days_enrolled"]["years"] == YEARS
    )
    assert columns["birth_year"]["years"] == ["2021-22"] and columns["gender"]["years"] == YEARS
    assert "blank" in book["blank_outside_years"]
    assert "its cell is blank" in (own.out / "codebook.html").read_text()
    assert "its cell is blank" in " ".join((own.out / "README.txt").read_text().split())
    manifest = json.loads((own.out / "manifest.json").read_text())
    assert manifest["files"]["attendance"]["element_years"] == {"days_absent": ["2019-20"]}


def test_the_same_years_for_every_element_is_the_plain_extract() -> None:
    spec = spec_module.parse(_spec(element_years={"days_absent": YEARS}))
    assert spec.element_years == {} and spec.file_years("attendance") == [2020, 2021, 2022]


@pytest.mark.parametrize(
    ("element_years", "message"),
    [
        (["2019-20"], "element_years must map an element to its school years"),
        (
            {"gpa": ["2019-20"]},
            "element_years.gpa: 'gpa' is not an element of this extract's files",
        ),
        (
            {"days_absent": ["2018-19"]},
            "element_years.days_absent: 2018-19 is not one of the spec's school_years",
        ),
        (
            {"days_absent": ["2019/20"]},
            "element_years.days_absent: school year '2019/20' is not of the form 2009-10",
        ),
        ({"days_absent": []}, "element_years.days_absent must be a list like"),
        (
            {"days_absent": {"from": "2021-22", "to": "2019-20"}},
            "element_years.days_absent: 2019-20 is before 2021-22",
        ),
        ({"days_absent": {"from": "2019-20"}}, "element_years.days_absent needs 'to'"),
        (
            {"days_absent": {"from": "2019-20", "to": "2020-21", "step": 1}},
            "unknown key element_years.days_absent.'step'",
        ),
        (
            {
                e: ["2019-20"]
                for e in ("gender", "birth_year", "days_enrolled", "days_absent", "homeless")
            },
            "school_years: 2020-21 is in element_years of no element",
        ),
    ],
)
def test_malformed_per_element_years_are_refused_with_one_clear_line(
    element_years: Any, message: str
) -> None:
    with pytest.raises(ExtractError) as caught:
        spec_module.parse(_spec(element_years=element_years))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_command_line_refuses_them_before_writing_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path
) -> None:
    spec = _small(element_years={"days_absent": ["2020-21"]})
    assert "2020-21 is not one of the spec's school_years" in _run(capsys, tmp_path, source, spec)
