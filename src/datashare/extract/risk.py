"""Re-identification risk report: how many delivered records sit in small groups.

A record's group is every student-year sharing its quasi-identifier values (in the same
school year). Student-level quasi-identifiers reach every file through the RID, so the
profile of a record joins the student file, that year's enrollment and that year's
programs. A student file record takes the smallest group the student is in over the
extract's years (the worst case for that student). Computed on the delivered package
itself, so it measures exactly what the researcher receives, whichever engine built it.

The report's top-level ``groups`` and ``files`` are always the risk of what is delivered.
When the spec names coarsenings, the coarser release the steward could choose instead is
reported separately under ``coarsened_alternative``: never in place of the delivered figures
(the package is not coarsened, so reporting only the coarsened figures understated its risk).
A re-cut with ``apply_coarsening`` delivers coarsened values (``coarsen.apply``): its figures
are the delivered ones, measured on those values, and ``coarsening_applied`` names them.
Each delivered file is checked against the spec's threshold (share of records in groups
under k); a file above it is listed in ``warnings`` and ``exceeds_threshold`` is set, which
the portal makes a steward acknowledge before release.
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


def _qi_expr(qi: str, coarsen: list[str], has_districts: bool) -> str:
    if qi == "race_ethnicity" and "race" in coarsen:
        return "CASE WHEN race_ethnicity IN ('AI', 'NH') THEN 'OT' ELSE race_ethnicity END"
    if qi == "birth_year" and "birth_year" in coarsen:
        return "CAST(floor(birth_year / 3) * 3 AS INTEGER)"
    if qi == "school_code" and "school" in coarsen and has_districts:
        return "coalesce(sd.district, school_code)"
    return qi


def report(
    con: duckdb.DuckDBPyConnection, spec: ExtractSpec, mapping: Mapping, package: Path, source: Path
) -> dict[str, Any]:
    ks = sorted({*KS, spec.threshold_k})
    result: dict[str, Any] = {
        "quasi_identifiers": spec.quasi_identifiers,
        "k_thresholds": ks,
        "threshold": {"k": spec.threshold_k, "max_share": spec.threshold_share},
        # The delivered values were coarsened by the cut (coarsen.apply) only on a re-cut.
        "coarsening_applied": list(spec.coarsen) if spec.apply_coarsening else [],
        "files": {},
        "exceeds_threshold": False,
        "warnings": [],
    }
    if not spec.quasi_identifiers:
        result["note"] = "no quasi-identifiers were chosen in the spec"
        return result
    delivered = _measure(con, spec, mapping, package, source, [], ks)
    result.update(delivered)
    k, limit = spec.threshold_k, spec.threshold_share
    for f, entry in delivered["files"].items():
        share = entry[f"share_in_groups_under_{k}"]
        if share > limit:
            result["warnings"].append(
                f"{f}: {share:.1%} of delivered records are in quasi-identifier groups under {k} "
                f"(threshold {limit:.1%})"
            )
    result["exceeds_threshold"] = bool(result["warnings"])
    if spec.coarsen and not spec.apply_coarsening:
        alternative = _measure(con, spec, mapping, package, source, spec.coarsen, ks)
        result["coarsened_alternative"] = {
            "not_delivered": "what the package would risk with these coarsenings; re-cut to deliver it",
            "coarsening": {c: COARSENINGS[c] for c in spec.coarsen},
            **alternative,
        }
    return result


def _measure(
    con: duckdb.DuckDBPyConnection,
    spec: ExtractSpec,
    mapping: Mapping,
    package: Path,
    source: Path,
    coarsen: list[str],
    ks: list[int],
) -> dict[str, Any]:
    result: dict[str, Any] = {"files": {}}

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
    if "school" in coarsen and "school_code" in spec.quasi_identifiers and has_districts:
        joins.append(
            f"LEFT JOIN (SELECT {sd['school']} AS school, min({sd['district']}) AS district "
            f"FROM read_parquet('{sql_path(source / (sd['table'] + '.parquet'))}') GROUP BY 1) sd ON sd.school = school_code"
        )
    exprs = [
        f"{_qi_expr(qi, coarsen, has_districts)} AS q{i}"
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
    under = "".join(f", count(*) FILTER (WHERE n < {k})" for k in ks)
    groups = con.execute(f"SELECT count(*){under}, min(n) FROM risk_groups").fetchone()
    assert groups is not None
    result["groups"] = {
        "total": groups[0],
        **{f"smaller_than_{k}": groups[1 + i] for i, k in enumerate(ks)},
        "smallest": groups[-1],
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
        under = "".join(f", count(*) FILTER (WHERE size < {k})" for k in ks)
        row = con.execute(f"SELECT count(*){under} FROM ({sizes})").fetchone()
        assert row is not None
        total = int(row[0])
        entry: dict[str, Any] = {"records": total}
        for k, n in zip(ks, row[1:], strict=True):
            entry[f"records_in_groups_under_{k}"] = int(n)
            entry[f"share_in_groups_under_{k}"] = round(int(n) / total, 6) if total else 0.0
        result["files"][f] = entry
    return result
