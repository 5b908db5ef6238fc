"""Student groups: each partition of "All Students" the source supports, as data.

Every partition's labels cover every student exactly once (a boolean flag gives the group and
its complement), so each partition sums to All Students, which the disclosure engine checks.
Military-family status is reported by OSPI but the synthetic source has no such column, so it
is not offered; a partition whose column is missing (null) in a year (foster care before
2016-17) is left out of that year's tables.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_STUDENTS = "All Students"


@dataclass(frozen=True)
class Partition:
    key: str  # stable identifier used in requests and URLs
    name: str  # the partition's heading, also the disclosure spec's partition name
    sql: str  # a SQL expression over the profile row (students + programs columns): the label
    labels: tuple[str, ...]
    column: str  # the source column whose nulls make the partition unavailable


def _flag(key: str, name: str, column: str, yes: str, no: str) -> Partition:
    return Partition(key, name, f"CASE WHEN {column} THEN '{yes}' ELSE '{no}' END",
                     (yes, no), column)


RACE_LABELS = {
    "AI": "American Indian/Alaskan Native",
    "AS": "Asian",
    "BL": "Black/African American",
    "HI": "Hispanic/Latino of any race(s)",
    "NH": "Native Hawaiian/Other Pacific Islander",
    "TW": "Two or More Races",
    "WH": "White",
}
GENDER_LABELS = {"F": "Female", "M": "Male", "X": "Gender X"}


def _case(column: str, labels: dict[str, str]) -> str:
    arms = " ".join(f"WHEN '{code}' THEN '{label}'" for code, label in labels.items())
    return f"CASE {column} {arms} END"


PARTITIONS: tuple[Partition, ...] = (
    Partition("gender", "Gender", _case("gender", GENDER_LABELS),
              tuple(GENDER_LABELS.values()), "gender"),
    Partition("race", "Race/Ethnicity", _case("race_ethnicity", RACE_LABELS),
              tuple(RACE_LABELS.values()), "race_ethnicity"),
    _flag("low_income", "Low Income", "low_income", "Low-Income", "Non-Low Income"),
    _flag("disability", "Disability", "special_education",
          "Students with Disabilities", "Students without Disabilities"),
    _flag("english_learner", "English Learner", "english_learner",
          "English Language Learners", "Non-English Language Learners"),
    _flag("homeless", "Homeless", "homeless", "Homeless", "Non-Homeless"),
    _flag("foster", "Foster Care", "foster_care", "Foster Care", "Non-Foster Care"),
    _flag("migrant", "Migrant", "migrant", "Migrant", "Non-Migrant"),
    _flag("section_504", "Section 504", "section_504", "Section 504", "Non-Section 504"),
    _flag("highly_capable", "Highly Capable", "highly_capable",
          "Highly Capable", "Non-Highly Capable"),
)
BY_KEY = {p.key: p for p in PARTITIONS}
# OSPI reports military-family status; the source has no column for it (see module docstring).
UNSUPPORTED = {"military": "Military Parent"}


def partition(key: str) -> Partition:
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(
            f"unknown student group {key!r} (choose from {', '.join(BY_KEY)})"
        ) from None
