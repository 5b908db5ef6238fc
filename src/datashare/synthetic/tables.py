"""Turn one simulated school year into the rows of each yearly source table (Arrow).

Correlations a researcher expects are built in through the students' latent traits: scores
rise with ability and fall with low income, special education and English-learner status;
absences and discipline rise with poverty and in the secondary grades.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .geography import Geography
from .population import DISABILITIES, Year, logistic

DEC = pa.decimal128(6, 2)
GRADES = ["K", *[f"{g:02d}" for g in range(1, 13)]]
SCHOOL_DAYS = 180
YEAR_END_DAY = 286  # mid-June, counted from September 1


def _dict(codes: np.ndarray, words: list[str] | np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(list(words), pa.string())
    ).cast(pa.string())


def _days(year: int, offset: np.ndarray) -> pa.Array:
    """Dates as offsets from September 1 of the school year; negative offsets become null."""
    start = np.datetime64(f"{year - 1}-09-01").astype("datetime64[D]").astype(np.int64)
    return pa.array((start + offset).astype(np.int32), pa.date32(), mask=offset < 0)


def _year_col(year: int, n: int) -> pa.Array:
    return pa.array(np.full(n, year, np.int16))


def enrollment(y: Year, geo: Geography) -> pa.Table:
    s, n = y.s, len(y.s)
    return pa.table(
        {
            "school_year": _year_col(y.year, n),
            "student_key": s["key"],
            "district_code": _dict(geo.school_district[s["school"]], geo.district_codes),
            "school_code": _dict(s["school"], geo.school_codes),
            "district_student_id": pc.cast(pa.array(s["dsid"]), pa.string()),
            "grade_level": _dict(s["grade"], GRADES),
            "entry_date": _days(y.year, s["entry_day"].astype(np.int64)),
            "exit_date": _days(y.year, y.exit_day.astype(np.int64)),
            "exit_reason": pa.array(y.exit_reason, pa.string(), mask=y.exit_reason == ""),
        }
    )


def programs(y: Year, geo: Geography, rng: np.random.Generator) -> pa.Table:
    s, n = y.s, len(y.s)
    ses = s["ses"] + rng.normal(0, 0.35, n)  # income status moves a little from year to year
    low_income = ses < -0.05
    grade = s["grade"]
    sped = s["sped"] & ~((s["disability"] == 4) & (grade > 3))  # developmental delay ends by age 9
    foster = pa.array(rng.random(n) < 0.003 + 0.004 * low_income, mask=np.full(n, y.year < 2017))
    return pa.table(
        {
            "school_year": _year_col(y.year, n),
            "student_key": s["key"],
            "special_education": sped,
            "disability_category": pa.array(
                DISABILITIES[np.maximum(s["disability"], 0)], pa.string(), mask=~sped
            ),
            "section_504": s["s504"],
            "english_learner": s["ell"],
            "title_i": geo.school_title_i[s["school"]] & (grade <= 8),
            "migrant": s["migrant"],
            "homeless": rng.random(n) < logistic(-4.2 - 0.8 * s["ses"]),
            "foster_care": foster,
            "highly_capable": (grade >= 1) & (s["ability"] + rng.normal(0, 0.25, n) > 1.55),
            "low_income": low_income,
        }
    )


_TESTS = (
    [("ELA", g) for g in (3, 4, 5, 6, 7, 8, 10)]
    + [("Math", g) for g in (3, 4, 5, 6, 7, 8, 10)]
    + [("Science", g) for g in (5, 8, 11)]
)


def assessment(y: Year, rng: np.random.Generator) -> pa.Table | None:
    s = y.s
    grade = s["grade"].astype(np.int64)
    parts: list[pa.Table] = []
    for subject, g in _TESTS:
        idx = np.flatnonzero(grade == g)
        idx = idx[rng.random(len(idx)) < (0.86 if g >= 10 else 0.965)]  # participation
        m = len(idx)
        if not m:
            continue
        z = (
            0.8 * s["ability"][idx]
            + 0.12 * s["ses"][idx]
            - 0.55 * s["sped"][idx]
            - 0.5 * s["ell"][idx]
            + rng.normal(0, 0.45, m)
        )
        if subject == "Science":
            mean, sd, step = 800.0, 40.0, 4.0
        else:
            mean, sd, step = 2410.0 + (5 if subject == "ELA" else 0), 95.0, 27.0
        score = np.round(mean + step * (g - 3) + sd * z).astype(np.int32)
        level = (
            1
            + (z > -0.55).astype(np.int32)
            + (z > 0.05).astype(np.int32)
            + (z > 0.85).astype(np.int32)
        )
        parts.append(
            pa.table(
                {
                    "school_year": _year_col(y.year, m),
                    "student_key": s["key"][idx],
                    "test_subject": pa.array(np.full(m, subject), pa.string()),
                    "tested_grade": pa.array(np.full(m, f"{g:02d}"), pa.string()),
                    "scale_score": score,
                    "performance_level": level,
                }
            )
        )
    return pa.concat_tables(parts) if parts else None


# Six full-year courses a year: four core subjects and two electives.
_SUBJECTS = [
    "English Language Arts",
    "Mathematics",
    "Life and Physical Sciences",
    "Social Sciences and History",
    "Fine and Performing Arts",
    "Physical, Health, and Safety Education",
    "World Languages",
    "Career and Technical Education",
]
_CODE_BASE = [1001, 2052, 3051, 4051, 5101, 8001, 6101, 10001]  # SCED-like five-digit codes
_LETTERS = ["A", "B", "C", "D", "F", "P"]


def courses(y: Year, rng: np.random.Generator) -> pa.Table | None:
    s = y.s
    hs = np.flatnonzero(s["grade"] >= 9)
    per = 6
    m = len(hs) * per
    if not m:
        return None
    who = np.repeat(hs, per)
    slot = np.tile(np.arange(per), len(hs))
    elective = rng.integers(4, 8, m)
    subject = np.where(slot < 4, slot, elective)
    grade = s["grade"][who].astype(np.int64)
    code = np.array(_CODE_BASE)[subject] + (grade - 9)
    z = 0.9 * s["ability"][who] + 0.25 * s["ses"][who] + rng.normal(0, 0.8, m)
    letter = (
        4
        - (z > -1.6).astype(np.int64)
        - (z > -0.9).astype(np.int64)
        - (z > -0.1).astype(np.int64)
        - (z > 0.7).astype(np.int64)
    )
    letter = np.where((subject == 5) & (rng.random(m) < 0.3), 5, letter)  # some PE is pass/fail
    attempted = np.ones(m)
    earned = np.where(letter == 4, 0.0, attempted)
    # Students who leave mid-year have marks only for the first semester.
    left = y.exit_day[who] >= 0
    left &= y.exit_day[who] < 150
    term = np.where(left, 0, 2)
    attempted = np.where(left, 0.5, attempted)
    earned = np.where(left, np.minimum(earned, 0.5), earned)
    return pa.table(
        {
            "school_year": _year_col(y.year, m),
            "student_key": s["key"][who],
            "course_code": pc.utf8_lpad(pc.cast(pa.array(code), pa.string()), 5, "0"),
            "course_subject": _dict(subject, _SUBJECTS),
            "term": _dict(term, ["S1", "S2", "FY"]),
            "letter_grade": _dict(letter, _LETTERS),
            "credits_attempted": pa.array(attempted).cast(DEC),
            "credits_earned": pa.array(earned).cast(DEC),
        }
    )


def attendance(y: Year, rng: np.random.Generator) -> pa.Table:
    s, n = y.s, len(y.s)
    end = np.where(y.exit_day >= 0, y.exit_day, YEAR_END_DAY).astype(np.int64)
    enrolled = np.clip(
        np.round((end - s["entry_day"]) * SCHOOL_DAYS / YEAR_END_DAY), 1, SCHOOL_DAYS
    ).astype(np.int32)
    rate = 0.045 * np.exp(
        -0.35 * s["ses"] + 0.06 * np.maximum(s["grade"] - 6, 0) + rng.normal(0, 0.6, n)
    )
    absent = np.minimum(rng.poisson(np.minimum(rate, 0.9) * enrolled), enrolled).astype(np.int32)
    return pa.table(
        {
            "school_year": _year_col(y.year, n),
            "student_key": s["key"],
            "days_enrolled": enrolled,
            "days_absent": absent,
        }
    )


_BEHAVIORS = [
    "Violent behavior without major injury",
    "Disruptive conduct",
    "Tobacco, alcohol, or drugs",
    "Weapons",
    "Bullying/harassment",
    "Other behavior",
]
_ACTIONS = [
    "In-school suspension",
    "Short-term suspension",
    "Long-term suspension",
    "Expulsion",
    "Emergency expulsion",
]


def discipline(y: Year, rng: np.random.Generator) -> pa.Table | None:
    s, n = y.s, len(y.s)
    grade = s["grade"].astype(np.int64)
    lam = np.exp(
        -4.3
        + 0.7 * ((grade >= 6) & (grade <= 10))
        - 0.4 * s["ses"]
        + 0.6 * s["male"]
        + 0.4 * s["sped"]
    )
    count = rng.poisson(lam)
    who = np.repeat(np.arange(n), count)
    m = len(who)
    if not m:
        return None
    action = rng.choice(5, m, p=[0.32, 0.5, 0.1, 0.03, 0.05])
    days = np.where(
        action == 0,
        rng.integers(1, 3, m),
        np.where(action == 1, rng.integers(1, 10, m), rng.integers(10, 90, m)),
    ).astype(float)
    days = np.where(rng.random(m) < 0.1, days - 0.5, days)
    end = np.where(y.exit_day[who] >= 0, y.exit_day[who], YEAR_END_DAY)
    day = s["entry_day"][who] + (rng.random(m) * (end - s["entry_day"][who])).astype(np.int64)
    return pa.table(
        {
            "school_year": _year_col(y.year, m),
            "student_key": s["key"][who],
            "incident_date": _days(y.year, day),
            "behavior_type": _dict(
                rng.choice(6, m, p=[0.2, 0.38, 0.18, 0.04, 0.1, 0.1]), _BEHAVIORS
            ),
            "discipline_action": _dict(action, _ACTIONS),
            "days_excluded": pa.array(days).cast(DEC),
        }
    )


def outcomes(y: Year) -> pa.Table:
    o = y.outcomes
    m = len(o)
    cohort = o["cohort"].astype(np.int64)
    # The outcome file's school year is the cohort's expected graduation year.
    return pa.table(
        {
            "school_year": pa.array(cohort.astype(np.int16)),
            "student_key": o["key"],
            "cohort_year": cohort.astype(np.int32),
            "outcome": pa.array(o["outcome"], pa.string()),
            "outcome_date": _days(y.year, o["day"].astype(np.int64))
            if m
            else pa.array([], pa.date32()),
        }
    )
