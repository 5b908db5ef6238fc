"""The statewide student population, simulated one school year at a time.

Every active student carries their latent traits (socio-economic status, ability) and
programme flags from year to year, so the yearly tables are longitudinally consistent: a
student's cohort advances a grade a year (some are retained), changes school when the grade
leaves the school's span, sometimes moves district or out of state, drops out or graduates,
and new kindergarteners and in-migrants enter each year.

Shares are set to roughly match Washington's published report card figures; they are not
copies of any record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import geography

FIRST_YEAR, LAST_YEAR = 2010, 2025  # 2009-10 .. 2024-25 (ending years)
STUDENTS_PER_GRADE = 1_100_000 / 13  # ~1.1 million students a year at scale 1

# Codes and shares. Race: federal seven categories (WA shares, roughly).
RACES = np.array(["WH", "HI", "AS", "TW", "BL", "NH", "AI"])
RACE_P = np.array([0.51, 0.245, 0.08, 0.09, 0.047, 0.014, 0.014])
GENDERS = np.array(["F", "M", "X"])
LANGUAGES = np.array(
    ["ENG", "SPA", "RUS", "VIE", "CHI", "UKR", "SOM", "KOR", "ARA", "PAN", "TGL", "MAH", "AMH"]
)
# Home language given race: Hispanic students mostly English/Spanish, Asian students a spread.
_LANG_P = {
    "HI": [0.45, 0.53, 0, 0, 0, 0, 0, 0, 0, 0, 0.02, 0, 0],
    "AS": [0.55, 0, 0, 0.12, 0.12, 0, 0, 0.07, 0, 0.07, 0.07, 0, 0],
    "WH": [0.94, 0, 0.03, 0, 0, 0.025, 0, 0, 0.005, 0, 0, 0, 0],
    "BL": [0.78, 0, 0, 0, 0, 0, 0.12, 0, 0.04, 0, 0, 0, 0.06],
    "NH": [0.70, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.30, 0],
    "TW": [0.97, 0.03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "AI": [0.98, 0.02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
}
LANG_CUM = np.cumsum(np.array([_LANG_P[r] for r in RACES]), axis=1)
LANG_CUM[:, -1] = 1.0
DISABILITIES = np.array(
    [
        "Specific learning disability",
        "Other health impairment",
        "Communication disorder",
        "Autism",
        "Developmental delay",
        "Intellectual disability",
        "Emotional/behavioral disability",
        "Multiple disabilities",
        "Hearing impairment",
        "Orthopedic impairment",
        "Visual impairment",
        "Traumatic brain injury",
        "Deaf-blindness",
    ]
)
DISABILITY_P = np.array(
    [0.34, 0.2, 0.15, 0.12, 0.06, 0.055, 0.05, 0.015, 0.008, 0.004, 0.003, 0.0025, 0.0005]
)


def _cum(p: np.ndarray) -> np.ndarray:
    c = np.cumsum(p / p.sum())
    c[-1] = 1.0
    return c


def choose(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    return np.searchsorted(_cum(p), rng.random(n), side="right").astype(np.int8)


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Students:
    """Columns of a set of students (arrays of equal length)."""

    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.cols["key"])

    def take(self, index: np.ndarray) -> Students:
        return Students({k: v[index] for k, v in self.cols.items()})

    def concat(self, other: Students) -> Students:
        return Students({k: np.concatenate([v, other.cols[k]]) for k, v in self.cols.items()})

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]


@dataclass
class Year:
    """One school year's active students and what happens to them at its end."""

    year: int  # ending year
    s: Students
    exit_reason: (
        np.ndarray
    )  # '' continuing, G graduated, D dropped out, O out of state, T transferred
    exit_day: np.ndarray  # day offset of the exit from the school-year start (-1: none)
    outcomes: Students  # cohort outcome records resolved this year (key, cohort, outcome, day)


class Population:
    def __init__(self, rng: np.random.Generator, geo: geography.Geography, scale: float) -> None:
        self.rng = rng
        self.geo = geo
        self.per_grade = max(20.0, STUDENTS_PER_GRADE * scale)
        self.born: list[Students] = []  # static attributes of every student ever created

    def _new_students(self, year: int, grade: np.ndarray, entry_day: np.ndarray) -> Students:
        rng, geo, n = self.rng, self.geo, len(grade)
        # Internal surrogate key: random 62-bit, never sequential, so it says nothing about the
        # order students arrived in. Collisions (odds ~1e-6 at scale 1) are checked once at
        # the end by the generator.
        key = rng.integers(1, 2**62, n, dtype=np.int64)
        district = np.searchsorted(_cum(geo.district_weight), rng.random(n), side="right").astype(
            np.int32
        )
        race = choose(rng, n, RACE_P)
        lang = (LANG_CUM[race] < rng.random(n)[:, None]).sum(axis=1).astype(np.int8)
        # SES latent: district poverty plus a race gap of the size report cards show.
        race_shift = np.array([0.25, -0.45, 0.3, 0.0, -0.45, -0.5, -0.55])[race]
        ses = (-geo.district_poverty[district] + race_shift + rng.normal(0, 1, n)).astype(
            np.float32
        )
        ability = (0.45 * ses + rng.normal(0, 0.9, n)).astype(np.float32)
        sped = rng.random(n) < logistic(-1.95 - 0.35 * ability)
        disability = np.where(sped, choose(rng, n, DISABILITY_P), -1).astype(np.int8)
        # Born so that the student is the usual age for the grade (K: 5 by August 31).
        k_year = year - grade.astype(np.int64)  # ending year of the student's kindergarten
        sept1 = (
            np.array(k_year - 7 - 1970, dtype="datetime64[Y]") + np.timedelta64(8, "M")
        ).astype("datetime64[D]")
        birth = sept1 + rng.integers(0, 365, n).astype("timedelta64[D]")
        gender = choose(rng, n, np.array([0.488, 0.508, 0.004]))
        s = Students(
            {
                "key": key,
                "grade": grade.astype(np.int8),
                "district": district,
                "school": geo.assign_schools(rng, district, grade.astype(np.int64)).astype(
                    np.int32
                ),
                "dsid": rng.integers(10_000_000, 99_999_999, n, dtype=np.int64),
                "ses": ses,
                "ability": ability,
                "sped": sped,
                "disability": disability,
                "s504": (~sped) & (rng.random(n) < 0.03),
                "ell": (lang > 0) & (rng.random(n) < np.where(grade < 3, 0.9, 0.6)),
                "migrant": (race == 1) & (rng.random(n) < 0.07),
                "race": race,
                "male": gender == 1,
                "cohort": np.where(grade >= 9, year + 12 - grade, 0).astype(np.int16),
                "entry_day": entry_day.astype(np.int16),
            }
        )
        self.born.append(
            Students(
                {
                    "key": key,
                    "birth": birth.astype(np.int32),
                    "gender": gender,
                    "race": race,
                    "lang": lang,
                }
            )
        )
        return s

    def years(self) -> Iterator[Year]:
        rng = self.rng
        grades = np.repeat(np.arange(13), rng.poisson(self.per_grade, 13))
        s = self._new_students(FIRST_YEAR, grades, np.zeros(len(grades)))
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            n = len(s)
            grade = s["grade"].astype(np.int64)
            ability, ses = s["ability"], s["ses"]
            u = rng.random((6, n))
            grad = (grade == 12) & (
                u[0] < logistic(2.7 + 0.9 * ability + 0.3 * ses - 0.5 * s["sped"])
            )
            drop = (
                (grade >= 9)
                & ~grad
                & (u[1] < logistic(-3.7 - 0.7 * ability - 0.4 * ses + 0.9 * (grade == 12)))
            )
            gone = (~grad & ~drop) & (u[2] < 0.028)
            transfer = ~(grad | drop | gone) & (u[3] < 0.035) & (self.geo.n_districts > 1)
            retained = (
                ~(grad | drop | gone) & (grade < 12) & (u[4] < np.where(grade <= 8, 0.012, 0.03))
            )
            move_school = ~(grad | drop | gone | transfer) & (u[5] < 0.05)
            reason = np.full(n, "", dtype="<U1")
            reason[grad], reason[drop], reason[gone], reason[transfer] = "G", "D", "O", "T"
            exit_day = np.full(n, -1, dtype=np.int16)
            exit_day[grad | transfer] = 286  # mid-June: the last day of the year
            early = drop | gone
            exit_day[early] = np.maximum(
                s["entry_day"][early] + 5, rng.integers(20, 280, int(early.sum()))
            )

            # Four-year cohort outcomes resolved this year (cohort years up to 2024-25).
            cohort = s["cohort"].astype(np.int64)
            has = (cohort > 0) & (cohort <= LAST_YEAR)
            resolved = has & (
                (grad & (cohort >= year))
                | ((drop | gone) & (cohort >= year))
                | ((cohort == year) & ~(grad | drop | gone))
            )
            outcome = np.where(
                grad,
                "Graduated",
                np.where(drop, "Dropped out", np.where(gone, "Transferred out", "Continuing")),
            )
            idx = np.flatnonzero(resolved)
            outcomes = Students(
                {
                    "key": s["key"][idx],
                    "cohort": cohort[idx],
                    "outcome": outcome[idx],
                    "day": np.where(exit_day[idx] >= 0, exit_day[idx], -1),
                    "year": np.full(len(idx), year),
                }
            )
            yield Year(year, s, reason, exit_day, outcomes)
            if year == LAST_YEAR:
                break

            # -- next year: survivors advance, then newcomers arrive
            keep = np.flatnonzero(~(grad | drop | gone))
            nxt = s.take(keep)
            old_level = geography.LEVEL_OF_GRADE[nxt["grade"].astype(np.int64)]
            nxt.cols["grade"] = np.where(
                retained[keep] | (nxt["grade"] == 12), nxt["grade"], nxt["grade"] + 1
            ).astype(np.int8)
            new_grade = nxt["grade"].astype(np.int64)
            first_ninth = (nxt["cohort"] == 0) & (new_grade == 9)
            nxt.cols["cohort"] = np.where(first_ninth, year + 1 + 3, nxt["cohort"]).astype(np.int16)
            moved = transfer[keep]
            m = int(moved.sum())
            if m:
                nxt["district"][moved] = np.searchsorted(
                    _cum(self.geo.district_weight), rng.random(m), side="right"
                )
                nxt["dsid"][moved] = rng.integers(10_000_000, 99_999_999, m, dtype=np.int64)
            reassign = (
                moved | move_school[keep] | (geography.LEVEL_OF_GRADE[new_grade] != old_level)
            )
            if reassign.any():
                nxt["school"][reassign] = self.geo.assign_schools(
                    rng, nxt["district"][reassign].astype(np.int64), new_grade[reassign]
                )
            nxt.cols["ell"] = nxt["ell"] & (
                rng.random(len(nxt)) > 0.12
            )  # exits as English improves
            nxt.cols["entry_day"] = np.zeros(len(nxt), np.int16)
            # Kindergarten grows slowly; in-migrants (about the out-of-state rate) arrive in
            # every grade, a third of them during the year.
            k_count = rng.poisson(self.per_grade * (1.0 + 0.004 * (year - FIRST_YEAR)))
            mig = rng.poisson(self.per_grade * 0.03, 13)
            new_grades = np.concatenate(
                [np.zeros(k_count, np.int64), np.repeat(np.arange(13), mig)]
            )
            entry = np.where(
                rng.random(len(new_grades)) < 0.33, rng.integers(10, 200, len(new_grades)), 0
            )
            entry[:k_count] = 0
            s = nxt.concat(self._new_students(year + 1, new_grades, entry))
