"""A ten-student source small enough to count by hand (see test_build.py for the tallies)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

FLAGS = ("special_education", "section_504", "english_learner", "migrant", "homeless",
         "foster_care", "highly_capable")


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    pq.write_table(pa.Table.from_pylist(rows), folder / f"{name}.parquet")


@pytest.fixture
def micro_source(tmp_path: Path) -> Path:
    src = tmp_path / "micro"
    src.mkdir()
    students = {1: ("F", "WH"), 2: ("M", "HI"), 3: ("F", "AS"), 4: ("M", "WH"), 5: ("X", "WH"),
                6: ("F", "BL"), 7: ("M", "WH"), 8: ("F", "HI"), 9: ("M", "WH"), 10: ("F", "WH")}
    _write(src, "students", [{"student_key": k, "gender": g, "race_ethnicity": r}
                             for k, (g, r) in students.items()])
    _write(src, "districts", [{"district_code": "11111", "district_name": "North"},
                              {"district_code": "22222", "district_name": "South"}])
    _write(src, "schools", [{"school_code": "1101", "district_code": "11111", "school_name": "A"},
                            {"school_code": "1102", "district_code": "11111", "school_name": "B"},
                            {"school_code": "2201", "district_code": "22222", "school_name": "C"}])
    # (year, student, district, school, grade, exit reason)
    enrolled = [
        (2025, 1, "11111", "1101", "03", None), (2025, 2, "11111", "1101", "03", None),
        (2025, 3, "11111", "1102", "04", None), (2025, 4, "22222", "2201", "03", None),
        (2025, 5, "22222", "2201", "09", "D"), (2025, 6, "22222", "2201", "09", None),
        (2025, 7, "11111", "1102", "12", "G"), (2025, 8, "22222", "2201", "12", None),
        (2025, 10, "11111", "1102", "12", "G"),
        (2024, 9, "11111", "1101", "11", "T"), (2024, 10, "11111", "1102", "12", None),
    ]
    _write(src, "enrollment", [
        {"school_year": y, "student_key": k, "district_code": d, "school_code": s,
         "grade_level": g, "exit_reason": x} for y, k, d, s, g, x in enrolled])
    _write(src, "programs", [
        {"school_year": y, "student_key": k, "low_income": k in (1, 2, 5),
         **{f: (f == "special_education" and k == 2) for f in FLAGS}}
        for y, k, *_ in enrolled])
    # (student, subject, grade, level)
    tests = [(1, "ELA", "03", 3), (2, "ELA", "03", 2), (4, "ELA", "03", 4), (1, "Math", "03", 1),
             (3, "ELA", "04", 3)]
    _write(src, "assessment", [
        {"school_year": 2025, "student_key": k, "test_subject": s, "tested_grade": g,
         "performance_level": lv} for k, s, g, lv in tests])
    days = {1: (180, 20), 2: (180, 5), 3: (100, 10), 4: (80, 40)}
    _write(src, "attendance", [
        {"school_year": 2025, "student_key": k, "days_enrolled": days.get(k, (180, 0))[0],
         "days_absent": days.get(k, (180, 0))[1]} for y, k, *_ in enrolled if y == 2025])
    _write(src, "discipline", [{"school_year": 2025, "student_key": k} for k in (6, 6, 2)])
    _write(src, "outcomes", [
        {"school_year": 2025, "student_key": 7, "cohort_year": 2025, "outcome": "Graduated"},
        {"school_year": 2025, "student_key": 8, "cohort_year": 2025, "outcome": "Continuing"},
        {"school_year": 2025, "student_key": 9, "cohort_year": 2025, "outcome": "Transferred out"},
        {"school_year": 2024, "student_key": 10, "cohort_year": 2024, "outcome": "Continuing"},
    ])
    return src
