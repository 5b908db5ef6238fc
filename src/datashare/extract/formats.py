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


_DTA_MISSING = {65530: 101, 65529: 32741, 65528: 2147483621}  # byte, int, long: "."
_DTA_NUMPY = {65530: "<i1", 65529: "<i2", 65528: "<i4", 65527: "<f4", 65526: "<f8"}
_DTA_EPOCH = dt.date(1960, 1, 1)


def _dta_types(head: bytes, k: int) -> list[int]:
    import struct

    at = head.index(b"<variable_types>") + len(b"<variable_types>")
    return list(struct.unpack_from(f"<{k}H", head, at))


def _dta_rows(table: pa.Table, types: list[int]) -> bytes:
    """The fixed-width Stata rows of ``table``, encoded with NumPy from Arrow: what ReadStat
    writes for the same values and column types (strings padded with NULs, missing numbers as
    Stata's '.'), without going through pandas objects one value at a time."""
    import numpy as np

    fields = []
    for name, code in zip(table.column_names, types, strict=True):
        fields.append((name, f"S{code}" if code <= 2045 else _DTA_NUMPY[code]))
    out = np.zeros(len(table), dtype=np.dtype(fields))
    for (name, fmt), code in zip(fields, types, strict=True):
        col = table.column(name)
        if code <= 2045:
            values = col.cast(pa.string()).fill_null("").to_numpy(zero_copy_only=False)
            out[name] = np.char.encode(values.astype(str), "utf-8")
            continue
        if pa.types.is_date(col.type):
            days = pc.days_between(pa.scalar(_DTA_EPOCH, col.type), col)
            nums = days.cast(pa.float64()).to_numpy(zero_copy_only=False)
        elif pa.types.is_boolean(col.type):
            nums = col.cast(pa.int8()).cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            nums = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        missing = np.isnan(nums)
        if code == 65526:
            bits = nums.view(np.uint64).copy()
            bits[missing] = 0x7FE0000000000000  # Stata's '.' for a double
            out[name] = bits.view(np.float64)
        elif code == 65527:
            f32 = nums.astype(np.float32)
            bits32 = f32.view(np.uint32).copy()
            bits32[missing] = 0x7F000000
            out[name] = bits32.view(np.float32)
        else:
            ints = np.where(missing, _DTA_MISSING[code], np.nan_to_num(nums)).astype(fmt)
            out[name] = ints
    return out.tobytes()


def _dta_sections(blob: bytes) -> tuple[int, int]:
    start = blob.index(b"<data>") + len(b"<data>")
    return start, blob.index(b"</data>", start)


def write_dta_streamed(
    parquet: Path, dest: Path, *, file_label: str, chunk_rows: int = DTA_CHUNK_ROWS
) -> None:
    """A Stata file written a slice at a time, so memory is bounded by the slice, not the file.

    ReadStat (pyreadstat) writes a whole frame at once, one Python value at a time. Here it
    writes only a one-row file whose row (a sentinel) has the whole file's column types and
    string widths (the longest values, a double wherever a value is missing); its header and
    trailer (value labels) are kept, its row is replaced by the file's rows, encoded with NumPy
    from Arrow a slice at a time (``_dta_rows``), and the header's observation count and the
    map's offsets after the data are patched. The result is byte-for-byte the file pyreadstat
    writes from the whole frame (tests/extract/test_package.py checks it on every file).
    """
    import struct
    import tempfile

    pf = pq.ParquetFile(parquet)
    nullable, widths = _file_profile(parquet)
    if any(w > 2045 for w in widths.values()):  # a strL would not be fixed-width
        write_extra("dta", parquet, dest, file_label, dt.date(2000, 1, 1), streamed=False)
        return
    if pf.metadata.num_rows == 0:  # the whole-file writer handles the empty frame
        write_extra("dta", parquet, dest, file_label, dt.date(2000, 1, 1), streamed=False)
        return
    total = 0
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp, open(
        Path(tmp) / "rows", "wb+"
    ) as rows:
        # ReadStat writes the header and trailer from one sentinel row (types, widths, labels);
        # the data rows are encoded with NumPy a slice at a time.
        sentinel = _sentinel(pf.schema_arrow.empty_table(), widths)
        df, labels = _frame(sentinel, nullable)
        part = Path(tmp) / "part.dta"
        pyreadstat.write_dta(
            df, str(part), file_label=file_label[:80],
            column_labels={str(c): column_label(str(c)) for c in df.columns},
            variable_value_labels=labels,
        )  # fmt: skip
        blob = part.read_bytes()
        start, end = _dta_sections(blob)
        width = end - start
        head, tail = blob[:start], blob[end:]
        types = _dta_types(head, len(sentinel.column_names))
        for batch in pf.iter_batches(batch_size=chunk_rows):
            table = pa.Table.from_batches([batch]).cast(sentinel.schema)
            encoded = _dta_rows(table, types)
            if len(encoded) != width * len(table):
                raise RuntimeError("Stata rows disagree with the header's row width")
            rows.write(encoded)
            total += len(table)
        delta = (total - 1) * width  # data bytes beyond the sentinel's
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
