"""Formats derived from a file's final Parquet: CSV (always) and, on request, Stata .dta,
SPSS .sav and SAS .xpt through pyreadstat.

Every format is written from the same Parquet file, so they agree with each other whichever
engine produced it.
"""

# SQL here is assembled from identifiers validated against the element list and mapping,
# and paths quoted by sql_path; no user-supplied value is spliced in unvalidated.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat

from datashare import elements

from .engines import sql_path

BOOL_LABELS: dict[int | float, str] = {1: "Yes", 0: "No"}


def write_csv(con: duckdb.DuckDBPyConnection, parquet: Path, dest: Path) -> None:
    """UTF-8 CSV with a header, streamed (insertion order preserved)."""
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{sql_path(parquet)}')) TO '{sql_path(dest)}' "
        "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', NULL '', DATEFORMAT '%Y-%m-%d')"
    )


def column_label(column: str) -> str:
    if column == "rid":
        return "Research ID (RID)"
    return elements.get(column).name


def _frame(parquet: Path) -> tuple[pd.DataFrame, dict[str, dict[int | float, str]]]:
    """A pandas frame pyreadstat can write, and numeric value labels.

    Booleans become 1/0 labelled Yes/No, decimals become floats; strings stay strings (Stata
    cannot label strings, so code lists are documented in the codebook).
    """
    table = pq.read_table(parquet)
    labels: dict[str, dict[int | float, str]] = {}
    cols: dict[str, pd.Series] = {}
    for name in table.column_names:
        arr = table.column(name)
        el = elements.ELEMENTS_BY_ID.get(name) if name not in ("rid", "school_year") else None
        if pa.types.is_boolean(arr.type):
            cols[name] = pd.Series(
                arr.cast(pa.int8()).to_pandas(), dtype="float64" if arr.null_count else "int8"
            )
            labels[name] = dict(BOOL_LABELS)
        elif pa.types.is_decimal(arr.type):
            cols[name] = arr.cast(pa.float64()).to_pandas()
        elif pa.types.is_date(arr.type):
            # datetime.date objects: pyreadstat writes them as dates (DATE9 / %td / DATE11).
            cols[name] = pd.Series(arr.to_pylist(), dtype="object")
        elif pa.types.is_integer(arr.type):
            cols[name] = arr.to_pandas()
            if el is not None and el.value_labels:
                labels[name] = {int(k): v for k, v in el.value_labels.items()}
        else:
            cols[name] = arr.to_pandas().fillna("")
    return pd.DataFrame(cols), labels


_XPT_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
_DTA_STAMP = re.compile(rb"<timestamp>(.)(.{17})</timestamp>", re.DOTALL)
_SAV_STAMP_AT = 4 + 60 + 4 * 5 + 8  # after rec_type, product, 5 int32 and the bias double


def pin_timestamps(fmt: str, path: Path, when: dt.date) -> None:
    """Replace the writer's clock time in the file header with ``when`` (midnight).

    ReadStat stamps .dta, .sav and .xpt headers with the current time; pinning it keeps a re-run of
    the same spec byte-for-byte identical, so SHA256SUMS and the manifest match too.
    """
    data = bytearray(path.read_bytes())
    if fmt == "xpt":
        stamp = when.strftime("%d%b%y").upper().encode("ascii") + b":00:00:00"
        head = _XPT_STAMP.sub(stamp, bytes(data[:2048]))
        data[:2048] = head
    elif fmt == "dta":
        stamp = when.strftime("%d %b %Y 00:00").encode("ascii")
        m = _DTA_STAMP.search(bytes(data[:1024]))
        if m and len(m.group(2)) == len(stamp):
            data[m.start(2) : m.end(2)] = stamp
    elif fmt == "sav" and data[:4] in (b"$FL2", b"$FL3"):
        stamp = when.strftime("%d %b %y").encode("ascii") + b"00:00:00"
        data[_SAV_STAMP_AT : _SAV_STAMP_AT + 17] = stamp
    path.write_bytes(bytes(data))


def write_extra(fmt: str, parquet: Path, dest: Path, file_label: str, when: dt.date) -> None:
    df, labels = _frame(parquet)
    column_labels: dict[str, str | None] = {str(c): column_label(str(c)) for c in df.columns}
    if fmt == "dta":
        pyreadstat.write_dta(
            df,
            str(dest),
            file_label=file_label[:80],
            column_labels=column_labels,
            variable_value_labels=labels,
        )
    elif fmt == "sav":
        pyreadstat.write_sav(
            df,
            str(dest),
            file_label=file_label,
            column_labels=column_labels,
            variable_value_labels=labels,
            compress=True,
        )
    elif fmt == "xpt":
        # Version 8 transport: long (32-character) variable names such as special_education.
        pyreadstat.write_xport(
            df,
            str(dest),
            file_label=file_label[:40],
            column_labels=column_labels,
            file_format_version=8,
            table_name=dest.stem[:8],
        )
    else:  # pragma: no cover - spec validation only lets known formats through
        raise ValueError(fmt)
    pin_timestamps(fmt, dest, when)
