"""The standard report-card tables, defined as data.

Each table is one SQL query over the source (views ``enrollment``, ``programs``, ``students``,
``assessment``, ``attendance``, ``discipline``, ``outcomes``) giving its *population*: one row
per student counted, with the organization that counts them (``district_code``,
``school_code``), the school year whose programme flags give their student groups
(``profile_year``), their ``grade`` (when the table has a grade dimension), an optional
``slice`` (the test subject: slices are separate tables with no sum across them) and ``hit``
(whether the student is in the numerator; unused by count tables). ``{year}`` is the ending
school year (2025 for 2024-25), an integer.

The builder groups that population by organization, student group and grade; a count table
publishes ``count``, a rate table ``numerator`` (students with ``hit``) over ``denominator``
(every student in the population), which is the shape the disclosure engine takes.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNT, RATE = "count", "rate"
GRADES = ("K", *(f"{g:02d}" for g in range(1, 13)))
HIGH_SCHOOL = ("09", "10", "11", "12")


@dataclass(frozen=True)
class TableDef:
    key: str
    title: str
    description: str
    kind: str  # COUNT or RATE
    sql: str
    by_grade: bool = True
    slice_name: str | None = None  # column name of the slice ("subject"), if any
    numerator_label: str = ""
    denominator_label: str = ""
    topic: str = ""

    @property
    def measures(self) -> tuple[str, ...]:
        return ("count",) if self.kind == COUNT else ("numerator", "denominator")


_ENROLLED = """
SELECT e.student_key, e.school_year AS profile_year, e.district_code, e.school_code,
       e.grade_level AS grade, TRUE AS hit
FROM enrollment e WHERE e.school_year = {year}
"""

_PARTICIPATION = """
WITH tests AS (SELECT DISTINCT test_subject, tested_grade FROM assessment
               WHERE school_year = {year}),
     taken AS (SELECT DISTINCT student_key, test_subject FROM assessment
               WHERE school_year = {year})
SELECT e.student_key, e.school_year AS profile_year, e.district_code, e.school_code,
       e.grade_level AS grade, t.test_subject AS slice, k.student_key IS NOT NULL AS hit
FROM enrollment e
JOIN tests t ON t.tested_grade = e.grade_level
LEFT JOIN taken k ON k.student_key = e.student_key AND k.test_subject = t.test_subject
WHERE e.school_year = {year}
"""

# Level 3 (Met Standard) or 4 (Exceeded) is proficient; a student's best result counts once.
_PROFICIENCY = """
WITH best AS (SELECT student_key, test_subject, max(tested_grade) AS tested_grade,
                     max(performance_level) AS level
              FROM assessment WHERE school_year = {year} GROUP BY student_key, test_subject)
SELECT e.student_key, e.school_year AS profile_year, e.district_code, e.school_code,
       b.tested_grade AS grade, b.test_subject AS slice, b.level >= 3 AS hit
FROM best b JOIN enrollment e ON e.student_key = b.student_key AND e.school_year = {year}
"""

# The adjusted cohort: students whose expected graduation year is the cohort year, less those
# who transferred out. They are counted where they were last enrolled, with that year's flags
# (two enrollments in that year: the higher school code, so that every engine and every run
# picks the same one). Both engines' SQL: a ranked subquery, not DuckDB's QUALIFY.
_COHORT = """
WITH cohort AS (SELECT student_key, outcome FROM outcomes
                WHERE cohort_year = {cohort} AND outcome <> 'Transferred out'),
     ranked AS (SELECT e.student_key, e.school_year, e.district_code, e.school_code,
                       row_number() OVER (PARTITION BY e.student_key
                                          ORDER BY e.school_year DESC, e.school_code DESC,
                                                   e.district_code DESC) AS rn
                FROM enrollment e JOIN cohort c ON c.student_key = e.student_key
                WHERE e.school_year <= {cohort}),
     last AS (SELECT student_key, school_year, district_code, school_code FROM ranked
              WHERE rn = 1),
     late AS (SELECT DISTINCT student_key FROM enrollment
              WHERE school_year = {cohort} + 1 AND exit_reason = 'G')
SELECT l.student_key, l.school_year AS profile_year, l.district_code, l.school_code,
       (c.outcome = 'Graduated' {extended}) AS hit
FROM cohort c JOIN last l ON l.student_key = c.student_key
"""
_GRAD4 = _COHORT.replace("{cohort}", "{year}").replace("{extended}", "")
_GRAD5 = _COHORT.replace("{cohort}", "({year} - 1)").replace(
    "{extended}",
    "OR (c.outcome = 'Continuing' AND c.student_key IN (SELECT student_key FROM late))",
)

_DROPOUT = """
SELECT e.student_key, e.school_year AS profile_year, e.district_code, e.school_code,
       e.grade_level AS grade, coalesce(e.exit_reason = 'D', FALSE) AS hit
FROM enrollment e WHERE e.school_year = {year} AND e.grade_level IN ('09', '10', '11', '12')
"""

# OSPI's measure: students enrolled at least 90 days; chronically absent at 10% of days or more.
_CHRONIC = """
SELECT e.student_key, e.school_year AS profile_year, e.district_code, e.school_code,
       e.grade_level AS grade, a.days_absent >= 0.1 * a.days_enrolled AS hit
FROM enrollment e
JOIN attendance a ON a.student_key = e.student_key AND a.school_year = {year}
WHERE e.school_year = {year} AND a.days_enrolled >= 90
"""

_DISCIPLINE = """
WITH disciplined AS (SELECT DISTINCT student_key FROM discipline WHERE school_year = {year})
SELECT e.student_key, e.school_year AS profile_year, e.district_code, e.school_code,
       e.grade_level AS grade, d.student_key IS NOT NULL AS hit
FROM enrollment e LEFT JOIN disciplined d ON d.student_key = e.student_key
WHERE e.school_year = {year}
"""

TABLES: tuple[TableDef, ...] = (
    TableDef(
        "enrollment", "Enrollment",
        "Students enrolled during the school year, by organization, student group and grade.",
        COUNT, _ENROLLED, topic="Enrollment",
    ),
    TableDef(
        "assessment_participation", "Assessment participation",
        "Share of students in a tested grade who took the state test, by subject.",
        RATE, _PARTICIPATION, slice_name="subject", topic="Assessment",
        numerator_label="students tested", denominator_label="students expected to test",
    ),
    TableDef(
        "assessment_proficiency", "Assessment proficiency",
        "Share of tested students who met or exceeded the standard (level 3 or 4), by subject.",
        RATE, _PROFICIENCY, slice_name="subject", topic="Assessment",
        numerator_label="students meeting standard", denominator_label="students tested",
    ),
    TableDef(
        "graduation_4yr", "Four-year graduation rate",
        "Share of the adjusted cohort expected to graduate this year who graduated within four "
        "years (transfers out leave the cohort; students count where last enrolled).",
        RATE, _GRAD4, by_grade=False, topic="Graduation",
        numerator_label="graduates", denominator_label="adjusted cohort",
    ),
    TableDef(
        "graduation_5yr", "Five-year graduation rate",
        "Share of last year's adjusted cohort who graduated within five years (by the end of "
        "this school year).",
        RATE, _GRAD5, by_grade=False, topic="Graduation",
        numerator_label="graduates", denominator_label="adjusted cohort",
    ),
    TableDef(
        "dropout", "Annual dropout rate",
        "Share of students enrolled in grades 9-12 who dropped out during the year.",
        RATE, _DROPOUT, topic="Graduation",
        numerator_label="dropouts", denominator_label="students in grades 9-12",
    ),
    TableDef(
        "chronic_absence", "Chronic absence",
        "Share of students enrolled at least 90 days who missed 10% or more of their days.",
        RATE, _CHRONIC, topic="Attendance",
        numerator_label="chronically absent students",
        denominator_label="students enrolled 90 days or more",
    ),
    TableDef(
        "discipline", "Discipline rate",
        "Share of enrolled students with at least one suspension or expulsion.",
        RATE, _DISCIPLINE, topic="Discipline",
        numerator_label="students disciplined", denominator_label="students enrolled",
    ),
)
BY_KEY = {t.key: t for t in TABLES}


def table(key: str) -> TableDef:
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown table {key!r} (choose from {', '.join(BY_KEY)})") from None


def year_label(year: int) -> str:
    """2025 -> '2024-25' (the agency's label for an ending school year)."""
    return f"{year - 1}-{year % 100:02d}"


def parse_year(label: str) -> int:
    """'2024-25' -> 2025; raises ValueError on anything else."""
    text = label.strip()
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
        start = int(text[:4])
        if (start + 1) % 100 == int(text[5:]):
            return start + 1
    raise ValueError(f"school year {label!r} is not like 2024-25")
