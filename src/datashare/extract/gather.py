"""The DuckDB engine's fast path: a file's RID-sorted rows by sorting packed words, not rows.

The SQL extract (``sql.file_query``) sorts the joined rows by (RID, school year, source row
position); the sort carries every row's payload as Arrow values and was most of the
extract's cost over a plain copy. Here each row becomes a few 64-bit words of small codes,
and the words are sorted:

1. ``pack``: read the mapped columns of the selected years with pyarrow (strings as
   dictionaries), encode each as small unsigned codes (sorted-dictionary positions,
   booleans, integers and dates as offsets, the school year's code) and pack them into
   64-bit words, so that a row is its words; with a ``Population``, the keys of rows in
   selected years are added to it as they are read (each row keeps its student's id);
2. ``finish``: each row's RID rank (from its population id, or a hash probe of the
   crosswalk by key) is packed beside its codes, and the rows are sorted by (rank, year)
   with a stable radix sort (``kernels.sort_rows``): RID, then school year, then source
   row position, exactly the SQL's ``ORDER BY``; rows without a RID or of an unselected
   year are left out;
3. ``write_prepared``: per output row group, decode the sorted words and write the rows
   with every string column (the RID included) as a dictionary of the values that row
   group uses, in sorted order: the Parquet writer takes the codes as they are instead of
   hashing every string, and nothing of the source's order (not even which value came
   first in it) reaches the file.

Used only when every mapped column already has the element's type and the file's working
set fits the memory budget; otherwise the engine runs the SQL (which spills), so memory
stays bounded. Spark always runs the SQL; a test checks the content is the same.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datashare import elements
from datashare.extract import kernels, rid

ROW_GROUP = 262_144  # the same row-group size as the SQL path's COPY and the benchmark floor
ZSTD_LEVEL = 3  # DuckDB's default zstd level: the same compression as the COPY it replaces


def rewrite_in_place(path: Path, transform: Callable[[pa.Table], pa.Table], tag: str) -> None:
    """Rewrite a delivered Parquet file row group by row group (memory bounded by one row
    group; rows in the same order, same schema), replacing it by a rename once the copy is
    whole (``.NAME.TAG`` beside it meanwhile)."""
    pf = pq.ParquetFile(path)
    tmp = path.with_name(f".{path.name}.{tag}")
    with pq.ParquetWriter(
        tmp, pf.schema_arrow, compression="zstd", compression_level=ZSTD_LEVEL
    ) as writer:
        for i in range(pf.num_row_groups):
            writer.write_table(transform(pf.read_row_group(i)))
    os.replace(tmp, path)
WRITE_BATCH = 65_536  # rows per page-encoding batch of the Parquet writer
BLOCK = 1 << 20  # rows per step of the row-wise NumPy work: temporaries stay in cache
MEMORY_BUDGET = 2 * 1024**3  # bytes of working set for one file; beyond it the SQL path runs


@dataclass(frozen=True)
class Plan:
    """One data file: where its columns are and what the output looks like."""

    path: Path
    key: str  # source student key column
    year: str | None  # source school-year column (ending year); None for one row per student
    years: tuple[int, ...]  # selected ending years, ascending
    columns: tuple[tuple[str, str], ...]  # (output element, source column), in output order
    schema: pa.Schema  # declared output schema: rid, [school_year], elements
    rows: int = 0  # rows in the source file (for ordering the work), from its metadata


class RankedCrosswalk:
    """The crosswalk prepared for lookups: each row's packed RID rank code, and RID texts in
    RID order.

    Rows find their code in one of two ways. When the population was collected while
    reading (``members``: its keys by population id), every row already has its id, and
    ``codes_by_id`` comes from a sort of the members run beside the RID sort (the crosswalk
    step holds up every file). Otherwise rows find their crosswalk row by key (``rows``):
    the keys go into a ``kernels.KeySet``, probed by a compiled loop, one pass over the rows
    and no temporaries (NumPy's version of the same probe took 1.3-1.6 s per 18 million
    rows and 2.4 s to build; a compiled one 0.7-1.1 s and 0.3 s, docs/extract.md), and
    ``codes_by_row`` gives their codes.
    """

    def __init__(self, table: pa.Table, members: np.ndarray | None = None) -> None:
        self._keys_column = table.column("student_key").to_numpy().astype(np.int64, copy=False)
        n = self.students = len(self._keys_column)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crosswalk") as pool:
            # The two sorts release the GIL: side by side on two cores.
            by_key = pool.submit(np.argsort, members) if members is not None else None
            codes = table.column("rid_order").to_numpy()
            order = np.argsort(codes)  # distinct: any sort is stable
            # Rank by crosswalk row, and -1 after it: what a row of -1 (no such key) finds.
            self._rank = np.empty(n + 1, dtype=np.int32)
            self._rank[order] = np.arange(n, dtype=np.int32)
            self._rank[n] = -1
            # The RIDs in RID order, written afresh from their numbers (a compiled loop)
            # rather than taken from the table (NumPy's gather of 12-byte rows: 0.16 s).
            self.rids = rid.to_text(codes[order])
            self._codes_by_id: np.ndarray | None = None
            if by_key is not None and members is not None:
                self._codes_by_id = _lookup_codes(self._ranks_by_id(members, by_key.result()))
        self._codes_by_row = _lookup_codes(self._rank[:-1])
        self._lock = threading.Lock()  # files are finished two at a time
        self._key_set: kernels.KeySet | None = None
        if members is None:
            self._key_set = self._build_key_set()

    def _ranks_by_id(self, members: np.ndarray, by_key: np.ndarray) -> np.ndarray:
        """Ids in key order are the crosswalk's rows in order (its keys are the members,
        sorted): the row of id ``by_key[j]`` is j."""
        if len(members) != self.students or not np.array_equal(members[by_key], self._keys_column):
            raise RuntimeError("the crosswalk's students are not the population's")
        row = np.empty(self.students, dtype=np.int32)
        row[by_key] = np.arange(self.students, dtype=np.int32)
        return self._rank[row]

    def ranks(self, keys: np.ndarray) -> np.ndarray:
        """Rank (int32) of each key's RID (int64 keys); -1 where it is not in the crosswalk."""
        return self._rank[self.rows(keys)]

    def rows(self, keys: np.ndarray) -> np.ndarray:
        """Crosswalk row (int32) of each key (int64 keys); -1 where it is not there."""
        with self._lock:
            if self._key_set is None:
                self._key_set = self._build_key_set()
        rows = np.empty(len(keys), dtype=np.int32)
        self._key_set.find(keys.astype(np.int64, copy=False), rows)
        return rows

    def codes_by_row(self) -> np.ndarray:
        """The packed rank code (rank + 1) of crosswalk row r at r + 1, and 0 (no RID) at 0:
        a row's code is ``codes[row + 1]`` (``kernels.pack_lookup``), row -1 giving 0."""
        return self._codes_by_row

    def codes_by_id(self) -> np.ndarray:
        """``codes_by_row`` for population ids (id -1 giving 0): given ``members`` only."""
        if self._codes_by_id is None:
            raise RuntimeError("ranks by population id need the population's members")
        return self._codes_by_id

    def _build_key_set(self) -> kernels.KeySet:
        key_set = kernels.KeySet.sized_for(self.students)
        ids = np.empty(self.students, dtype=np.int32)  # distinct keys: ids are 0..n-1
        key_set.add(self._keys_column, np.ones(self.students, dtype=bool), ids)
        return key_set


def _lookup_codes(ranks: np.ndarray) -> np.ndarray:
    """Packed rank codes for ``kernels.pack_lookup``: rank r at i -> r + 1 at i + 1 (a RID's
    code), and 0 at 0 (what index -1, no RID, finds)."""
    codes = np.empty(len(ranks) + 1, np.uint32)
    codes[0] = 0
    codes[1:] = ranks + 1
    return codes


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def supported(plan: Plan) -> bool:
    """Whether this path gives exactly the SQL's result within the memory budget."""
    schema = pq.read_schema(plan.path)
    key = schema.field(plan.key).type
    if not (pa.types.is_signed_integer(key) or (pa.types.is_integer(key) and key.bit_width <= 32)):
        return False  # the crosswalk's keys are int64
    year = schema.field(plan.year).type if plan.year is not None else None
    if year is not None and not (pa.types.is_integer(year) and year.bit_width >= 16):
        return False  # an 8-bit column cannot hold the years compared with it
    for name, col in plan.columns:
        source, target = schema.field(col).type, plan.schema.field(name).type
        # No casts here: a column whose type differs goes through the SQL's CAST instead,
        # whose rounding and formatting the other engine shares.
        if (_is_text(target) and not _is_text(source)) or (not _is_text(target) and source != target):
            return False
    return working_set(plan, schema) <= MEMORY_BUDGET


def working_set(plan: Plan, schema: pa.Schema | None = None) -> int:
    """Bytes a file's preparation holds at once, about: the key column and the ranks, then
    two copies of the packed rows (the radix sort moves them from one to the other)."""
    if schema is None:
        schema = pq.read_schema(plan.path)
    bits = 32 + sum(  # the RID rank and the year's code, then each column's codes
        24 if _is_text(t) else max(2, t.bit_width)  # a dictionary: up to 16 million values
        for t in (schema.field(col).type for _, col in plan.columns)
    )
    width = 8 + 4 + 2 * 8 * -(-bits // 64)
    rows = plan.rows or pq.ParquetFile(plan.path).metadata.num_rows
    return rows * width


def selected_share(plan: Plan) -> float:
    """The share of the file's rows in row groups that can hold a selected year (by the
    year column's statistics; 1 if unknown): how much of the source the extract reads."""
    pf = pq.ParquetFile(plan.path)
    meta = pf.metadata
    if meta.num_rows == 0:
        return 1.0
    return sum(meta.row_group(i).num_rows for i in _row_groups(pf, plan)) / meta.num_rows


def _row_groups(pf: pq.ParquetFile, plan: Plan) -> list[int]:
    """Row groups whose year statistics can hold a selected year (all, if unknown)."""
    if plan.year is None:
        return list(range(pf.metadata.num_row_groups))
    meta = pf.metadata
    col = [meta.schema.column(j).path for j in range(meta.num_columns)].index(plan.year)
    keep = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(col).statistics
        unknown = stats is None or not stats.has_min_max
        if unknown or any(stats.min <= y <= stats.max for y in plan.years):
            keep.append(i)
    return keep


@dataclass
class _Field:
    """One output column: either packed into a word of codes or gathered by Arrow."""

    name: str
    type: pa.DataType
    # "dict" (sorted dictionary), "bool", "int" (offset codes), "arrow" (taken by row number),
    # "rank" (RID rank + 1), "row" (source row number, for "arrow" fields)
    kind: str
    nulls: bool = False
    dictionary: pa.Array | None = None
    offset: int = 0  # "int": value = code + offset (code 0 is null)
    word: int = 0
    shift: int = 0
    width: int = 0
    values: pa.Array | None = None  # "arrow"
    top: int = 0  # largest code
    code_of: np.ndarray | None = None  # "dict": source dictionary index + 1 -> code
    data: pa.ChunkedArray | None = None  # the source column, until packed


def _encode(name: str, data: pa.ChunkedArray, target: pa.DataType) -> _Field:
    """How a column becomes small unsigned codes (0 = null), or an Arrow array when it does
    not fit a word; ``_codes`` then encodes it one piece at a time."""
    nulls = data.null_count > 0
    if pa.types.is_dictionary(data.type):
        # One dictionary for the whole column, sorted, so each row group's dictionary is
        # the sorted set of values it uses, whatever order the source met them in.
        data = data.unify_dictionaries()
        dictionary = data.chunk(0).dictionary if data.num_chunks else pa.array([], pa.string())
        order = pc.sort_indices(dictionary).to_numpy()
        code_of = np.empty(len(order) + 1, dtype=np.uint32)  # source index + 1 -> code
        code_of[0] = 0
        code_of[np.asarray(order) + 1] = np.arange(1, len(order) + 1, dtype=np.uint32)
        field = _Field(name, target, "dict", nulls, dictionary.take(pa.array(order)).cast(target))
        field.code_of, field.top, field.data = code_of, len(order), data
        return field
    if pa.types.is_boolean(data.type):
        return _Field(name, target, "bool", nulls, top=2, data=data)  # null 0, false 1, true 2
    if pa.types.is_date32(data.type) or (
        pa.types.is_integer(data.type) and data.type.bit_width <= 32
    ):
        bounds = pc.min_max(data.cast(pa.int32()) if pa.types.is_date32(data.type) else data)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is None:
            return _Field(name, target, "int", True, offset=0, top=0, data=data)
        return _Field(name, target, "int", nulls, offset=low - 1, top=high - low + 1, data=data)
    return _Field(name, target, "arrow", nulls, values=data.combine_chunks())


def _pack_piece(field: _Field, piece: pa.Array, out: np.ndarray, first: bool) -> None:
    """A piece of a dictionary, boolean, integer or date column straight into its words."""
    if field.kind == "dict":
        assert field.code_of is not None
        index = piece.indices.fill_null(-1) if piece.null_count else piece.indices
        kernels.pack_lookup(out, index.to_numpy(), field.code_of, field.shift, first)
        return
    if field.kind == "bool":
        valid, data = piece.buffers()
        bits = np.frombuffer(data, np.uint8)
        mask = np.frombuffer(valid, np.uint8) if valid is not None else np.empty(0, np.uint8)
        kernels.pack_bools(out, bits, mask, piece.offset, field.shift, first)
        return
    kernels.pack_offset(out, _int_values(field, piece), field.offset, field.shift, first)


def _int_values(field: _Field, piece: pa.Array) -> np.ndarray:
    """An integer or date piece's values, nulls as ``offset`` (their code is 0)."""
    if pa.types.is_date32(piece.type):
        piece = piece.cast(pa.int32())
    if piece.null_count:
        # The minimum - 1, which an unsigned column cannot hold when its minimum is 0:
        # widen first (these are <= 32-bit integers).
        return piece.cast(pa.int64()).fill_null(field.offset).to_numpy()
    return piece.to_numpy()


def _pieces(data: pa.ChunkedArray) -> Iterator[pa.Array]:
    for chunk in data.chunks:
        for start in range(0, len(chunk), BLOCK):
            yield chunk.slice(start, BLOCK)


class _Packer:
    """Packs each field's codes into 64-bit words (first fit): a row's words are the row.

    Codes are made and packed one piece (a row group or BLOCK rows) at a time, so no
    column-sized temporary is ever allocated: in this VM, first use of fresh memory costs
    more than the arithmetic (up to 3.6 s a GiB, see docs/extract.md; the column-wise
    version made three column-sized arrays per column: 1.2 s for each date column of
    enrollment).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.words: list[np.ndarray] = []
        self.used: list[int] = []

    def _slot(self, width: int) -> int | None:
        return next((i for i, u in enumerate(self.used) if u + width <= 64), None)

    def _place(self, field: _Field) -> tuple[np.ndarray, bool]:
        """Where the field's codes go: its word, and whether it is that word's first field
        (which then sets the word instead of or-ing into it: no need to zero it first)."""
        field.width = max(1, int(field.top).bit_length())
        slot = self._slot(field.width)
        first = slot is None
        if slot is None:
            slot = len(self.words)
            self.words.append(np.empty(self.n, dtype=np.uint64))
            self.used.append(0)
        field.word, field.shift = slot, self.used[slot]
        self.used[slot] += field.width
        return self.words[slot], first

    def add_lookup(self, field: _Field, index: np.ndarray, codes: np.ndarray) -> None:
        """Pack ``codes[index + 1]`` (index -1 gives ``codes[0]``) by one compiled pass."""
        if len(index) != self.n:
            raise RuntimeError(f"{field.name}: {len(index)} rows to pack, not {self.n}")
        word, first = self._place(field)
        kernels.pack_lookup(word, index, codes, field.shift, first)

    def add(self, field: _Field, pieces: Iterator[np.ndarray] | None = None) -> None:
        """Pack a field's codes: given as uint64 ``pieces``, or else made from the field's
        source column a piece at a time by a compiled loop that writes the word directly
        (three NumPy passes a piece fewer)."""
        word, first = self._place(field)
        shift, at = np.uint64(field.shift), 0
        if pieces is None:
            assert field.data is not None
            for piece in _pieces(field.data):
                # first: the word's first field, so no need to have zeroed it
                _pack_piece(field, piece, word[at : at + len(piece)], first)
                at += len(piece)
            pieces = iter(())
        for codes in pieces:
            out = word[at : at + len(codes)]
            if first:
                np.left_shift(codes, shift, out=out, dtype=np.uint64)
            else:
                out |= codes << shift
            at += len(codes)
        if at != self.n:  # the rest of a fresh word would be garbage, delivered as data
            raise RuntimeError(f"{field.name}: packed {at} rows of {self.n}")


def _codes_of(field: _Field, word: np.ndarray) -> np.ndarray:
    # Shifted into a new array, then masked in place and read as int64: the codes can index
    # NumPy arrays without another copy (every pass over a row group's codes counts here).
    codes = np.right_shift(word, np.uint64(field.shift)).view(np.int64)
    codes &= (1 << field.width) - 1
    return codes


def _column(field: _Field, word: np.ndarray) -> pa.Array:
    if field.kind == "dict":
        assert field.dictionary is not None
        return _compact(field, word, field.dictionary)
    codes = _codes_of(field, word)
    mask = codes == 0 if field.nulls else None
    if field.kind == "bool":
        return pa.array(codes == 2, pa.bool_(), mask=mask)
    storage = pa.int32() if pa.types.is_date32(field.type) else field.type
    codes += field.offset
    return pa.array(codes.astype(storage.to_pandas_dtype()), storage, mask=mask).view(field.type)


def _compact(field: _Field, word: np.ndarray, dictionary: pa.Array) -> pa.Array:
    """A field's codes (1 + position in a sorted ``dictionary``; 0 null) -> a dictionary
    array of only the values used, still sorted."""
    index_type = _index_type(field.top)
    indices = np.empty(len(word), index_type.to_pandas_dtype())
    used = kernels.compact_codes(word, field.shift, field.width, len(dictionary), indices)
    mask = None
    if field.nulls:
        mask = indices < 0
        indices[mask] = 0
    # safe=False: the indices are the used values' places by construction; checking them
    # again was a pass over every row (1% of the extract's time).
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, index_type, mask=mask), dictionary.filter(pa.array(used)), safe=False
    )


def _index_type(top: int) -> pa.DataType:
    """A dictionary column's index type: 8 bits when every value fits, because the
    writer's statistics find a row group's used values with a hash of the indices, and
    Arrow's hash of 8-bit integers is a 256-entry table (measured: 0.1-0.2 s less per
    18 million rows and column); else 32 bits."""
    return pa.int8() if top <= 127 else pa.int32()


def _output_schema(plan: Plan, fields: list[_Field]) -> pa.Schema:
    """What is handed to the writer: strings as dictionaries (the file stores plain strings)."""
    tops = {f.name: f.top for f in fields if f.kind == "dict"}
    out = []
    for f in plan.schema:
        if f.name == "rid" and plan.year is not None:
            out.append(pa.field(f.name, pa.dictionary(pa.int32(), pa.string())))
        elif _is_text(f.type) and f.name in tops:
            out.append(pa.field(f.name, pa.dictionary(_index_type(tops[f.name]), pa.string())))
        else:  # the one-row-per-student file's RIDs are all distinct: plain text
            out.append(f)
    return pa.schema(out)


class Population:
    """The extract's population (every student with a row in a selected year), gathered
    while the files are packed: each year file's rows add their keys and keep their ids.
    Two files are packed at once, so additions are serialised by a lock. Each of the
    ``files`` year files says when its keys are all in (before its other columns are
    read), so the crosswalk can be drawn while the last file is still being packed."""

    def __init__(self, expected: int = 0, *, files: int) -> None:
        self.keys = kernels.KeySet.sized_for(expected) if expected else kernels.KeySet()
        self._lock = threading.Lock()
        self._waiting = files
        self.complete = threading.Event()
        if files == 0:
            self.complete.set()

    def add(self, keys: np.ndarray, take: np.ndarray, out: np.ndarray) -> None:
        with self._lock:
            if self.complete.is_set():
                raise RuntimeError("keys added to a complete population")
            self.keys.add(keys, take, out)

    def file_added(self) -> None:
        with self._lock:
            self._waiting -= 1
            if self._waiting == 0:
                self.complete.set()


@dataclass
class Packed:
    """A file's columns packed, in source order, before the crosswalk is known (``pack``)."""

    plan: Plan
    fields: list[_Field]
    packer: _Packer
    keys: np.ndarray | None  # source student keys (int64), looked up once the crosswalk exists
    valid: np.ndarray | None  # where a key is not null (None: all are)
    ids: np.ndarray | None  # or each row's id in the ``Population`` (-1: not in a selected year)
    year_ordered: bool = False  # the source's rows come in school-year order
    seconds: float = 0.0


@dataclass
class Prepared:
    """A file's rows in output order, packed, ready to write (``finish``)."""

    schema: pa.Schema
    fields: list[_Field]
    rank: _Field  # where each row's RID rank (plus one) is packed
    rows: np.ndarray  # (rows, words) uint64: the packed rows in output order


def pack(plan: Plan, population: Population | None = None) -> Packed:
    """Read the file's columns and pack them: nothing here needs the crosswalk, so the
    engine runs it before the crosswalk is drawn. With a ``population``, a file with a
    school year adds the keys of its rows in selected years to it."""
    t0 = time.monotonic()
    pf = pq.ParquetFile(
        plan.path,
        read_dictionary=[
            col for name, col in plan.columns if _is_text(plan.schema.field(name).type)
        ],
    )
    groups = _row_groups(pf, plan)

    def read_one(col: str) -> pa.ChunkedArray:
        return pf.read_row_groups(groups, columns=[col], use_threads=True).column(0)

    # One column at a time, each dropped once packed, and the next one read meanwhile on
    # another thread: at most two columns are held (reading enrollment's 8 at once peaked
    # 0.5 GiB higher, and fresh memory is dear here), and a file packed alone (the last
    # of the pack phase) still keeps two cores busy.
    wanted = [plan.key, *([plan.year] if plan.year else []), *(c for _, c in plan.columns)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gather-read") as reader:
        reading = [reader.submit(read_one, wanted[0])]

        def read(col: str) -> pa.ChunkedArray:
            done = len(reading)
            if done < len(wanted):
                reading.append(reader.submit(read_one, wanted[done]))
            column = reading[done - 1].result()
            reading[done - 1] = _DONE
            if col != wanted[done - 1]:
                raise RuntimeError(f"read {col} out of order")
            return column

        return _pack(plan, population, read, t0)


_DONE: Future[pa.ChunkedArray] = Future()


def _pack(
    plan: Plan,
    population: Population | None,
    read: Callable[[str], pa.ChunkedArray],
    t0: float,
) -> Packed:
    column = read(plan.key)
    n = len(column)
    valid = column.is_valid().to_numpy(zero_copy_only=False) if column.null_count else None
    keys = (column.fill_null(0) if valid is not None else column).to_numpy()
    keys = keys.astype(np.int64, copy=False)
    del column
    ids = None
    if population is not None and plan.year is not None:
        ids = np.empty(n, dtype=np.int32)
    fields: list[_Field] = []
    packer = _Packer(n)
    year_ordered = [plan.year is not None]  # rows in year order so far (see kernels.sort_rows)
    if plan.year is not None:
        # year -> 1 + its index among the selected years (0: not selected), by a lookup table
        first, last = plan.years[0], plan.years[-1]
        code = np.zeros(last - first + 3, dtype=np.uint64)
        code[np.asarray(plan.years) - first + 1] = np.arange(1, len(plan.years) + 1)
        labels = pa.array([elements.format_school_year(y) for y in plan.years], pa.string())
        school_year = _Field("school_year", pa.string(), "dict", False, labels, top=len(plan.years))
        fields.append(school_year)

        def year_codes(years: pa.ChunkedArray) -> Iterator[np.ndarray]:
            at = 0
            previous = first - 1
            for piece in _pieces(years):
                y = piece.fill_null(first - 1).to_numpy() if piece.null_count else piece.to_numpy()
                codes, ordered, previous = kernels.year_codes(y, first, code, previous)
                year_ordered[0] = year_ordered[0] and ordered
                if population is not None and ids is not None:
                    rows = slice(at, at + len(codes))
                    take = codes > 0
                    if valid is not None:
                        take &= valid[rows]
                    population.add(keys[rows], take, ids[rows])
                at += len(codes)
                yield codes

        packer.add(school_year, year_codes(read(plan.year)))
        if population is not None:
            population.file_added()  # its other columns need not hold up the crosswalk
    # One column at a time: that column, the words and one piece of its codes are all
    # that is held at once.
    for name, col in plan.columns:
        field = _encode(name, read(col), plan.schema.field(name).type)
        fields.append(field)
        if field.data is not None:
            packer.add(field)
            field.data = None
    if any(f.kind == "arrow" for f in fields):
        # A column that does not fit a word is taken from its source array by row number,
        # which rides in the words like any other code.
        row = _Field("row", pa.int64(), "row", top=max(n - 1, 0))
        packer.add(
            row, (np.arange(s, min(s + BLOCK, n), dtype=np.uint64) for s in range(0, n, BLOCK))
        )
        fields.append(row)
    if ids is not None:  # the ids say it all: the keys are not needed again
        return Packed(plan, fields, packer, None, None, ids, year_ordered[0], time.monotonic() - t0)
    return Packed(plan, fields, packer, keys, valid, None, year_ordered[0], time.monotonic() - t0)


def finish(
    packed: Packed, crosswalk: RankedCrosswalk, population: Population | None = None
) -> Prepared:
    """Find each row's RID rank, pack it with the row and sort the rows into output order:
    RID, then school year, then source position (the sort is stable)."""
    if packed.ids is None and population is not None and packed.keys is not None:
        # A file without a school year (one row per student): its students are those of
        # the population that it has.
        packed.ids = np.empty(len(packed.keys), dtype=np.int32)
        population.keys.find(packed.keys, packed.ids)
        if packed.valid is not None:
            packed.ids[~packed.valid] = -1
    if packed.ids is not None:
        assert population is not None
        ids, codes = packed.ids, crosswalk.codes_by_id()
    else:
        assert packed.keys is not None
        ids, codes = crosswalk.rows(packed.keys), crosswalk.codes_by_row()
        if packed.valid is not None:
            ids[~packed.valid] = -1
    packed.keys = packed.valid = packed.ids = None
    ranked = _Field("rid", pa.string(), "rank", top=crosswalk.students)
    packed.packer.add_lookup(ranked, ids, codes)  # rank + 1; 0: no RID
    del ids
    year = next((f for f in packed.fields if f.name == "school_year"), None)
    rows = kernels.sort_rows(
        packed.packer.words,
        (ranked.word, ranked.shift, ranked.width),
        None if packed.plan.year is None or year is None else (year.word, year.shift, year.width),
        year_ordered=packed.year_ordered,
    )
    return Prepared(_output_schema(packed.plan, packed.fields), packed.fields, ranked, rows)


def write_prepared(prepared: Prepared, crosswalk: RankedCrosswalk, dest: Path) -> int:
    """Decode and write the rows, one output row group at a time (bounded extra memory)."""
    schema, fields, ranked = prepared.schema, prepared.fields, prepared.rank
    dict_rid = pa.types.is_dictionary(schema.field("rid").type)
    row = next((f for f in fields if f.kind == "row"), None)

    def chunk(block: np.ndarray) -> pa.Table:
        words = [block[:, w] for w in range(block.shape[1])]
        if dict_rid:
            # Rows come grouped by student: the RID column is runs of one dictionary code
            # (the writer stores runs, not 12 letters a row).
            index, firsts = kernels.rank_runs(words[ranked.word], ranked.shift, ranked.width)
            rid = pa.DictionaryArray.from_arrays(
                pa.array(index), crosswalk.rids.take(pa.array(firsts)), safe=False
            )  # run numbers 0..runs - 1 by construction
        else:
            rid = crosswalk.rids.take(pa.array(_codes_of(ranked, words[ranked.word]) - 1))
        arrays: list[pa.Array] = [rid]
        for f in fields:
            if f.kind == "row":
                continue
            if f.kind == "arrow":
                assert f.values is not None and row is not None
                arrays.append(f.values.take(pa.array(_codes_of(row, words[row.word]))))
            else:
                arrays.append(_column(f, words[f.word]))
        return pa.Table.from_arrays(arrays, schema=schema)

    rows = prepared.rows
    return _write(
        dest, schema, (chunk(rows[s : s + ROW_GROUP]) for s in range(0, len(rows), ROW_GROUP))
    )


def _write(dest: Path, schema: pa.Schema, tables: Iterator[pa.Table]) -> int:
    """Write row groups in order; the next one is gathered while the last one is encoded.

    pyarrow's writer encodes and compresses on the calling thread, and the gather releases
    the GIL too, so the two overlap on two cores. One write is in flight at a time: the order
    of row groups is the order of ``tables``.
    """
    rows = 0
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        pq.ParquetWriter(
            dest,
            schema,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            # Readers see plain strings (as from the SQL path), not dictionary columns.
            store_schema=False,
            # The writer updates a dictionary column's statistics once per batch, with a hash
            # of the batch's codes: at the default 1,024 rows that was a third of the write.
            write_batch_size=WRITE_BATCH,
        ) as writer,
    ):
        pending: Future[None] | None = None
        for table in tables:
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, table, row_group_size=ROW_GROUP)
            rows += table.num_rows
        if pending is not None:
            pending.result()
    return rows
