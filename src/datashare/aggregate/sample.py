"""A small synthetic source in seconds, for the demo, tests and custom-request examples.

``datashare synth`` simulates every year from 2009-10 with longitudinal detail, which takes
tens of seconds even at small scales; the portal's demo and tests need only a year or two of
the tables the aggregate builder reads, with the same columns and codes. Students are drawn
independently each year (no longitudinal consistency beyond the cohort file), from the seed.
No real person is represented.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .definitions import GRADES

_GENDERS = np.array(["F", "M", "X"])
_GENDER_P = [0.485, 0.505, 0.01]
_RACES = np.array(["WH", "HI", "AS", "TW", "BL", "NH", "AI"])
_RACE_P = [0.51, 0.245, 0.08, 0.09, 0.047, 0.014, 0.014]
_TESTS = {"ELA": ("03", "04", "05", "06", "07", "08", "10"),
          "Math": ("03", "04", "05", "06", "07", "08", "10"), "Science": ("05", "08", "11")}


def write_sample(folder: str | Path, *, districts: int = 3, schools_per_district: int = 2,
                 students: int = 1500, years: tuple[int, ...] = (2024, 2025),
                 seed: int = 0) -> Path:
    """Write the Parquet tables of a small state into ``folder`` (created) and return it."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dcodes = [f"{10000 + 1111 * (i + 1):05d}" for i in range(districts)]
    scodes = [[f"{1000 + 100 * d + s}" for s in range(schools_per_district)]
              for d in range(districts)]
    school_rows = [(sc, dc) for dc, row in zip(dcodes, scodes, strict=True) for sc in row]
    pq.write_table(pa.table({"district_code": dcodes,
                             "district_name": [f"Sample District {c}" for c in dcodes]}),
                   out / "districts.parquet")
    pq.write_table(pa.table({"school_code": [s for s, _ in school_rows],
                             "district_code": [d for _, d in school_rows],
                             "school_name": [f"Sample School {s}" for s, _ in school_rows]}),
                   out / "schools.parquet")
    n = students
    keys = np.arange(1, n + 1, dtype=np.int64) * 7919
    gender = rng.choice(_GENDERS, n, p=_GENDER_P)
    race = rng.choice(_RACES, n, p=_RACE_P)
    ability = rng.normal(0, 1, n)
    ses = rng.normal(0, 1, n)
    pq.write_table(pa.table({"student_key": keys, "gender": gender, "race_ethnicity": race}),
                   out / "students.parquet")
    school_of = rng.integers(0, len(school_rows), n)
    first_grade = rng.integers(0, 13, n)
    enroll, progs, tests, attend, disc, outcomes = [], [], [], [], [], []
    for step, year in enumerate(years):
        g = first_grade + step
        here = g < 13
        idx = np.flatnonzero(here)
        m = len(idx)
        grade = np.array(GRADES)[g[idx]]
        hs = g[idx] >= 9
        exit_reason = np.where(hs & (rng.random(m) < 0.03), "D",
                               np.where((g[idx] == 12) & (rng.random(m) < 0.85), "G", ""))
        enroll.append(pa.table({
            "school_year": np.full(m, year, np.int16), "student_key": keys[idx],
            "district_code": [school_rows[i][1] for i in school_of[idx]],
            "school_code": [school_rows[i][0] for i in school_of[idx]],
            "grade_level": grade,
            "exit_reason": pa.array(exit_reason.tolist(), pa.string(), mask=exit_reason == ""),
        }))
        low = ses[idx] + rng.normal(0, 0.3, m) < -0.05
        progs.append(pa.table({
            "school_year": np.full(m, year, np.int16), "student_key": keys[idx],
            "special_education": rng.random(m) < 0.14, "section_504": rng.random(m) < 0.04,
            "english_learner": rng.random(m) < 0.12, "migrant": rng.random(m) < 0.02,
            "homeless": rng.random(m) < 0.03, "foster_care": rng.random(m) < 0.006,
            "highly_capable": (g[idx] >= 1) & (ability[idx] > 1.5), "low_income": low,
        }))
        for subject, tgrades in _TESTS.items():
            t = idx[np.isin(grade, tgrades) & (rng.random(m) < 0.95)]
            if len(t):
                z = 0.8 * ability[t] + 0.2 * ses[t] + rng.normal(0, 0.5, len(t))
                tests.append(pa.table({
                    "school_year": np.full(len(t), year, np.int16), "student_key": keys[t],
                    "test_subject": np.full(len(t), subject),
                    "tested_grade": np.array(GRADES)[g[t]],
                    "performance_level": (1 + (z > -0.5) + (z > 0.1) + (z > 0.9)).astype(np.int32),
                }))
        days = rng.integers(60, 181, m).astype(np.int32)
        absent = np.minimum(rng.poisson(0.06 * days * np.exp(-0.3 * ses[idx])), days)
        attend.append(pa.table({"school_year": np.full(m, year, np.int16),
                                "student_key": keys[idx], "days_enrolled": days,
                                "days_absent": absent.astype(np.int32)}))
        d = idx[rng.random(m) < 0.04]
        disc.append(pa.table({"school_year": np.full(len(d), year, np.int16),
                              "student_key": keys[d],
                              "discipline_action": np.full(len(d), "Short-term suspension")}))
        c = np.flatnonzero(g == 12)  # this year's four-year cohort
        r = rng.random(len(c))
        outcome = np.where(r < 0.82, "Graduated", np.where(r < 0.9, "Continuing",
                           np.where(r < 0.96, "Dropped out", "Transferred out")))
        outcomes.append(pa.table({"school_year": np.full(len(c), year, np.int16),
                                  "student_key": keys[c],
                                  "cohort_year": np.full(len(c), year, np.int32),
                                  "outcome": outcome}))
    for name, parts in (("enrollment", enroll), ("programs", progs), ("assessment", tests),
                        ("attendance", attend), ("discipline", disc), ("outcomes", outcomes)):
        if parts:
            pq.write_table(pa.concat_tables(parts), out / f"{name}.parquet")
    return out
