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
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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


def _frame(
    parquet: Path | pa.Table, nullable: set[str] | None = None
) -> tuple[pd.DataFrame, dict[str, dict[int | float, str]]]:
    """A pandas frame pyreadstat can write, and numeric value labels.

    Booleans become 1/0 labelled Yes/No, decimals become floats; strings stay strings (Stata
    cannot label strings, so code lists are documented in the codebook). ``nullable`` names
    the columns with a missing value anywhere in the file (a slice of it may have none): a
    boolean or integer column with one is written as a double in every slice.
    """
    table = pq.read_table(parquet) if isinstance(parquet, Path) else parquet
    labels: dict[str, dict[int | float, str]] = {}
    cols: dict[str, pd.Series] = {}
    for name in table.column_names:
        arr = table.column(name)
        has_null = arr.null_count > 0 if nullable is None else name in nullable
        el = elements.ELEMENTS_BY_ID.get(name) if name not in ("rid", "school_year") else None
        if pa.types.is_boolean(arr.type):
            cols[name] = pd.Series(
                arr.cast(pa.int8()).to_pandas(), dtype="float64" if has_null else "int8"
            )
            labels[name] = dict(BOOL_LABELS)
        elif pa.types.is_decimal(arr.type):
            cols[name] = arr.cast(pa.float64()).to_pandas()
        elif pa.types.is_date(arr.type):
            # datetime.date objects: pyreadstat writes them as dates (DATE9 / %td / DATE11).
            cols[name] = pd.Series(arr.to_pylist(), dtype="object")
        elif pa.types.is_integer(arr.type):
            series = arr.to_pandas()
            cols[name] = series.astype("float64") if has_null else series
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


# Rows per slice of the streamed Stata writer: a slice is what is held in memory (as pandas).
DTA_CHUNK_ROWS = 1_000_000


def _file_profile(parquet: Path) -> tuple[set[str], dict[str, int]]:
    """Columns with a missing value anywhere, and each string column's longest value in
    bytes: read one column and one row group at a time."""
    pf = pq.ParquetFile(parquet)
    nullable: set[str] = set()
    widths: dict[str, int] = {}
    for field in pf.schema_arrow:
        is_str = pa.types.is_string(field.type) or pa.types.is_large_string(field.type) or (
            pa.types.is_dictionary(field.type) and pa.types.is_string(field.type.value_type)
        )
        for rg in range(pf.num_row_groups):
            col = pf.read_row_group(rg, columns=[field.name]).column(0)
            if col.null_count:
                nullable.add(field.name)
            if is_str:
                values = col.combine_chunks()
                if pa.types.is_dictionary(values.type):
                    values = values.dictionary
                longest = pc.max(pc.binary_length(values)).as_py() if len(values) else 0
                widths[field.name] = max(widths.get(field.name, 0), longest or 0)
    return nullable, widths


def _sentinel(table: pa.Table, widths: dict[str, int]) -> pa.Table:
    """One row with every value present and every string at the file's longest width, put
    first in each slice so that every slice gets the same Stata column types and widths."""
    row = {}
    for field in table.schema:
        t = field.type
        if field.name in widths:
            row[field.name] = pa.array(["x" * max(1, widths[field.name])], pa.string())
        elif pa.types.is_boolean(t):
            row[field.name] = pa.array([False])
        elif pa.types.is_date(t):
            row[field.name] = pa.array([dt.date(2000, 1, 1)], t)
        else:
            row[field.name] = pa.array([0], t)
    return pa.table(row)


def _dta_sections(blob: bytes) -> tuple[int, int]:
    start = blob.index(b"<data>") + len(b"<data>")
    return start, blob.index(b"</data>", start)


def write_dta_streamed(
    parquet: Path, dest: Path, *, file_label: str, chunk_rows: int = DTA_CHUNK_ROWS
) -> None:
    """A Stata file written a slice at a time, so memory is bounded by the slice, not the file.

    ReadStat (pyreadstat) writes a whole frame at once. Each slice is written to its own small
    .dta with the same column types and widths (a sentinel row, dropped again, carries the
    file's longest strings); their fixed-width data rows are concatenated between the first
    slice's header and its trailer (value labels), and the header's observation count and the
    map's offsets after the data are patched. The result is byte-for-byte the file pyreadstat
    writes from the whole frame (tests/extract/test_package.py checks it).
    """
    import struct
    import tempfile

    pf = pq.ParquetFile(parquet)
    nullable, widths = _file_profile(parquet)
    if any(w > 2045 for w in widths.values()):  # a strL would not be fixed-width
        write_extra("dta", parquet, dest, file_label, dt.date(2000, 1, 1), streamed=False)
        return
    head = tail = b""
    width = first_rows = total = 0
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp, open(
        Path(tmp) / "rows", "wb+"
    ) as rows:
        for batch in pf.iter_batches(batch_size=chunk_rows):
            table = pa.Table.from_batches([batch])
            sentinel = _sentinel(table, widths)
            piece = pa.concat_tables([sentinel, table.cast(sentinel.schema)])
            del table
            df, labels = _frame(piece, nullable)
            part = Path(tmp) / "part.dta"
            pyreadstat.write_dta(
                df, str(part), file_label=file_label[:80],
                column_labels={str(c): column_label(str(c)) for c in df.columns},
                variable_value_labels=labels,
            )  # fmt: skip
            del df
            blob = part.read_bytes()
            start, end = _dta_sections(blob)
            n = len(piece)
            if not head:
                width = (end - start) // n
                head, tail, first_rows = blob[:start], blob[end:], n
            elif (end - start) != width * n:
                raise RuntimeError("Stata slices disagree on the row width")
            rows.write(blob[start + width : end])  # without the sentinel row
            total += n - 1
        if not head:  # no rows at all: the whole-file writer handles the empty frame
            write_extra("dta", parquet, dest, file_label, dt.date(2000, 1, 1), streamed=False)
            return
        delta = (total - first_rows) * width  # data bytes beyond the first slice's (with its sentinel)
        header = bytearray(head)
        n_at = header.index(b"<N>") + 3
        header[n_at : n_at + 8] = struct.pack("<Q", total)
        map_at = header.index(b"<map>") + 5
        offsets = list(struct.unpack_from("<14Q", header, map_at))
        for i in range(10, 14):  # strls, value_labels, </stata_dta>, end of file
            offsets[i] += delta
        struct.pack_into("<14Q", header, map_at, *offsets)
        rows.seek(0)
        with open(dest, "wb") as out:
            out.write(header)
            shutil.copyfileobj(rows, out, 1 << 20)
            out.write(tail)


def write_extra(
    fmt: str, parquet: Path, dest: Path, file_label: str, when: dt.date, streamed: bool = True
) -> None:
    if fmt == "dta" and streamed:
        write_dta_streamed(parquet, dest, file_label=file_label)
        pin_timestamps(fmt, dest, when)
        return
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
