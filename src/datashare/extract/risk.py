"""Re-identification risk report: how many delivered records sit in small groups.

A record's group is every student-year sharing its quasi-identifier values (in the same
school year). Student-level quasi-identifiers reach every file through the RID, so the
profile of a record joins the student file, that year's enrollment and that year's
programs. A student file record takes the smallest group the student is in over the
extract's years (the worst case for that student). Computed on the delivered package
itself, so it measures exactly what the researcher receives, whichever engine built it.
"""

# SQL here is assembled from identifiers validated against the element list and mapping,
# and paths quoted by sql_path; no user-supplied value is spliced in unvalidated.
# ruff: noqa: S608

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from datashare import elements

from .engines import sql_path
from .mapping import Mapping
from .spec import COARSENINGS, ExtractSpec

KS = (5, 10)


def _qi_expr(qi: str, spec: ExtractSpec, has_districts: bool) -> str:
    if qi == "race_ethnicity" and "race" in spec.coarsen:
        return "CASE WHEN race_ethnicity IN ('AI', 'NH') THEN 'OT' ELSE race_ethnicity END"
    if qi == "birth_year" and "birth_year" in spec.coarsen:
        return "CAST(floor(birth_year / 3) * 3 AS INTEGER)"
    if qi == "school_code" and "school" in spec.coarsen and has_districts:
        return "coalesce(sd.district, school_code)"
    return qi


def report(
    con: duckdb.DuckDBPyConnection, spec: ExtractSpec, mapping: Mapping, package: Path, source: Path
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "quasi_identifiers": spec.quasi_identifiers,
        "coarsening": {c: COARSENINGS[c] for c in spec.coarsen},
        "k_thresholds": list(KS),
        "files": {},
    }
    if not spec.quasi_identifiers:
        result["note"] = "no quasi-identifiers were chosen in the spec"
        return result

    def pq(f: str) -> str:
        return f"read_parquet('{sql_path(package / f'{f}.parquet')}')"

    yearly = [f for f in spec.files if elements.FILES_BY_ID[f].yearly]
    by_file: dict[str, list[str]] = {}
    for qi in spec.quasi_identifiers:
        by_file.setdefault(elements.get(qi).file, []).append(qi)
    spine_cols: list[str] = []
    if "enrollment" in spec.files:
        # Enrollment is the spine: one profile per enrolled student-year. Records of other
        # files in a year without enrollment fall back to the student's smallest group.
        # Its own quasi-identifiers are aggregated in the same pass that finds the
        # student-years (one read and one aggregation of the largest file, not two and a join).
        spine_cols = by_file.pop("enrollment", [])
        cols = "".join(f", min({c}) AS {c}" for c in spine_cols)
        base = f"SELECT rid, school_year{cols} FROM {pq('enrollment')} GROUP BY rid, school_year"
    elif yearly:
        base = " UNION ".join(f"SELECT rid, school_year FROM {pq(f)}" for f in yearly)
    else:
        base = f"SELECT rid, CAST(NULL AS VARCHAR) AS school_year FROM {pq('student')}"
    joins = []
    if "student" in by_file:
        joins.append(
            f"LEFT JOIN (SELECT rid, {', '.join(by_file['student'])} FROM {pq('student')}) st USING (rid)"
        )
    for f, alias in (("enrollment", "en"), ("programs", "pr")):
        if f in by_file:
            cols = ", ".join(f"min({c}) AS {c}" for c in by_file[f])
            joins.append(
                f"LEFT JOIN (SELECT rid, school_year, {cols} FROM {pq(f)} GROUP BY rid, school_year) {alias} USING (rid, school_year)"
            )
    sd = mapping.school_districts
    has_districts = bool(sd) and (source / f"{sd.get('table')}.parquet").is_file()
    if "school" in spec.coarsen and "school_code" in spec.quasi_identifiers and has_districts:
        joins.append(
            f"LEFT JOIN (SELECT {sd['school']} AS school, min({sd['district']}) AS district "
            f"FROM read_parquet('{sql_path(source / (sd['table'] + '.parquet'))}') GROUP BY 1) sd ON sd.school = school_code"
        )
    exprs = [
        f"{_qi_expr(qi, spec, has_districts)} AS q{i}"
        for i, qi in enumerate(spec.quasi_identifiers)
    ]
    qcols = ", ".join(f"q{i}" for i in range(len(exprs)))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE risk_profile AS SELECT rid, school_year, {', '.join(exprs)} FROM ({base}) b {' '.join(joins)}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE risk_groups AS SELECT school_year, {qcols}, count(*) AS n "
        f"FROM risk_profile GROUP BY ALL"
    )
    # Join back on the group key (NULL-safe: a missing value is a value of its own).
    on = " AND ".join(
        f"p.{c} IS NOT DISTINCT FROM g.{c}" for c in ["school_year", *qcols.split(", ")]
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE risk_size AS SELECT p.rid, p.school_year, g.n AS size "
        f"FROM risk_profile p JOIN risk_groups g ON {on}"
    )
    groups = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE n < 5), count(*) FILTER (WHERE n < 10), min(n) FROM risk_groups"
    ).fetchone()
    assert groups is not None
    result["groups"] = {
        "total": groups[0],
        "smaller_than_5": groups[1],
        "smaller_than_10": groups[2],
        "smallest": groups[3],
    }
    # Each student's smallest group, computed once for every file that needs it.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE risk_student AS SELECT rid, min(size) AS size FROM risk_size GROUP BY rid"
    )
    for f in spec.files:
        if elements.FILES_BY_ID[f].yearly:
            sizes = (
                f"SELECT r.rid, coalesce(s.size, m.size) AS size FROM {pq(f)} r "
                "LEFT JOIN risk_size s USING (rid, school_year) "
                "LEFT JOIN risk_student m ON m.rid = r.rid"
            )
        else:
            sizes = f"SELECT r.rid, s.size FROM {pq(f)} r LEFT JOIN risk_student s USING (rid)"
        row = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE size < 5), count(*) FILTER (WHERE size < 10) FROM ({sizes})"
        ).fetchone()
        assert row is not None
        total = int(row[0])
        entry: dict[str, Any] = {"records": total}
        for k, n in zip(KS, row[1:], strict=True):
            entry[f"records_in_groups_under_{k}"] = int(n)
            entry[f"share_in_groups_under_{k}"] = round(int(n) / total, 6) if total else 0.0
        result["files"][f] = entry
    return result
