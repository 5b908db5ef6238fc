"""The builder's numbers against a ten-student source counted by hand (conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from datashare.aggregate import definitions
from datashare.aggregate.build import BuildError, TableRequest, build


def cell(frame: pd.DataFrame, org: str, group: str = "All Students", grade: str | None = None,
         **extra: str) -> dict:
    rows = frame[(frame["organization"] == org) & (frame["student_group"] == group)]
    if grade is not None:
        rows = rows[rows["grade"] == grade]
    for column, value in extra.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def test_enrollment_counts_each_student_once_per_organization_group_and_grade(
        micro_source: Path) -> None:
    frame = build(micro_source, TableRequest("enrollment", 2025)).frame
    assert cell(frame, "WA", grade="All Grades")["count"] == 9
    assert cell(frame, "11111", grade="All Grades")["count"] == 5
    assert cell(frame, "22222", grade="All Grades")["count"] == 4
    assert cell(frame, "1101", grade="All Grades")["count"] == 2
    assert cell(frame, "1102", grade="All Grades")["count"] == 3
    assert cell(frame, "WA", "Female", "All Grades")["count"] == 5
    assert cell(frame, "WA", grade="12")["count"] == 3
    assert cell(frame, "WA", "Low-Income", "All Grades")["count"] == 3
    assert cell(frame, "WA", "Students with Disabilities", "03")["count"] == 1
    assert cell(frame, "WA", "Hispanic/Latino of any race(s)", "All Grades")["count"] == 2
    row = cell(frame, "1102", grade="All Grades")
    assert (row["organization_level"], row["organization_name"], row["school_year"]) == (
        "school", "B", "2024-25")


def test_enrollment_spec_is_the_hierarchy_the_rows_follow(micro_source: Path) -> None:
    part = build(micro_source, TableRequest("enrollment", 2025)).parts[0]
    assert part.spec["organization"] == {"WA": {"districts": ["11111", "22222"]},
                                         "11111": {"schools": ["1101", "1102"]},
                                         "22222": {"schools": ["2201"]}}
    assert part.spec["grade"] == {"All Grades": {"grades": ["03", "04", "09", "12"]}}
    partitions = part.spec["student_group"]["All Students"]
    assert partitions["Gender"] == ["Female", "Male", "Gender X"]
    assert len(partitions) == 10  # every partition the source supports; no military family
    # every partition sums to All Students in every organization and grade
    frame = part.frame
    for _key, rows in frame.groupby(["organization", "grade"]):
        total = rows.loc[rows["student_group"] == "All Students", "count"].sum()
        for name, labels in partitions.items():
            assert rows.loc[rows["student_group"].isin(labels), "count"].sum() == total, name


def test_assessment_participation_and_proficiency_per_subject(micro_source: Path) -> None:
    built = build(micro_source, TableRequest("assessment_participation", 2025))
    assert [p.slice for p in built.parts] == ["ELA", "Math"]
    frame = built.frame
    ela3 = cell(frame, "WA", grade="03", subject="ELA")
    math3 = cell(frame, "WA", grade="03", subject="Math")
    assert (ela3["numerator"], ela3["denominator"]) == (3, 3)
    assert (math3["numerator"], math3["denominator"]) == (1, 3)
    prof = build(micro_source, TableRequest("assessment_proficiency", 2025)).frame
    ela = cell(prof, "WA", grade="All Grades", subject="ELA")
    assert (ela["numerator"], ela["denominator"]) == (3, 4)
    math = cell(prof, "WA", grade="All Grades", subject="Math")
    assert (math["numerator"], math["denominator"]) == (0, 1)


def test_graduation_cohorts_leave_out_transfers_and_count_late_graduates(
        micro_source: Path) -> None:
    four = build(micro_source, TableRequest("graduation_4yr", 2025)).frame
    assert "grade" not in four.columns
    assert (cell(four, "WA")["numerator"], cell(four, "WA")["denominator"]) == (1, 2)
    assert (cell(four, "11111")["numerator"], cell(four, "11111")["denominator"]) == (1, 1)
    assert (cell(four, "22222")["numerator"], cell(four, "22222")["denominator"]) == (0, 1)
    five = build(micro_source, TableRequest("graduation_5yr", 2025)).frame
    assert (cell(five, "WA")["numerator"], cell(five, "WA")["denominator"]) == (1, 1)
    assert cell(five, "1102")["school_year"] == "2024-25"


def test_dropout_chronic_absence_and_discipline_rates(micro_source: Path) -> None:
    drop = cell(build(micro_source, TableRequest("dropout", 2025)).frame, "WA",
                grade="All Grades")
    assert (drop["numerator"], drop["denominator"]) == (1, 5)
    chronic = cell(build(micro_source, TableRequest("chronic_absence", 2025)).frame, "WA",
                   grade="All Grades")
    assert (chronic["numerator"], chronic["denominator"]) == (2, 8)
    disc = cell(build(micro_source, TableRequest("discipline", 2025)).frame, "WA",
                grade="All Grades")
    assert (disc["numerator"], disc["denominator"]) == (2, 9)


def test_a_custom_table_narrows_level_groups_grades_and_district(micro_source: Path) -> None:
    req = TableRequest("enrollment", 2025, level="school", groups=("gender",),
                       district="11111", grades=("03", "12"))
    part = build(micro_source, req).parts[0]
    assert set(part.frame["organization"]) == {"11111", "1101", "1102"}
    assert set(part.frame["student_group"]) <= {"All Students", "Female", "Male", "Gender X"}
    assert cell(part.frame, "11111", grade="All Grades")["count"] == 4
    assert part.spec["organization"] == {"11111": {"schools": ["1101", "1102"]}}
    state = build(micro_source, TableRequest("enrollment", 2025, level="state",
                                             groups=("low_income",), by_grade=False)).frame
    assert list(state["count"]) == [9, 3, 6]


@pytest.mark.parametrize(("req", "message"), [
    (TableRequest("nope", 2025), "unknown table"),
    (TableRequest("enrollment", 2012), "not in the source"),
    (TableRequest("enrollment", 2025, level="county"), "unknown organization level"),
    (TableRequest("enrollment", 2025, groups=("military",)), "unknown student group"),
    (TableRequest("enrollment", 2025, grades=("13",)), "unknown grade"),
    (TableRequest("enrollment", 2025, level="state", groups=(), by_grade=False), "single cell"),
])
def test_bad_requests_are_refused_with_one_line(micro_source: Path, req: TableRequest,
                                                message: str) -> None:
    with pytest.raises(BuildError, match=message):
        build(micro_source, req)


def test_every_standard_table_is_defined_as_data() -> None:
    keys = [t.key for t in definitions.TABLES]
    assert keys == ["enrollment", "assessment_participation", "assessment_proficiency",
                    "graduation_4yr", "graduation_5yr", "dropout", "chronic_absence",
                    "discipline"]
    assert definitions.year_label(2025) == "2024-25"
    assert definitions.parse_year("2024-25") == 2025
    with pytest.raises(ValueError):
        definitions.parse_year("2024-26")
