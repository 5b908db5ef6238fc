"""The data elements of the state's student-level files: the one list everyone reads.

Modelled on Washington's CEDARS longitudinal collection. The web app's data catalog seeds
itself from this list, and the extract engine maps each element to a source column through
its spec (``datashare.extract``), so an element's identifier is a stable public name.

Pure module: no Django, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

# "Data from the 2009-10 school year and later are shared ... data prior to the 2009-10
# school year will not be shared" (agency FAQ): the first year anyone can ask for.
FIRST_SCHOOL_YEAR = 2010  # school years are named by the calendar year they end in

_SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


class SchoolYearError(ValueError):
    """A school year label that is malformed or outside what the agency shares."""


def parse_school_year(label: str) -> int:
    """'2009-10' -> 2010 (the ending year). Raises SchoolYearError with the reason."""
    match = _SCHOOL_YEAR.match(label.strip())
    if not match:
        raise SchoolYearError(f"school year {label!r} is not of the form 2009-10")
    start, end2 = int(match.group(1)), int(match.group(2))
    if (start + 1) % 100 != end2:
        raise SchoolYearError(f"school year {label!r} does not span two consecutive years")
    end = start + 1
    if end < FIRST_SCHOOL_YEAR:
        raise SchoolYearError(
            f"school year {label} is before 2009-10: the agency does not share data before "
            "2009-10 because of significant changes in tests and data structure"
        )
    return end


def format_school_year(end_year: int) -> str:
    """2010 -> '2009-10'."""
    return f"{end_year - 1}-{end_year % 100:02d}"


def school_years(first: int, last: int) -> list[str]:
    """Labels for every school year from ``first`` to ``last`` (ending years), inclusive."""
    return [format_school_year(y) for y in range(first, last + 1)]


class Tier(StrEnum):
    STANDARD = "standard"  # in the standard base file most requestors need
    SENSITIVE = "sensitive"  # justification required, reviewed element by element
    DIRECT_IDENTIFIER = "direct_identifier"  # never in a de-identified request


class DataType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"


@dataclass(frozen=True)
class DataFile:
    identifier: str
    name: str
    description: str
    yearly: bool  # one row per student per school year (False: one row per student)


@dataclass(frozen=True)
class Element:
    identifier: str
    name: str
    file: str
    dtype: DataType
    tier: Tier
    definition: str
    first_year: int = FIRST_SCHOOL_YEAR  # the first school year (ending year) it was collected
    value_labels: dict[str, str] = field(default_factory=dict)

    def available_in(self, end_year: int) -> bool:
        return end_year >= self.first_year


FILES: tuple[DataFile, ...] = (
    DataFile(
        "student", "Student demographics", "One row per student: identity and demographics.", False
    ),
    DataFile("enrollment", "Enrollment", "One row per student, school and school year.", True),
    DataFile(
        "programs", "Program participation", "Program flags per student and school year.", True
    ),
    DataFile("assessment", "State assessments", "One row per student, test and school year.", True),
    DataFile("courses", "High-school courses and grades", "One row per course mark.", True),
    DataFile(
        "attendance", "Attendance", "Days enrolled and absent per student and school year.", True
    ),
    DataFile("discipline", "Discipline", "One row per exclusionary discipline incident.", True),
    DataFile("outcomes", "Graduation and dropout", "Four-year cohort outcome per student.", True),
)

_S, _SE, _D = Tier.STANDARD, Tier.SENSITIVE, Tier.DIRECT_IDENTIFIER
_STR, _INT, _DEC, _BOOL, _DATE = (
    DataType.STRING,
    DataType.INTEGER,
    DataType.DECIMAL,
    DataType.BOOLEAN,
    DataType.DATE,
)

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
GRADE_LABELS = {g: g for g in ["K", *[f"{n:02d}" for n in range(1, 13)]]}
YES_NO = {"true": "Yes", "false": "No"}

ELEMENTS: tuple[Element, ...] = (
    # -- student: direct identifiers a real source holds, then demographics
    Element(
        "legal_first_name",
        "Legal first name",
        "student",
        _STR,
        _D,
        "The student's legal first name.",
    ),
    Element(
        "legal_last_name", "Legal last name", "student", _STR, _D, "The student's legal last name."
    ),
    Element("birth_date", "Date of birth", "student", _DATE, _D, "The student's date of birth."),
    Element(
        "ssn",
        "Social Security number",
        "student",
        _STR,
        _D,
        "The student's Social Security number, where reported.",
    ),
    Element(
        "state_student_id",
        "State student ID (SSID)",
        "student",
        _STR,
        _D,
        "The state-assigned student identifier.",
    ),
    Element(
        "district_student_id",
        "District student ID",
        "enrollment",
        _STR,
        _D,
        "The district-assigned student identifier.",
    ),
    Element(
        "street_address", "Home address", "student", _STR, _D, "The student's home street address."
    ),
    Element(
        "gender",
        "Gender",
        "student",
        _STR,
        _S,
        "Gender as reported by the district; Gender X collected from 2019-20.",
        value_labels=GENDER_LABELS,
    ),
    Element(
        "race_ethnicity",
        "Race/ethnicity",
        "student",
        _STR,
        _S,
        "Federal race/ethnicity category (seven-category reporting).",
        value_labels=RACE_LABELS,
    ),
    Element(
        "birth_year",
        "Birth year",
        "student",
        _INT,
        _SE,
        "Calendar year of birth (a quasi-identifier: justify why age in grade is not enough).",
    ),
    Element(
        "home_language",
        "Primary home language",
        "student",
        _STR,
        _SE,
        "Language spoken most often at home, as a code.",
    ),
    # -- enrollment
    Element(
        "school_year",
        "School year",
        "enrollment",
        _STR,
        _S,
        "School year of the record, e.g. 2019-20.",
    ),
    Element(
        "district_code",
        "District code",
        "enrollment",
        _STR,
        _S,
        "State code of the resident/serving district.",
    ),
    Element("school_code", "School code", "enrollment", _STR, _S, "State code of the school."),
    Element(
        "grade_level",
        "Grade level",
        "enrollment",
        _STR,
        _S,
        "Grade level (K, 01-12).",
        value_labels=GRADE_LABELS,
    ),
    Element(
        "entry_date",
        "School entry date",
        "enrollment",
        _DATE,
        _SE,
        "Date the student entered the school that year.",
    ),
    Element(
        "exit_date",
        "School exit date",
        "enrollment",
        _DATE,
        _SE,
        "Date the student left the school that year, if before year end.",
    ),
    Element(
        "exit_reason",
        "Exit reason",
        "enrollment",
        _STR,
        _S,
        "Why the enrollment ended (transfer, graduated, dropped out, ...).",
    ),
    # -- programs
    Element(
        "special_education",
        "Special education",
        "programs",
        _BOOL,
        _S,
        "Received special education services under an IEP.",
        value_labels=YES_NO,
    ),
    Element(
        "disability_category",
        "Primary disability category",
        "programs",
        _STR,
        _SE,
        "IDEA primary disability category for students with an IEP.",
    ),
    Element(
        "section_504",
        "Section 504",
        "programs",
        _BOOL,
        _SE,
        "Has a Section 504 accommodation plan.",
        value_labels=YES_NO,
    ),
    Element(
        "english_learner",
        "English learner",
        "programs",
        _BOOL,
        _S,
        "Eligible for and served by the Transitional Bilingual Instruction Program.",
        value_labels=YES_NO,
    ),
    Element(
        "title_i",
        "Title I",
        "programs",
        _BOOL,
        _S,
        "Served by a Title I, Part A program.",
        value_labels=YES_NO,
    ),
    Element(
        "migrant",
        "Migrant",
        "programs",
        _BOOL,
        _SE,
        "Eligible for the Migrant Education Program.",
        value_labels=YES_NO,
    ),
    Element(
        "homeless",
        "Homeless",
        "programs",
        _BOOL,
        _SE,
        "Identified as homeless under McKinney-Vento.",
        value_labels=YES_NO,
    ),
    Element(
        "foster_care",
        "Foster care",
        "programs",
        _BOOL,
        _SE,
        "In foster care during the school year.",
        value_labels=YES_NO,
        first_year=2017,
    ),
    Element(
        "highly_capable",
        "Highly capable",
        "programs",
        _BOOL,
        _S,
        "Served by the Highly Capable Program.",
        value_labels=YES_NO,
    ),
    Element(
        "low_income",
        "Low income",
        "programs",
        _BOOL,
        _S,
        "Eligible for free or reduced-price meals.",
        value_labels=YES_NO,
    ),
    # -- assessment
    Element("test_subject", "Test subject", "assessment", _STR, _S, "ELA, Math or Science."),
    Element(
        "tested_grade",
        "Tested grade",
        "assessment",
        _STR,
        _S,
        "Grade of the test taken (03-08, 10 for ELA/Math; 05, 08, 11 for Science).",
    ),
    Element(
        "scale_score", "Scale score", "assessment", _INT, _S, "Scale score on the state assessment."
    ),
    Element(
        "performance_level",
        "Performance level",
        "assessment",
        _INT,
        _S,
        "Achievement level 1-4 (3 and 4 meet standard).",
        value_labels={"1": "Level 1", "2": "Level 2", "3": "Level 3", "4": "Level 4"},
    ),
    # -- courses
    Element(
        "course_code",
        "State course code",
        "courses",
        _STR,
        _S,
        "State course code of a high-school course.",
    ),
    Element(
        "course_subject", "Course subject area", "courses", _STR, _S, "Subject area of the course."
    ),
    Element("term", "Term", "courses", _STR, _S, "Term in which the course was taken."),
    Element("letter_grade", "Letter grade", "courses", _STR, _S, "Final mark (A-F, P)."),
    Element(
        "credits_attempted",
        "Credits attempted",
        "courses",
        _DEC,
        _S,
        "Credits attempted for the course.",
    ),
    Element(
        "credits_earned", "Credits earned", "courses", _DEC, _S, "Credits earned for the course."
    ),
    # -- attendance
    Element(
        "days_enrolled",
        "Days enrolled",
        "attendance",
        _INT,
        _S,
        "School days the student was enrolled.",
    ),
    Element(
        "days_absent",
        "Days absent",
        "attendance",
        _INT,
        _S,
        "Full days absent (excused and unexcused).",
    ),
    # -- discipline
    Element(
        "incident_date", "Incident date", "discipline", _DATE, _SE, "Date of the behavior incident."
    ),
    Element(
        "behavior_type",
        "Behavior type",
        "discipline",
        _STR,
        _SE,
        "State behavior category of the incident.",
    ),
    Element(
        "discipline_action",
        "Discipline action",
        "discipline",
        _STR,
        _SE,
        "In-school suspension, short- or long-term suspension, expulsion.",
    ),
    Element(
        "days_excluded",
        "Days excluded",
        "discipline",
        _DEC,
        _SE,
        "School days excluded as a result of the incident.",
    ),
    # -- outcomes
    Element(
        "cohort_year",
        "Graduation cohort",
        "outcomes",
        _INT,
        _S,
        "Year the student was expected to graduate (entered 9th grade + 4).",
    ),
    Element(
        "outcome",
        "Cohort outcome",
        "outcomes",
        _STR,
        _S,
        "Graduated, dropped out, continuing or transferred out.",
    ),
    Element(
        "outcome_date", "Outcome date", "outcomes", _DATE, _SE, "Date of graduation or dropout."
    ),
)

ELEMENTS_BY_ID: dict[str, Element] = {e.identifier: e for e in ELEMENTS}
FILES_BY_ID: dict[str, DataFile] = {f.identifier: f for f in FILES}
DIRECT_IDENTIFIERS: frozenset[str] = frozenset(
    e.identifier for e in ELEMENTS if e.tier == Tier.DIRECT_IDENTIFIER
)
STANDARD_BASE_FILE: tuple[str, ...] = tuple(
    e.identifier for e in ELEMENTS if e.tier == Tier.STANDARD
)


def effective_tier(identifier: str, catalog_tier: str) -> Tier:
    """The tier that governs an element: the catalog's (administrators may make an element more
    protected), but a direct identifier defined here stays a direct identifier whatever the
    catalog row says. Intake validation and the extract engine both hold to this, so an edited
    catalog row can never let a de-identified request or extract take a direct identifier."""
    if identifier in DIRECT_IDENTIFIERS:
        return Tier.DIRECT_IDENTIFIER
    return Tier(catalog_tier)


def tier_problem(identifier: str, tier: str) -> str | None:
    """Why ``tier`` may not be given to the element in the catalog, or None when it may."""
    if tier not in {t.value for t in Tier}:
        return f"{tier!r} is not a tier"
    if identifier in DIRECT_IDENTIFIERS and tier != Tier.DIRECT_IDENTIFIER:
        return (
            f"{identifier} is a direct identifier (datashare.elements): it is never re-tiered below "
            "direct identifier, so no de-identified request or extract can include it"
        )
    return None


class UnknownElementError(KeyError):
    def __str__(self) -> str:
        return f"unknown data element {self.args[0]!r}"


def get(identifier: str) -> Element:
    try:
        return ELEMENTS_BY_ID[identifier]
    except KeyError:
        raise UnknownElementError(identifier) from None


def elements_in(file: str) -> list[Element]:
    return [e for e in ELEMENTS if e.file == file]


def direct_identifiers_in(identifiers: Iterable[str]) -> list[str]:
    return sorted(set(identifiers) & DIRECT_IDENTIFIERS)
