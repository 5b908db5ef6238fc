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
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat

from datashare import elements

from . import fixedwidth
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
        elif pa.types.is_decimal(arr.type) or pa.types.is_floating(arr.type):
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
    # Only the header is read and rewritten in place: the file may be gigabytes.
    with open(path, "r+b") as f:
        data = bytearray(f.read(2048))
        size = len(data)
        if fmt == "xpt":
            # Only the header records (before the first observation) carry a stamp.
            obs = data.find(b"HEADER RECORD*******OBS")
            stop = obs if obs >= 0 else size
            stamp = when.strftime("%d%b%y").upper().encode("ascii") + b":00:00:00"
            data[:stop] = _XPT_STAMP.sub(stamp, bytes(data[:stop]))
        elif fmt == "dta":
            stamp = when.strftime("%d %b %Y 00:00").encode("ascii")
            m = _DTA_STAMP.search(bytes(data[:1024]))
            if m and len(m.group(2)) == len(stamp):
                data[m.start(2) : m.end(2)] = stamp
        elif fmt == "sav" and data[:4] in (b"$FL2", b"$FL3"):
            stamp = when.strftime("%d %b %y").encode("ascii") + b"00:00:00"
            data[_SAV_STAMP_AT : _SAV_STAMP_AT + 17] = stamp
        if len(data) != size:  # pragma: no cover - every substitution keeps the length
            raise RuntimeError("timestamp patch changed the header's length")
        f.seek(0)
        f.write(bytes(data))


# Rows per slice of the streamed writers: a slice is what is held in memory (as Arrow and one
# byte matrix of its rows).
CHUNK_ROWS = 1_000_000
STREAMED = ("dta", "sav", "xpt")


_profiles: dict[tuple[str, int, int], tuple[set[str], dict[str, int]]] = {}
_profiles_lock = threading.Lock()


def _file_profile(parquet: Path) -> tuple[set[str], dict[str, int]]:
    """Columns with a missing value anywhere, and each string column's longest value in
    bytes: read one column and one row group at a time; once per file (kept by path, size
    and modification time), not once per format."""
    st = parquet.stat()
    key = (str(parquet.resolve()), st.st_size, st.st_mtime_ns)
    with _profiles_lock:
        if key in _profiles:
            return _profiles[key]
    profile = _measure(parquet)
    with _profiles_lock:
        if len(_profiles) > 64:
            _profiles.clear()
        _profiles[key] = profile
    return profile


def _measure(parquet: Path) -> tuple[set[str], dict[str, int]]:
    pf = pq.ParquetFile(parquet)
    nullable: set[str] = set()
    widths: dict[str, int] = {}
    for field in pf.schema_arrow:
        is_str = _is_string(field.type)
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


def _is_string(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type))
    )


def _sentinel(table: pa.Table, widths: dict[str, int]) -> pa.Table:
    """One row with every value present and every string at the file's longest width, put
    first in each slice so that every slice gets the same column types and widths."""
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


def _write_frame(
    fmt: str, df: pd.DataFrame, labels: dict[str, dict[int | float, str]], dest: Path,
    file_label: str,
) -> None:  # fmt: skip
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
            # Bytecode row compression, SPSS's default "compressed" .sav, which every SPSS
            # version and reader opens (zlib .zsav needs SPSS 21+, and its zlib pass cost
            # minutes of CPU at scale 1 for about a third of the size).
            row_compress=True,
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


# --- Stata (.dta 118) -------------------------------------------------------------------------

_DTA_MISSING = {65530: 101, 65529: 32741, 65528: 2147483621}  # byte, int, long: "."
_DTA_NUMPY = {65530: "<i1", 65529: "<i2", 65528: "<i4", 65527: "<f4", 65526: "<f8"}
_DTA_EPOCH = dt.date(1960, 1, 1)


def _dta_types(head: bytes, k: int) -> list[int]:
    at = head.index(b"<variable_types>") + len(b"<variable_types>")
    return list(struct.unpack_from(f"<{k}H", head, at))


def _dta_rows(table: pa.Table, types: list[int]) -> np.ndarray:
    """The fixed-width Stata rows of ``table`` (strings padded with NULs, missing numbers as
    Stata's '.'): what ReadStat writes for the same values and column types."""
    widths = [code if code <= 2045 else np.dtype(_DTA_NUMPY[code]).itemsize for code in types]
    out = np.zeros((len(table), sum(widths)), dtype=np.uint8)
    at = 0
    for name, code, width in zip(table.column_names, types, widths, strict=True):
        col = table.column(name)
        if code <= 2045:
            fixedwidth.put_strings(col, out, at, width)
        else:
            nums = fixedwidth.numbers(col, _DTA_EPOCH)
            missing = np.isnan(nums)
            if code == 65526:
                bits = nums.view(np.uint64).copy()
                bits[missing] = 0x7FE0000000000000  # Stata's '.' for a double
                encoded = bits.astype("<u8")
            elif code == 65527:
                bits32 = nums.astype(np.float32).view(np.uint32).copy()
                bits32[missing] = 0x7F000000
                encoded = bits32.astype("<u4")
            else:
                fmt = _DTA_NUMPY[code]
                encoded = np.where(missing, _DTA_MISSING[code], np.nan_to_num(nums)).astype(fmt)
            out[:, at : at + width] = encoded.view(np.uint8).reshape(len(table), width)
        at += width
    return out


def _dta_data(blob: bytes) -> tuple[int, int]:
    start = blob.index(b"<data>") + len(b"<data>")
    return start, blob.index(b"</data>", start)


# --- SPSS (.sav with bytecode-compressed rows: what SPSS itself writes by default) ------------

_SAV_NCASES_AT = 4 + 60 + 4 * 4  # after rec_type, product, layout, case size, compression, weight
_SAV_EPOCH = dt.date(1582, 10, 14)  # SPSS dates are seconds since the Gregorian calendar began
_SAV_END = struct.pack("<ii", 999, 0)  # the dictionary's end: record 999 and a filler


def _sav_layout(table: pa.Table, widths: dict[str, int]) -> tuple[list[int], np.ndarray]:
    """Each column's width in the row (strings rounded up to 8-byte segments, numbers 8) and
    which segments hold strings."""
    sizes = [-(-max(1, widths[n]) // 8) * 8 if n in widths else 8 for n in table.column_names]
    is_string = np.concatenate(
        [np.full(size // 8, name in widths) for name, size in zip(table.column_names, sizes, strict=True)]
    )  # fmt: skip
    return sizes, is_string


def _sav_rows(table: pa.Table, sizes: list[int], widths: dict[str, int]) -> np.ndarray:
    out = np.full((len(table), sum(sizes)), 32, dtype=np.uint8)  # strings are space-padded
    at = 0
    for name, size in zip(table.column_names, sizes, strict=True):
        col = table.column(name)
        if name in widths:
            fixedwidth.put_strings(col, out, at, size)
        else:
            nums = fixedwidth.numbers(col, _SAV_EPOCH)
            if pa.types.is_date(col.type):
                nums = nums * 86400.0
            bits = nums.view(np.uint64).copy()
            bits[np.isnan(nums)] = fixedwidth.SAV_SYSMIS
            out[:, at : at + 8] = bits.astype("<u8").view(np.uint8).reshape(len(table), 8)
        at += size
    return out


# --- SAS transport (.xpt, version 8) ------------------------------------------------------------

_SAS_EPOCH = dt.date(1960, 1, 1)
_XPT_OBS = b"HEADER RECORD*******OBSV8   HEADER RECORD!!!!!!!"


def _xpt_rows(table: pa.Table, widths: dict[str, int]) -> np.ndarray:
    sizes = [max(1, widths[n]) if n in widths else 8 for n in table.column_names]
    out = np.full((len(table), sum(sizes)), 32, dtype=np.uint8)  # strings are space-padded
    at = 0
    for name, size in zip(table.column_names, sizes, strict=True):
        col = table.column(name)
        if name in widths:
            fixedwidth.put_strings(col, out, at, size)
        else:
            out[:, at : at + 8] = fixedwidth.ibm_doubles(fixedwidth.numbers(col, _SAS_EPOCH))
        at += size
    return out


# --- the streamed writers ---------------------------------------------------------------------


def write_streamed(
    fmt: str,
    parquet: Path,
    dest: Path,
    *,
    file_label: str,
    chunk_rows: int = CHUNK_ROWS,
    cancelled: threading.Event | None = None,
) -> None:
    """A Stata, SPSS or SAS file written a slice at a time: memory is bounded by the slice.

    ReadStat (pyreadstat) writes only a one-row file, from a sentinel row that has the whole
    file's column types and string widths (the longest values; a double wherever a value is
    missing). Its header and trailer (labels, formats) are kept; its one row is replaced by
    the file's rows, encoded from Arrow a slice at a time (``fixedwidth``), and the counts and
    offsets that depend on the rows are patched: Stata's observation count and map, SPSS's
    case counts, SAS transport's observation count. Before any row is written, the sentinel
    row encoded here must equal ReadStat's bytes for it, so an encoding difference falls
    back to the whole-file writer instead of writing a wrong file. The
    result is byte-for-byte the file pyreadstat writes from the whole frame
    (tests/extract/test_package.py checks it on every file of a full extract).
    """
    pf = pq.ParquetFile(parquet)
    nullable, widths = _file_profile(parquet)
    limit = {"dta": 2045, "sav": 255, "xpt": 32767}[fmt]  # beyond: strL / very long strings
    if pf.metadata.num_rows == 0 or any(w > limit for w in widths.values()):
        _write_whole(fmt, parquet, dest, file_label)
        return
    sentinel = _sentinel(pf.schema_arrow.empty_table(), widths)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        one = Path(tmp) / dest.name  # SAS transport names its member after the file
        df, labels = _frame(sentinel, nullable)
        _write_frame(fmt, df, labels, one, file_label)
        blob = one.read_bytes()

    def batches() -> Batches:
        for b in pf.iter_batches(batch_size=chunk_rows):
            if cancelled is not None and cancelled.is_set():
                raise Cancelled(f"{dest.name}: cancelled")
            yield pa.Table.from_batches([b]).cast(sentinel.schema)

    total = pf.metadata.num_rows
    writer = {"dta": _stream_dta, "sav": _stream_sav, "xpt": _stream_xpt}[fmt]
    if not writer(blob, sentinel, widths, batches(), total, dest):
        _write_whole(fmt, parquet, dest, file_label)


Batches = Iterator[pa.Table]


def _stream_dta(
    blob: bytes, sentinel: pa.Table, widths: dict[str, int], batches: Batches, total: int,
    dest: Path,
) -> bool:  # fmt: skip
    start, end = _dta_data(blob)
    head, tail = blob[:start], blob[end:]
    types = _dta_types(head, sentinel.num_columns)
    if _dta_rows(sentinel, types).tobytes() != blob[start:end]:
        return False
    width = end - start
    header = bytearray(head)
    n_at = header.index(b"<N>") + 3
    header[n_at : n_at + 8] = struct.pack("<Q", total)
    map_at = header.index(b"<map>") + 5
    offsets = list(struct.unpack_from("<14Q", header, map_at))
    for i in range(10, 14):  # strls, value_labels, </stata_dta>, end of file
        offsets[i] += (total - 1) * width  # data bytes beyond the sentinel's
    struct.pack_into("<14Q", header, map_at, *offsets)
    _write_streamed(dest, header, batches, total, "Stata",
                    lambda table, _last: _dta_rows(table, types).data, lambda _size: tail)
    return True


def _stream_sav(
    blob: bytes, sentinel: pa.Table, widths: dict[str, int], batches: Batches, total: int,
    dest: Path,
) -> bool:  # fmt: skip
    # The one-row file: the dictionary, its end (record 999 and a zero), the compressed row.
    sizes, is_string = _sav_layout(sentinel, widths)
    one_row = fixedwidth.sav_compress(_sav_rows(sentinel, sizes, widths), is_string, True)
    start = len(blob) - len(one_row)
    if blob[:4] != b"$FL2" or blob[start:] != one_row or blob[start - 8 : start] != _SAV_END:
        return False
    header = bytearray(blob[:start])
    struct.pack_into("<i", header, _SAV_NCASES_AT, total if total < 2**31 else -1)
    # The 64-bit case count: record 7, subtype 16 (two 8-byte values: 1, then the count).
    counts = header.find(struct.pack("<iiii", 7, 16, 8, 2))
    if counts < 0 or struct.unpack_from("<qq", header, counts + 16) != (1, 1):
        return False
    struct.pack_into("<q", header, counts + 24, total)
    _write_streamed(dest, header, batches, total, "SPSS",
                    lambda table, last: fixedwidth.sav_compress(_sav_rows(table, sizes, widths), is_string, last))
    return True


def _stream_xpt(
    blob: bytes, sentinel: pa.Table, widths: dict[str, int], batches: Batches, total: int,
    dest: Path,
) -> bool:  # fmt: skip
    at = blob.find(_XPT_OBS)
    if at < 0 or at % 80:
        return False
    start = at + 80
    row = _xpt_rows(sentinel, widths).tobytes()
    padding = -len(row) % 80
    if blob[start:] != row + b" " * padding:
        return False
    header = bytearray(blob[:start])
    # Version 8 states the observation count in this record: right-aligned in 15 columns.
    count = bytes(header[at + 48 : at + 63])
    if count.strip() != b"1" or len(str(total)) > 15:
        return False
    header[at + 48 : at + 63] = f"{total:15d}".encode("ascii")
    # The last 80-byte record is padded with blanks.
    _write_streamed(dest, header, batches, total, "SAS",
                    lambda table, _last: _xpt_rows(table, widths).data, lambda size: b" " * (-size % 80))
    return True


def _write_streamed(dest: Path, header: bytes | bytearray, batches: Batches, total: int, what: str,
                    encode: Callable[[pa.Table, bool], bytes | memoryview],
                    tail: Callable[[int], bytes] = lambda _size: b"") -> None:
    """Header, each batch as ``encode(batch, is_last)`` gives it, then ``tail(data bytes)``;
    the row count must be the ``total`` the header states."""
    written = size = 0
    with open(dest, "wb") as out:
        out.write(header)
        for table in batches:
            written += len(table)
            data = encode(table, written == total)
            out.write(data)
            size += memoryview(data).nbytes
        out.write(tail(size))
    if written != total:
        raise RuntimeError(f"the Parquet file's rows changed while it was written as {what}")


def _write_whole(fmt: str, parquet: Path, dest: Path, file_label: str) -> None:
    df, labels = _frame(parquet)
    _write_frame(fmt, df, labels, dest, file_label)


class Cancelled(Exception):
    """A streamed writer stopped because its ``Writers`` pool is shutting down."""


class Writers:
    """A few threads writing Stata, SPSS and SAS files (the row encoding and compiled loops
    release the GIL, so two threads use two cores). Leaving the ``with`` block, on success or
    on any exception (SIGTERM's included), stops the writers between two slices and waits for
    them, so none is still writing into a folder the caller is about to remove."""

    def __init__(self, threads: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="formats")
        self._cancelled = threading.Event()
        self._futures: list[Future[None]] = []
        self.seconds: dict[str, float] = {}  # each format's writing time, summed over files
        self._lock = threading.Lock()

    def submit(self, fmt: str, parquet: Path, dest: Path, file_label: str, when: dt.date) -> None:
        self._futures.append(self._pool.submit(self._write, fmt, parquet, dest, file_label, when))

    def _write(self, fmt: str, parquet: Path, dest: Path, file_label: str, when: dt.date) -> None:
        t0 = time.monotonic()
        write_extra(fmt, parquet, dest, file_label, when, cancelled=self._cancelled)
        with self._lock:
            self.seconds[fmt] = self.seconds.get(fmt, 0.0) + time.monotonic() - t0

    def wait(self) -> None:
        """Every file written, or the first writer's error raised (the others stopped)."""
        for future in self._futures:
            future.result()

    def __enter__(self) -> Writers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cancelled.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def write_extra(
    fmt: str,
    parquet: Path,
    dest: Path,
    file_label: str,
    when: dt.date,
    streamed: bool = True,
    cancelled: threading.Event | None = None,
) -> None:
    """Write ``fmt`` from ``parquet`` (streamed: a slice at a time; else pyreadstat from the
    whole frame, kept for the tests' comparison) and pin its header's timestamp."""
    if streamed and fmt in STREAMED:
        write_streamed(fmt, parquet, dest, file_label=file_label, cancelled=cancelled)
    else:
        _write_whole(fmt, parquet, dest, file_label)
    pin_timestamps(fmt, dest, when)
