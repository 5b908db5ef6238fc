"""Build one table for one school year with DuckDB: the frame and the disclosure spec.

The population query (see :mod:`.definitions`) is joined to each student's profile (the
``students`` row and the profile year's ``programs`` row), unnested into one row per student
group the student belongs to (All Students plus one label per partition), and summed with
GROUPING SETS: one set per organization level by (grade or All Grades). The hierarchy the sums
follow (state → districts → schools; All Students → each partition; All Grades → grades) is
returned as the disclosure engine's spec, so that engine can check and protect every relation.
"""

# ruff: noqa: S608
# The SQL is composed from the table definitions and our own identifiers only; request values
# (a district code, grades) are bound as parameters.
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from . import definitions, groups
from .definitions import COUNT, TableDef, year_label
from .engines import ENGINES, DuckDB, EngineError, Spark, SQLEngine

STATE = "WA"
LEVELS = ("state", "district", "school")
SOURCE_TABLES = ("enrollment", "programs", "students", "assessment", "attendance",
                 "discipline", "outcomes", "schools", "districts")


class BuildError(ValueError):
    """A request the source cannot answer (missing table, year not in the source, bad option)."""


@dataclass(frozen=True)
class TableRequest:
    """What to build: the standard tables use the defaults (every level, group and grade)."""

    table: str
    year: int
    level: str = "school"  # the deepest organization level
    groups: tuple[str, ...] | None = None  # partition keys; None = every supported partition
    by_grade: bool = True  # ignored for tables without grades
    district: str | None = None  # only this district (and its schools)
    grades: tuple[str, ...] | None = None  # only these grades


@dataclass
class Part:
    """One independently protected table: a slice (test subject) or the whole table."""

    slice: str | None
    frame: pd.DataFrame
    spec: dict[str, Any]


@dataclass
class Built:
    definition: TableDef
    request: TableRequest
    parts: list[Part] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # partition keys present

    @property
    def frame(self) -> pd.DataFrame:
        frames = [p.frame for p in self.parts]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def connect(source: str | Path, *, threads: int | None = None, engine: str = "duckdb",
            session: Any = None) -> SQLEngine:
    """An engine with one view per source table (Parquet files in ``source``): DuckDB in
    memory, or Spark (``session``: an existing SparkSession, else a local one)."""
    folder = Path(source)
    if not folder.is_dir():
        raise BuildError(f"source folder {folder} does not exist")
    if engine not in ENGINES:
        raise BuildError(f"unknown engine {engine!r} ({' or '.join(ENGINES)})")
    try:
        sql: SQLEngine = DuckDB(threads=threads) if engine == "duckdb" else Spark(session)
    except EngineError as exc:
        raise BuildError(str(exc)) from None
    for name in SOURCE_TABLES:
        file = folder / f"{name}.parquet"
        if file.exists():
            sql.register(name, file)
        elif name in ("enrollment", "programs", "students"):
            raise BuildError(f"source {folder} has no {name}.parquet")
        else:  # an empty table (a tiny source may have no discipline incidents)
            sql.register_empty(name)
    return sql


def source_years(sql: SQLEngine) -> list[int]:
    frame = sql.frame("SELECT DISTINCT school_year FROM enrollment ORDER BY 1")
    return [int(y) for y in frame["school_year"]]


def _check(req: TableRequest, tdef: TableDef, con: SQLEngine) -> None:
    if req.level not in LEVELS:
        raise BuildError(f"unknown organization level {req.level!r} (state, district or school)")
    if req.year not in source_years(con):
        raise BuildError(f"school year {year_label(req.year)} is not in the source")
    for key in req.groups or ():
        try:
            groups.partition(key)
        except ValueError as exc:
            raise BuildError(str(exc)) from None
    if req.grades is not None:
        bad = [g for g in req.grades if g not in definitions.GRADES]
        if bad:
            raise BuildError(f"unknown grade {bad[0]!r} (K, 01 … 12)")
    if req.district is not None and req.level == "state":
        raise BuildError("a district filter needs the district or school level")


def build(source: str | Path | SQLEngine | duckdb.DuckDBPyConnection,
          req: TableRequest) -> Built:
    """The table ``req`` asks for, split into independently protected parts."""
    tdef = _table(req.table)
    if isinstance(source, duckdb.DuckDBPyConnection):
        con: SQLEngine = DuckDB(source)
    elif isinstance(source, (str, Path)):
        con = connect(source)
    else:
        con = source
    _check(req, tdef, con)
    by_grade = tdef.by_grade and req.by_grade
    population = tdef.sql.format(year=int(req.year))
    where: dict[str, list[str]] = {}
    if req.district is not None:
        where["district_code"] = [req.district]
    if req.grades is not None and tdef.by_grade:
        where["grade"] = list(req.grades)
    # The SQL comes from the definitions; request values are applied by the engine (bound).
    con.keep("pop", population, where)
    # The profile columns listed by name (no EXCLUDE: Spark's SQL has none).
    program_cols = [c for c in con.columns("programs") if c not in ("student_key", "school_year")]
    con.keep("prof", f"""
        SELECT pop.*, s.gender, s.race_ethnicity{''.join(f', p.{c}' for c in program_cols)}
        FROM pop JOIN students s ON s.student_key = pop.student_key
        LEFT JOIN programs p ON p.student_key = pop.student_key
                            AND p.school_year = pop.profile_year
    """)
    wanted = [groups.partition(k) for k in (req.groups if req.groups is not None
                                            else [p.key for p in groups.PARTITIONS])]
    parts = _available(con, wanted)
    built = Built(tdef, req, partitions=[p.key for p in parts])
    frame = _aggregate(con, tdef, req, parts, by_grade)
    if frame.empty:
        return built
    names = _names(con)
    frame["organization_name"] = frame["organization"].map(names).fillna("")
    frame.loc[frame["organization_level"] == "state", "organization_name"] = "Washington State"
    frame["school_year"] = year_label(req.year)
    label_type = {label: p.name for p in parts for label in p.labels}
    label_type[groups.ALL_STUDENTS] = groups.ALL_STUDENTS
    frame["student_group_type"] = frame["student_group"].map(label_type)
    slices = sorted(frame["slice"].unique()) if tdef.slice_name else [None]
    for value in slices:
        piece = frame[frame["slice"] == value] if value is not None else frame
        piece = piece.reset_index(drop=True)
        spec = _spec(piece, parts, by_grade, req)
        built.parts.append(Part(value, _columns(piece, tdef, by_grade), spec))
    return built


def _table(key: str) -> TableDef:
    try:
        return definitions.table(key)
    except ValueError as exc:
        raise BuildError(str(exc)) from None


def _available(con: SQLEngine, wanted: list[groups.Partition]) -> list[groups.Partition]:
    """The wanted partitions whose column is known for every student counted."""
    if not wanted:
        return []
    cols = ", ".join(f"count(*) FILTER (WHERE ({p.sql}) IS NULL) AS m{i}"
                     for i, p in enumerate(wanted))
    row = con.frame(f"SELECT {cols} FROM prof").iloc[0].tolist()
    return [p for p, missing in zip(wanted, row, strict=True) if int(missing) == 0]


def _aggregate(con: SQLEngine, tdef: TableDef, req: TableRequest,
               parts: list[groups.Partition], by_grade: bool) -> pd.DataFrame:
    # One row per student and group: a cross join with the group numbers and a CASE (the
    # same SQL in both engines; DuckDB's UNNEST of a list and Spark's explode differ).
    labels = [f"'{groups.ALL_STUDENTS}'", *(p.sql for p in parts)]
    numbers = ", ".join(f"({i})" for i in range(len(labels)))
    label_case = "CASE g.i " + " ".join(f"WHEN {i} THEN {sql}"
                                         for i, sql in enumerate(labels)) + " END"
    org_sets: list[tuple[str, ...]] = []
    top = 0 if req.district is None else 1
    for i in range(top, LEVELS.index(req.level) + 1):
        org_sets.append(("district_code", "school_code")[:i])
    grade_sets: list[tuple[str, ...]] = [("grade",), ()] if by_grade else [()]
    sets = ", ".join(
        "(" + ", ".join(("student_group", "slice", *o, *g)) + ")"
        for o in org_sets for g in grade_sets
    )
    slice_col = "slice" if tdef.slice_name else "''"
    # GROUPING() only takes columns some set groups by.
    grouped = {c for o in org_sets for c in o}
    is_school = "GROUPING(school_code) = 0" if "school_code" in grouped else "FALSE"
    is_district = "GROUPING(district_code) = 0" if "district_code" in grouped else "FALSE"
    parent = "district_code" if "district_code" in grouped else "NULL"
    school_col = "school_code" if "school_code" in grouped else "NULL"
    grade_col = "grade" if by_grade else "''"
    grade_out = ("CASE WHEN GROUPING(grade) = 0 THEN grade ELSE 'All Grades' END" if by_grade
                 else "'All Grades'")
    sql = f"""
        WITH long AS (
            SELECT district_code, school_code, {grade_col} AS grade, {slice_col} AS slice,
                   hit, {label_case} AS student_group
            FROM prof CROSS JOIN (VALUES {numbers}) AS g(i))
        SELECT CASE WHEN {is_school} THEN 'school'
                    WHEN {is_district} THEN 'district' ELSE 'state' END
                   AS organization_level,
               CASE WHEN {is_school} THEN {school_col}
                    WHEN {is_district} THEN {parent} ELSE '{STATE}' END
                   AS organization,
               {parent} AS parent_district,
               student_group,
               {grade_out} AS grade,
               slice,
               count(*) AS denominator,
               count(*) FILTER (WHERE hit) AS numerator
        FROM long
        GROUP BY GROUPING SETS ({sets})
    """
    frame = con.frame(sql)
    level_order = {lv: i for i, lv in enumerate(LEVELS)}
    grade_order = {g: i for i, g in enumerate(("All Grades", *definitions.GRADES))}
    group_order = {groups.ALL_STUDENTS: 0}
    for p in parts:
        for label in p.labels:
            group_order[label] = len(group_order)
    frame = frame.assign(
        _l=frame["organization_level"].map(level_order),
        _g=frame["grade"].map(grade_order).fillna(99),
        _s=frame["student_group"].map(group_order),
    ).sort_values(["slice", "_l", "organization", "_s", "_g"], kind="stable")
    return frame.drop(columns=["_l", "_g", "_s"]).reset_index(drop=True)


def _names(con: SQLEngine) -> dict[str, str]:
    out: dict[str, str] = {}
    for table, code_col, name_col in (("districts", "district_code", "district_name"),
                                      ("schools", "school_code", "school_name")):
        if {code_col, name_col} <= set(con.columns(table)):  # else codes only
            for code, name in con.frame(
                    f"SELECT {code_col}, {name_col} FROM {table}").itertuples(index=False):
                out[str(code)] = str(name)
    return out


def _spec(frame: pd.DataFrame, parts: list[groups.Partition], by_grade: bool,
          req: TableRequest) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    org: dict[str, dict[str, list[str]]] = {}
    districts = sorted(frame.loc[frame["organization_level"] == "district", "organization"]
                       .unique().tolist())
    if req.district is None and req.level != "state":
        org[STATE] = {"districts": districts}
    if req.level == "school":
        schools = frame[frame["organization_level"] == "school"]
        for d, rows in schools.groupby("parent_district", sort=True):
            org[str(d)] = {"schools": sorted(rows["organization"].unique().tolist())}
    if org:
        spec["organization"] = org
    if parts:
        spec["student_group"] = {groups.ALL_STUDENTS: {p.name: list(p.labels) for p in parts}}
    if by_grade:
        present = set(frame["grade"]) - {"All Grades"}
        spec["grade"] = {"All Grades": {"grades": [g for g in definitions.GRADES
                                                   if g in present]}}
    if not spec:
        raise BuildError("the table has a single cell: choose a level, a student group or grades")
    return spec


def _columns(frame: pd.DataFrame, tdef: TableDef, by_grade: bool) -> pd.DataFrame:
    cols = ["school_year", "organization_level", "organization", "organization_name",
            "student_group_type", "student_group"]
    if by_grade:
        cols.append("grade")
    out = frame[cols].copy()
    if tdef.slice_name:
        out[tdef.slice_name] = frame["slice"]
    if tdef.kind == COUNT:
        out["count"] = frame["denominator"].astype("int64")
    else:
        out["numerator"] = frame["numerator"].astype("int64")
        out["denominator"] = frame["denominator"].astype("int64")
    return out
