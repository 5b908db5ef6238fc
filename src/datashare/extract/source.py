"""Checks a source against the spec and mapping before anything is written."""

# SQL here is assembled from identifiers validated against the element list and mapping,
# and paths quoted by sql_path; no user-supplied value is spliced in unvalidated.
# ruff: noqa: S608

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from datashare import elements

from .engines import sql_path
from .errors import ExtractError
from .mapping import Mapping
from .spec import ExtractSpec


def table_path(source: Path, table: str) -> Path:
    return source / f"{table}.parquet"


def check(spec: ExtractSpec, mapping: Mapping, source: Path) -> dict[str, Path]:
    """The source tables the extract reads, by table name; raises ExtractError on any gap."""
    if not source.is_dir():
        raise ExtractError(f"source folder {source} does not exist")
    forbidden = mapping.identifier_columns()
    needed: dict[str, set[str]] = {}
    for f in dict.fromkeys(["enrollment", *spec.files]):
        fm = mapping.files.get(f)
        if fm is None:
            raise ExtractError(f"mapping {mapping.name!r} has no source table for file {f!r}")
        cols = needed.setdefault(fm.table, set())
        cols.add(mapping.student_key)
        if fm.year:
            cols.add(fm.year)
        for e in spec.files.get(f, []):
            col = mapping.column(e)
            if (fm.table, col) in forbidden:
                # Defence in depth: a mapping must not smuggle an identifier out under another name.
                raise ExtractError(
                    f"element {e!r} maps to {fm.table}.{col}, which holds a direct identifier"
                )
            cols.add(col)
    paths: dict[str, Path] = {}
    for table, cols in needed.items():
        path = table_path(source, table)
        if not path.is_file():
            raise ExtractError(f"source table {table!r} not found ({path})")
        try:
            names = set(pq.read_schema(path).names)
        except Exception as exc:
            raise ExtractError(
                f"source table {table!r} is not readable Parquet ({type(exc).__name__})"
            ) from None
        if "file_row_number" in names:
            raise ExtractError(
                f"source table {table!r} has a column named file_row_number, which the engine reserves"
            )
        missing = sorted(cols - names)
        if missing:
            raise ExtractError(f"source table {table!r} has no column {missing[0]!r}")
        paths[table] = path
    enrollment = mapping.files["enrollment"]
    assert enrollment.year is not None
    with duckdb.connect() as con:
        present = {
            int(r[0])
            for r in con.execute(
                f"SELECT DISTINCT {enrollment.year} FROM read_parquet('{sql_path(paths[enrollment.table])}')"
            ).fetchall()
            if r[0] is not None
        }
    for y in spec.school_years:
        if y not in present:
            raise ExtractError(f"school year {elements.format_school_year(y)} is not in the source")
    return paths
