"""Each element only for the school years the agreement approves for it (``element_years``).

An agreement's Exhibit A gives every element its own years. The extract cuts each yearly file
for the years of any of its elements (``spec.file_years``: a year none of them is approved for
has no row), then blanks, here, each element's values outside its own years:

* in a yearly file, the cells of the rows whose ``school_year`` is not one of the element's;
* in the one-row-per-student file (demographics), the cells of the students who have no
  record in one of the element's years (``sql.population_sql(..., within=years)``): a
  student's gender approved for 2019-20 is delivered for the students of 2019-20 only.

Delivering the union of every element's years would disclose an element for years the
agreement does not list. Like the coarsening, each Parquet file is rewritten row group by row
group (memory bounded by a row group), rows in the same order, before any other format, the
risk report or a checksum is derived from it; nothing is rewritten when every element has the
extract's years.
"""

# SQL here is assembled from identifiers validated against the element list and mapping,
# and paths quoted by sql_path; no user-supplied value is spliced in.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from datashare import elements

from . import engines, gather, sql
from .mapping import Mapping
from .spec import ExtractSpec


def narrowed(spec: ExtractSpec, file: str) -> dict[str, list[int]]:
    """The elements of ``file`` whose values are blank in some of the file's rows: element ->
    the years it is delivered for."""
    if not spec.element_years:
        return {}
    rows_years = spec.file_years(file) if elements.FILES_BY_ID[file].yearly else spec.school_years
    return {e: spec.years_of(e) for e in spec.files[file] if spec.years_of(e) != rows_years}


def _students_of(
    spec: ExtractSpec, mapping: Mapping, paths: dict[str, Path], crosswalk: pa.Table,
    work: Path, years: list[int],
) -> pa.Array:  # fmt: skip
    """The RIDs of the students with a record in ``years`` (enrollment or a requested file)."""
    con = engines.duckdb_connect(work, memory_limit="1GB")
    try:
        for table, path in paths.items():
            con.execute(
                f"CREATE VIEW {sql.view(table)} AS SELECT * FROM read_parquet('{engines.sql_path(path)}')"
            )
        con.register("crosswalk", crosswalk.select(["student_key", "rid"]))
        population = sql.population_sql(spec, mapping, within=years)
        rids = con.sql(
            f"SELECT x.rid FROM crosswalk x SEMI JOIN ({population}) p ON x.student_key = p.student_key"
        ).to_arrow_table()
    finally:
        con.close()
    return rids.column(0).combine_chunks()


def apply(
    spec: ExtractSpec, mapping: Mapping, package: Path, paths: dict[str, Path],
    crosswalk: pa.Table, work: Path,
) -> None:  # fmt: skip
    """Blank every element's values outside its years in the package's Parquet files (each
    file replaced by a rename once its copy is whole)."""
    for f in spec.files:
        masks = narrowed(spec, f)
        if not masks:
            continue
        yearly = elements.FILES_BY_ID[f].yearly
        key = "school_year" if yearly else "rid"
        keep: dict[str, pa.Array] = {}
        for e, years in masks.items():
            keep[e] = (
                pa.array([elements.format_school_year(y) for y in years], pa.string())
                if yearly
                else _students_of(spec, mapping, paths, crosswalk, work, years)
            )
        gather.rewrite_in_place(package / f"{f}.parquet", _blanking(keep, key), "years")


def _blanking(keep: dict[str, pa.Array], key: str) -> Callable[[pa.Table], pa.Table]:
    """A row group with each element's cells blank where ``key`` is not in its values."""

    def blank(table: pa.Table) -> pa.Table:
        for e, values in keep.items():
            at = table.schema.get_field_index(e)
            field = table.schema.field(e)
            inside = pc.is_in(table.column(key), value_set=values)
            column = pc.if_else(inside, table.column(e), pa.scalar(None, field.type))
            table = table.set_column(at, field, column)
        return table

    return blank
