"""Synthetic statewide aggregate tables for the suppression benchmark and tests.

Districts x schools x student groups (overlapping partitions of All Students) x grades K-12
with an All Grades total; schools serve elementary, middle or high grade bands, so grades a
school does not serve are absent rows (known zeros). Counts are drawn per school and grade,
then split by each partition with a multinomial, so every partition adds up exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

GRADES = ["K", *[str(g) for g in range(1, 13)]]
BANDS = [GRADES[0:6], GRADES[6:9], GRADES[9:13]]
PARTITIONS: dict[str, dict[str, float]] = {
    "gender": {"Female": 0.49, "Male": 0.49, "Gender X": 0.02},
    "race": {
        "American Indian/Alaskan Native": 0.015,
        "Asian": 0.08,
        "Black/African American": 0.045,
        "Hispanic/Latino of any race(s)": 0.25,
        "Native Hawaiian/Other Pacific Islander": 0.012,
        "Two or More Races": 0.09,
        "White": 0.498,
    },
    "income": {"Low-Income": 0.45, "Non-Low Income": 0.55},
    "disability": {"Students with Disabilities": 0.14, "Students without Disabilities": 0.86},
    "english_learner": {"English Language Learners": 0.12, "Non-English Language Learners": 0.88},
}
EXTRA_PARTITIONS: dict[str, dict[str, float]] = {
    "homeless": {"Homeless": 0.04, "Non-Homeless": 0.96},
    "migrant": {"Migrant": 0.03, "Non Migrant": 0.97},
    "section_504": {"Section 504": 0.05, "Non Section 504": 0.95},
    "foster": {"Foster Care": 0.01, "Non-Foster Care": 0.99},
    "military": {"Military Parent": 0.03, "Non Military Parent": 0.97},
}


def generate(
    n_districts: int, schools_per_district: float = 8.0, extra_groups: bool = False,
    seed: int = 0, met_rate: float | None = None, partitions: list[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(long-format table with column ``count``, hierarchy spec as a dict).

    ``met_rate``: also a numerator column ``met`` (a rate table: ``count`` is the
    denominator): per school and grade a binomial share of the students, split over each
    partition's groups without replacement (multivariate hypergeometric), so every partition
    adds up and met <= count in every cell.

    ``partitions``: only these student-group partitions (names of ``PARTITIONS`` /
    ``EXTRA_PARTITIONS``), e.g. ``["race"]`` for a school x race x grade table."""
    rng = np.random.default_rng(seed)
    parts = dict(PARTITIONS, **(EXTRA_PARTITIONS if extra_groups else {}))
    if partitions is not None:
        unknown = sorted(set(partitions) - set(parts))
        if unknown:
            raise ValueError(f"unknown partitions {unknown} (known: {', '.join(parts)})")
        parts = {k: parts[k] for k in partitions}
    groups = [g for p in parts.values() for g in p]
    n_sch = rng.poisson(schools_per_district - 1, n_districts) + 1
    districts = [f"D{d + 1:03d}" for d in range(n_districts)]
    school_district = np.repeat(np.arange(n_districts), n_sch)
    schools = [f"S{s + 1:04d}" for s in range(len(school_district))]
    band = rng.integers(0, 3, len(schools))
    # School x grade enrolment: lognormal, so a state has many small schools and a few big ones.
    size = np.rint(rng.lognormal(3.6, 0.9, (len(schools), len(GRADES)))).astype(np.int64)
    serves = np.zeros((len(schools), len(GRADES)), dtype=bool)
    for b, grades in enumerate(BANDS):
        cols = [GRADES.index(g) for g in grades]
        serves[np.ix_(band == b, cols)] = True
    size = np.where(serves, size, 0)
    # leaf[school, group, grade]: each partition splits All Students multinomially.
    leaf = np.zeros((len(schools), len(groups) + 1, len(GRADES)), dtype=np.int64)
    leaf[:, 0, :] = size
    col = 1
    for probs in parts.values():
        p = np.array(list(probs.values()))
        split = rng.multinomial(size.ravel(), p / p.sum())  # (schools*grades, k)
        leaf[:, col : col + len(p), :] = split.reshape(len(schools), len(GRADES), len(p)).transpose(0, 2, 1)
        col += len(p)
    tables = [leaf]
    if met_rate is not None:
        met = np.zeros_like(leaf)
        met[:, 0, :] = rng.binomial(size, met_rate)
        col = 1
        for probs in parts.values():
            k = len(probs)
            for s in range(len(schools)):
                for g in range(len(GRADES)):
                    if met[s, 0, g]:
                        met[s, col:col + k, g] = rng.multivariate_hypergeometric(
                            leaf[s, col:col + k, g], int(met[s, 0, g]))
            col += k
        tables.append(met)
    org_tables = [_up(t, school_district, n_districts) for t in tables]
    org_vals = org_tables[0]
    orgs = ["WA", *districts, *schools]
    group_codes = ["All Students", *groups]
    grade_codes = ["All Grades", *GRADES]
    # A row per org x group x grade where the org enrols anyone in that grade.
    enrolled = org_vals[:, 0, :] > 0
    o, g, k = np.nonzero(np.broadcast_to(enrolled[:, None, :], org_vals.shape))
    frame = pd.DataFrame({
        "organization": np.array(orgs, dtype=object)[o],
        "student_group": np.array(group_codes, dtype=object)[g],
        "grade": np.array(grade_codes, dtype=object)[k],
        "count": org_vals[o, g, k],
    })
    if met_rate is not None:
        frame["met"] = org_tables[1][o, g, k]
    return frame, _spec(parts, districts, schools, school_district)


def _up(leaf: np.ndarray, school_district: np.ndarray, n_districts: int) -> np.ndarray:
    """School x group x grade leaves with the All Grades total, districts and the state."""
    school_vals = np.concatenate([leaf.sum(axis=2, keepdims=True), leaf], axis=2)
    dist_vals = np.zeros((n_districts, *school_vals.shape[1:]), dtype=np.int64)
    np.add.at(dist_vals, school_district, school_vals)
    state_vals = dist_vals.sum(axis=0, keepdims=True)
    return np.concatenate([state_vals, dist_vals, school_vals])  # (orgs, groups, grades)


def _spec(parts: dict[str, dict[str, float]], districts: list[str], schools: list[str],
          school_district: np.ndarray) -> dict[str, Any]:
    org_spec: dict[str, Any] = {"WA": {"districts": districts}}
    for d, name in enumerate(districts):
        org_spec[name] = {"schools": [schools[i] for i in np.flatnonzero(school_district == d)]}
    return {
        "organization": org_spec,
        "student_group": {"All Students": {k: list(v) for k, v in parts.items()}},
        "grade": {"All Grades": {"grades": GRADES}},
    }
