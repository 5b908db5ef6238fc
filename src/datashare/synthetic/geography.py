"""Districts and schools: a skewed state where a few districts are huge and many are tiny.

Sizes are log-normal, so (as in Washington) a handful of districts hold a large share of the
students while dozens of rural districts run a single K-12 school of a few dozen students.
Those tiny schools are the "small groups that really are small" the risk report must catch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

# Levels a grade belongs to: K-5 elementary, 6-8 middle, 9-12 high.
ELEMENTARY, MIDDLE, HIGH = 0, 1, 2
LEVEL_OF_GRADE = np.array(
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2], dtype=np.int64
)  # index: grade (K=0)


@dataclass
class Geography:
    district_codes: np.ndarray  # str, one per district
    district_weight: np.ndarray  # share of students living in each district
    district_poverty: np.ndarray  # district-level shift of the students' socio-economic latent
    school_codes: np.ndarray  # str, one per school
    school_district: np.ndarray  # district index of each school
    school_kind: list[str]  # Elementary / Middle / High / K-8 / K-12
    school_title_i: np.ndarray  # bool: school runs a Title I schoolwide program
    _cum: np.ndarray  # per (district, level) group g: g + cumulative school weights
    _cum_school: np.ndarray  # school index of each entry of _cum

    @property
    def n_districts(self) -> int:
        return len(self.district_codes)

    def assign_schools(
        self, rng: np.random.Generator, district: np.ndarray, grade: np.ndarray
    ) -> np.ndarray:
        """A school (index) serving each student's grade in their district, by school size."""
        group = district * 3 + LEVEL_OF_GRADE[grade]
        pos = np.searchsorted(self._cum, group + rng.random(len(group)), side="right")
        return self._cum_school[np.minimum(pos, len(self._cum) - 1)]

    def districts_table(self) -> pa.Table:
        return pa.table(
            {
                "district_code": self.district_codes.astype(str),
                "district_name": [f"Synthetic District {c}" for c in self.district_codes],
            }
        )

    def schools_table(self) -> pa.Table:
        return pa.table(
            {
                "school_code": self.school_codes.astype(str),
                "district_code": self.district_codes[self.school_district].astype(str),
                "school_name": [f"Synthetic School {c}" for c in self.school_codes],
                "school_type": self.school_kind,
                "title_i_schoolwide": self.school_title_i,
            }
        )


def build(rng: np.random.Generator, scale: float) -> Geography:
    # Geography grows with the square root of the population: at test scales a state of a few
    # hundred students still has several districts and dozens of (very small) schools.
    n_districts = max(4, round(295 * min(1.0, scale) ** 0.5))
    n_schools_target = max(3 * n_districts, round(2400 * min(1.0, scale) ** 0.5))
    weight = rng.lognormal(0.0, 1.5, n_districts)
    weight /= weight.sum()
    poverty = rng.normal(0.0, 0.5, n_districts)
    per_district = np.maximum(1, np.round(weight * n_schools_target * 0.9 + 0.5)).astype(int)

    school_district: list[int] = []
    school_kind: list[str] = []
    serves: list[tuple[int, int, float]] = []  # (group, school index, weight)
    for d, k in enumerate(per_district):
        plan: list[tuple[str, tuple[int, ...]]]
        if k == 1:
            plan = [("K-12", (ELEMENTARY, MIDDLE, HIGH))]
        elif k == 2:
            plan = [("K-8", (ELEMENTARY, MIDDLE)), ("High", (HIGH,))]
        else:
            n_high = max(1, round(k * 0.2))
            n_mid = max(1, round(k * 0.2))
            n_elem = max(1, k - n_high - n_mid)
            elem: tuple[int, ...] = (ELEMENTARY,)
            mid: tuple[int, ...] = (MIDDLE,)
            high: tuple[int, ...] = (HIGH,)
            plan = (
                [("Elementary", elem)] * n_elem
                + [("Middle", mid)] * n_mid
                + [("High", high)] * n_high
            )
        for kind, levels in plan:
            s = len(school_district)
            school_district.append(d)
            school_kind.append(kind)
            size = float(rng.lognormal(0.0, 0.9))  # within a district some schools are tiny
            for level in levels:
                serves.append((d * 3 + level, s, size))

    serves.sort()
    groups = np.array([g for g, _, _ in serves])
    schools = np.array([s for _, s, _ in serves])
    sizes = np.array([w for _, _, w in serves])
    cum = np.empty(len(serves))
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        cum[idx] = g + np.cumsum(sizes[idx]) / sizes[idx].sum()
        cum[idx[-1]] = g + 1.0  # guard against rounding: the last school closes the group

    n_schools = len(school_district)
    # WA-like codes: five-digit district codes (county prefix), four-digit school codes.
    district_codes = np.array(
        [f"{c:05d}" for c in rng.choice(np.arange(1001, 39999), n_districts, replace=False)]
    )
    school_codes = np.array(
        [f"{c:04d}" for c in rng.choice(np.arange(1000, 9999), n_schools, replace=False)]
    )
    sd = np.array(school_district)
    return Geography(
        district_codes=district_codes,
        district_weight=weight,
        district_poverty=poverty,
        school_codes=school_codes,
        school_district=sd,
        school_kind=school_kind,
        school_title_i=(poverty[sd] + rng.normal(0, 0.5, n_schools)) > 0.1,
        _cum=cum,
        _cum_school=schools,
    )
