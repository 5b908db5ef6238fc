"""The extract expressed once, as SQL text that both DuckDB and Spark SQL run unchanged.

Views the engines register: ``src_<table>`` for each source table and ``crosswalk``
(student_key, rid). Only mapped columns are selected; the student key is used to join and
never selected. Rows are sorted by RID (then every column) so that the output order is
deterministic and carries nothing of the source's order.
"""

# SQL here is assembled from identifiers validated against the element list and mapping,
# and paths quoted by sql_path; no user-supplied value is spliced in unvalidated.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from datashare import elements

from .mapping import Mapping
from .spec import ExtractSpec

SQL_TYPES = {
    elements.DataType.STRING: "STRING",
    elements.DataType.INTEGER: "INTEGER",
    elements.DataType.DECIMAL: "DECIMAL(6,2)",
    elements.DataType.BOOLEAN: "BOOLEAN",
    elements.DataType.DATE: "DATE",
}
ARROW_TYPES = {
    elements.DataType.STRING: pa.string(),
    elements.DataType.INTEGER: pa.int32(),
    elements.DataType.DECIMAL: pa.decimal128(6, 2),
    elements.DataType.BOOLEAN: pa.bool_(),
    elements.DataType.DATE: pa.date32(),
}


def q(name: str) -> str:
    """Quote an identifier for both engines (names are validated; backquotes are rejected)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe identifier {name!r}")
    return name


ROW_NUMBER = "file_row_number"  # added by the engines: 0-based row index within the source file


def view(table: str) -> str:
    return f"src_{q(table)}"


def years_cte(years: list[int]) -> str:
    """A tiny table of the selected years and their labels ('2019-20', the documented form).

    Joining it is much cheaper than formatting a label for every row (string building per row
    was the single largest cost over the plain copy), and it is plain SQL both engines run.
    """
    rows = " UNION ALL ".join(
        f"SELECT {y} AS year_end, '{elements.format_school_year(y)}' AS label" for y in years
    )
    return f"WITH school_years AS ({rows}) "


@dataclass(frozen=True)
class FileQuery:
    file: str
    columns: list[str]  # output column names in order
    schema: pa.Schema
    sql: str
    copy_sql: str  # the benchmark floor: same rows and columns with the source key, no RID, no sort
    unsorted_sql: str  # the extract without its RID sort (benchmark diagnostic only)
    # The same query as data, for the DuckDB engine's gather path (datashare.extract.gather):
    table: str = ""
    student_key: str = ""
    year: str | None = None
    years: tuple[int, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()  # (output element, source column)


def years_list(years: list[int]) -> str:
    return ", ".join(str(y) for y in years)


def population_sql(spec: ExtractSpec, mapping: Mapping, within: list[int] | None = None) -> str:
    """Every student with a record in enrollment in a year of the extract, or in a requested
    file in one of that file's years (``spec.file_years``); ``within``: only in those years
    (the students a one-row-per-student element approved for fewer years is delivered for)."""
    key = q(mapping.student_key)
    parts = []
    for f in dict.fromkeys(["enrollment", *spec.files]):
        fm = mapping.files.get(f)
        if fm is None or fm.year is None:
            continue
        years = spec.file_years(f) if f in spec.files else spec.school_years
        if within is not None:
            years = [y for y in years if y in within]
            if not years:
                continue
        parts.append(
            f"SELECT {key} AS student_key FROM {view(fm.table)} WHERE {q(fm.year)} IN ({years_list(years)})"
        )
    if not parts:
        return "SELECT CAST(NULL AS BIGINT) AS student_key WHERE false"
    # A null key is no student: DISTINCT would keep it, and it would become a crosswalk row.
    return (
        "SELECT DISTINCT student_key FROM ("
        + " UNION ALL ".join(parts)
        + ") p WHERE student_key IS NOT NULL"
    )


def file_query(spec: ExtractSpec, mapping: Mapping, file: str) -> FileQuery:
    fm = mapping.files[file]
    select = ["x.rid AS rid"]
    plain = [f"t.{q(mapping.student_key)} AS student_key"]  # the floor writes an ID column too
    fields = [pa.field("rid", pa.string())]
    if fm.year is not None:
        select.append("y.label AS school_year")
        plain.append(f"t.{q(fm.year)} AS school_year")
        fields.append(pa.field("school_year", pa.string()))
    for e in spec.files[file]:
        el = elements.get(e)
        col = q(mapping.column(e))
        select.append(f"CAST(t.{col} AS {SQL_TYPES[el.dtype]}) AS {q(e)}")
        plain.append(f"t.{col} AS {q(e)}")
        fields.append(pa.field(e, ARROW_TYPES[el.dtype]))
    columns = [f.name for f in fields]
    years = spec.file_years(file)
    where = f" WHERE t.{q(fm.year)} IN ({years_list(years)})" if fm.year is not None else ""
    # Sort key: RID order, then school year, then the row's position in its source file: a
    # total order on fixed-width integers (cheap to sort, unlike every column's strings),
    # identical in both engines. Within a student the source order survives; across
    # students only the random RID order does.
    order = ", ".join(
        ["x.rid_order", *([f"t.{q(fm.year)}"] if fm.year is not None else []), f"t.{ROW_NUMBER}"]
    )
    join_years = (
        f" JOIN school_years y ON y.year_end = t.{q(fm.year)}" if fm.year is not None else ""
    )
    unsorted = (
        f"{years_cte(years) if fm.year is not None else ''}SELECT {', '.join(select)} FROM {view(fm.table)} t "
        f"JOIN crosswalk x ON t.{q(mapping.student_key)} = x.student_key{join_years}{where}"
    )
    # Sorted by RID, then every column: deterministic, and the source's row order (which may
    # follow names or state IDs) does not survive into the extract.
    sql = f"{unsorted} ORDER BY {order}"
    if fm.year is None:  # one row per student: only the extract's population
        plain_sql = f"SELECT {', '.join(plain)} FROM {view(fm.table)} t SEMI JOIN crosswalk x ON t.{q(mapping.student_key)} = x.student_key"
    else:
        plain_sql = f"SELECT {', '.join(plain)} FROM {view(fm.table)} t{where}"
    return FileQuery(
        file,
        columns,
        pa.schema(fields),
        sql,
        plain_sql,
        unsorted,
        table=fm.table,
        student_key=mapping.student_key,
        year=fm.year,
        years=tuple(years),
        sources=tuple((e, mapping.column(e)) for e in spec.files[file]),
    )
