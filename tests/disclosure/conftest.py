"""Small hand-checkable tables, a random-table strategy and private cores shared by the
disclosure tests."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import strategies as st

from datashare.disclosure import cores


def table_from_records(records: list[dict[str, str]], spec: dict[str, Any]) -> pd.DataFrame:
    """Aggregate unit records into every cell of ``spec`` (so all partitions add up).

    A record names a leaf of each single-partition dimension and, for the overlapping
    ``student_group`` dimension, one child per partition.
    """
    def ancestors(dim: str, code: str) -> list[str]:
        out = [code]
        parents = {c: p for p, parts in spec[dim].items() for kids in parts.values() for c in kids}
        while out[-1] in parents:
            out.append(parents[out[-1]])
        return out

    counts: dict[tuple[str, str, str], int] = {}
    for rec in records:
        orgs = ancestors("organization", rec["organization"])
        grades = ancestors("grade", rec["grade"])
        groups = ["All Students", *(rec[k] for k in rec if k.startswith("part:"))]
        for key in itertools.product(orgs, groups, grades):
            counts[key] = counts.get(key, 0) + 1
    rows = [
        {"organization": o, "student_group": g, "grade": k, "count": n}
        for (o, g, k), n in sorted(counts.items())
    ]
    return pd.DataFrame(rows, columns=["organization", "student_group", "grade", "count"])


@st.composite
def random_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, Any]]:
    n_districts = draw(st.integers(1, 3))
    org: dict[str, Any] = {"ST": {"districts": [f"D{d}" for d in range(n_districts)]}}
    schools: list[str] = []
    for d in range(n_districts):
        kids = [f"S{d}{s}" for s in range(draw(st.integers(1, 3)))]
        org[f"D{d}"] = {"schools": kids}
        schools += kids
    parts = {
        f"p{i}": [f"g{i}{j}" for j in range(draw(st.integers(2, 3)))]
        for i in range(draw(st.integers(1, 3)))
    }
    grades = [f"G{k}" for k in range(draw(st.integers(2, 3)))]
    spec = {
        "organization": org,
        "student_group": {"All Students": parts},
        "grade": {"All Grades": {"grades": grades}},
    }
    n = draw(st.integers(1, 120))
    records = []
    for _ in range(n):
        rec = {
            "organization": draw(st.sampled_from(schools)),
            "grade": draw(st.sampled_from(grades)),
        }
        for name, kids in parts.items():
            # Skewed draws make small cells common, which is what the engine must handle.
            rec[f"part:{name}"] = kids[draw(st.sampled_from([0, 0, 0, 1, len(kids) - 1]))]
        records.append(rec)
    return table_from_records(records, spec), spec


SMALL_SPEC: dict[str, Any] = {
    "organization": {"WA": {"districts": ["D1", "D2"]}, "D1": {"schools": ["S1", "S2"]},
                     "D2": {"schools": ["S3"]}},
    "student_group": {"All Students": {"gender": ["Female", "Male"],
                                       "income": ["Low Income", "Not Low Income"]}},
    "grade": {"All Grades": {"grades": ["3", "4"]}},
}


def statewide_records(n_districts: int, schools: int, students: int, seed: int,
                      met: float | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A small statewide-like table: districts of schools, grades 1-4, gender with a rare
    third group and race with two rare groups, so many school-grade cells are small.
    ``met``: a rate table instead, each student counted in ``met`` with that probability
    (columns ``tested`` and ``met``, additive like the counts)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    districts = [f"D{d}" for d in range(n_districts)]
    org: dict[str, Any] = {"ST": {"districts": districts}}
    for d in districts:
        org[d] = {"schools": [f"{d}S{s}" for s in range(schools)]}
    all_schools = [s for d in districts for s in org[d]["schools"]]
    grades = ["1", "2", "3", "4"]
    spec = {
        "organization": org,
        "student_group": {"All Students": {"gender": ["Female", "Male", "Gender X"],
                                           "race": ["White", "Hispanic", "Asian", "Native"]}},
        "grade": {"All Grades": {"grades": grades}},
    }
    size = rng.lognormal(0.0, 0.8, len(all_schools))
    school = rng.choice(len(all_schools), students, p=size / size.sum())
    gender = rng.choice(3, students, p=[0.48, 0.48, 0.04])
    race = rng.choice(4, students, p=[0.6, 0.3, 0.07, 0.03])
    grade = rng.choice(4, students)
    records = [{"organization": all_schools[s], "grade": grades[k],
                "part:gender": spec["student_group"]["All Students"]["gender"][g],
                "part:race": spec["student_group"]["All Students"]["race"][r]}
               for s, g, r, k in zip(school, gender, race, grade, strict=True)]
    frame = table_from_records(records, spec)
    if met is None:
        return frame, spec
    key = ["organization", "student_group", "grade"]
    passed = rng.random(students) < met
    met_frame = table_from_records([r for r, p in zip(records, passed, strict=True) if p], spec)
    out = frame.rename(columns={"count": "tested"}).merge(
        met_frame.rename(columns={"count": "met"}), on=key, how="left")
    out["met"] = out["met"].fillna(0).astype("int64")
    return out, spec


def suppressed_statewide(n_districts: int, schools: int, students: int, seed: int,
                         protection: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(published table, spec) of ``statewide_records`` suppressed with the cube method."""
    from datashare.disclosure.api import suppress_table

    frame, spec = statewide_records(n_districts, schools, students, seed)
    out = suppress_table(frame, spec, count="count", method="cubes", protection=protection)
    return out.table, spec


def dense_counts(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(space, values, present, primary) of a count table under the OSPI threshold 10."""
    import numpy as np

    from datashare.disclosure.engine import count_primaries
    from datashare.disclosure.spec import parse_spec
    from datashare.disclosure.table import build_space, dense, locate_rows

    space = build_space(parse_spec(spec))
    flat = locate_rows(space, frame)
    values = dense(space, flat, frame["count"].to_numpy())
    present = np.zeros(space.size, dtype=bool)
    present[flat] = True
    return space, values, present, count_primaries(values, present, 10, False)


def private_cores(monkeypatch: pytest.MonkeyPatch, slots: Path, n: int) -> Path:
    """``n`` cores with slots of their own in ``slots`` (``disclosure.cores``), so a test's
    threads do not depend on what else runs on the machine."""
    monkeypatch.setenv("DATASHARE_CORE_SLOTS", str(slots))
    monkeypatch.setattr(cores, "cores", lambda: n)
    return slots
