"""The DuckDB engine's fast path: a file's RID-sorted rows by sorting integers, not rows.

The SQL extract (``sql.file_query``) sorts the joined rows by (RID, school year, source row
position); the sort carries every row's payload and was most of the extract's cost over a
plain copy. Here the same order is reached by sorting one integer per row and gathering the
columns one output row group at a time:

1. read the mapped columns of the selected years with pyarrow (strings as dictionaries);
2. look each row's student key up in the crosswalk: its RID's rank in RID order;
3. encode each column as small unsigned codes (sorted-dictionary positions, booleans,
   integers and dates as offsets) and pack them into 64-bit words, so that one gather per
   word moves a whole row (its RID rank too, when a word has room);
4. a stable sort of ``rank * years + year`` over the rows in source order, which gives RID,
   then school year, then source row position: exactly the SQL's ``ORDER BY``;
5. per output row group, gather the words and write the rows with every string column (the
   RID included) as a dictionary of the values that row group uses, in sorted order: the
   Parquet writer takes the codes as they are instead of hashing every string, and nothing
   of the source's order (not even which value came first in it) reaches the file.

Used only when every mapped column already has the element's type and the file's working
set fits the memory budget; otherwise the engine runs the SQL (which spills), so memory
stays bounded. Spark always runs the SQL; a test checks the content is the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datashare import elements

ROW_GROUP = 262_144  # the same row-group size as the SQL path's COPY and the benchmark floor
ZSTD_LEVEL = 3  # DuckDB's default zstd level: the same compression as the COPY it replaces
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


_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads any key pattern


class RankedCrosswalk:
    """The crosswalk prepared for lookups: key -> RID rank, and RID texts in RID order.

    The lookup is a hash table in NumPy arrays (Fibonacci hashing into twice as many
    buckets as students), probed for all rows at once: one gather finds most rows' rank,
    a few more rounds the rest. pyarrow's ``index_in`` and ``np.searchsorted`` probe one
    row at a time and were 3 s for 18 million rows, against 1 s here.
    """

    def __init__(self, table: pa.Table) -> None:
        keys = table.column("student_key").to_numpy()
        n = len(keys)
        order = np.argsort(table.column("rid_order").to_numpy())  # distinct: any sort is stable
        rank = np.empty(n, dtype=np.int32)
        rank[order] = np.arange(n, dtype=np.int32)
        self.rids = table.column("rid").combine_chunks().take(pa.array(order))
        self.students = n
        self.bits = max(1, int(np.ceil(np.log2(max(n, 1)))) + 1)
        slots = self._slot(keys)
        by_slot = np.argsort(slots)  # order within a bucket does not matter
        self._keys = keys[by_slot]
        self._ranks = rank[by_slot]
        counts = np.bincount(slots, minlength=1 << self.bits)
        self._starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._starts[1:])
        used = counts > 0
        first = self._starts[:-1][used]
        # Each bucket's first key and its rank side by side: one cache line per row's probe.
        self._first = np.zeros((len(counts), 2), dtype=np.int64)
        self._first[:, 1] = -1
        self._first[used, 0] = self._keys[first]
        self._first[used, 1] = self._ranks[first]
        self._pairs = self._first.view(np.complex128).reshape(-1)

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        h = keys.astype(np.int64, copy=False).view(np.uint64) * _FIBONACCI
        h >>= np.uint64(64 - self.bits)
        return h.view(np.int64)  # under 2**bits: the same number

    def ranks(self, keys: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Rank (int32) of each key's RID; -1 where the key is null or not in the crosswalk."""
        valid = None
        if keys.null_count:
            valid = keys.is_valid().to_numpy(zero_copy_only=False)
            keys = keys.fill_null(0)
        k = keys.to_numpy().astype(np.int64, copy=False)
        out = np.empty(len(k), dtype=np.int32)
        for start in range(0, len(k), BLOCK):
            out[start : start + BLOCK] = self._ranks_of(k[start : start + BLOCK])
        if valid is not None:
            out[~valid] = -1
        return out

    def _ranks_of(self, k: np.ndarray) -> np.ndarray:
        slot = self._slot(k)
        # Gathered as one 16-byte item per row (a complex128 view): NumPy's row gather of an
        # (n, 2) array is about 8 times slower.
        first = self._pairs[slot].view(np.int64).reshape(-1, 2)
        out = first[:, 1].astype(np.int32)
        miss = np.flatnonzero((first[:, 0] != k) & (out >= 0))
        out[miss] = -1
        # Keys sharing a bucket: walk the bucket's other entries, all rows at once.
        at = self._starts[slot[miss]] + 1
        end = self._starts[slot[miss] + 1]
        while len(miss):
            live = at < end
            miss, at, end = miss[live], at[live], end[live]
            hit = self._keys[at] == k[miss]
            out[miss[hit]] = self._ranks[at[hit]]
            miss, at, end = miss[~hit], at[~hit] + 1, end[~hit]
        return out


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def supported(plan: Plan) -> bool:
    """Whether this path gives exactly the SQL's result within the memory budget."""
    schema = pq.read_schema(plan.path)
    key = schema.field(plan.key).type
    if not (pa.types.is_signed_integer(key) or (pa.types.is_integer(key) and key.bit_width <= 32)):
        return False  # the crosswalk's keys are int64
    if plan.year is not None and not pa.types.is_integer(schema.field(plan.year).type):
        return False
    width = 8 + 8 + 8 + 8  # key, rank, sort key, permutation
    for name, col in plan.columns:
        source, target = schema.field(col).type, plan.schema.field(name).type
        # No casts here: a column whose type differs goes through the SQL's CAST instead,
        # whose rounding and formatting the other engine shares.
        if _is_text(target):
            if not _is_text(source):
                return False
            width += 4
        elif source != target:
            return False
        else:
            width += max(1, source.bit_width // 8)
    meta = pq.ParquetFile(plan.path).metadata
    return meta.num_rows * width <= MEMORY_BUDGET


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
    kind: str  # "dict" (sorted dictionary), "bool", "int" (offset codes), "arrow" (take), "rank"
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


_BOOL_CODES = np.array([1, 2, 0], np.uint64)  # false, true, null (filled as 2)


def _codes(field: _Field, piece: pa.Array) -> np.ndarray:
    """One piece of a column (at most BLOCK rows) -> its codes as uint64."""
    if field.kind == "dict":
        assert field.code_of is not None
        if piece.null_count:
            return field.code_of[piece.indices.fill_null(-1).to_numpy() + 1].astype(np.uint64)
        return field.code_of[1:][piece.indices.to_numpy()].astype(np.uint64)
    if field.kind == "bool":
        return _BOOL_CODES[piece.cast(pa.uint8()).fill_null(2).to_numpy()]
    if pa.types.is_date32(piece.type):
        piece = piece.cast(pa.int32())
    if piece.null_count:
        # Nulls become code 0, i.e. the value ``offset`` (the minimum - 1), which an unsigned
        # column cannot hold when its minimum is 0: widen first (these are <= 32-bit integers).
        values = piece.cast(pa.int64()).fill_null(field.offset).to_numpy()
    else:
        values = piece.to_numpy()
    codes = values.astype(np.int64)
    codes -= field.offset
    return codes.view(np.uint64)


def _pieces(data: pa.ChunkedArray) -> Iterator[pa.Array]:
    for chunk in data.chunks:
        for start in range(0, len(chunk), BLOCK):
            yield chunk.slice(start, BLOCK)


class _Packer:
    """Packs each field's codes into 64-bit words (first fit): one gather moves them all.

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

    def fits(self, field: _Field) -> bool:
        """Whether a word already made has room for this field."""
        return self._slot(max(1, int(field.top).bit_length())) is not None

    def add(self, field: _Field, pieces: Iterator[np.ndarray]) -> None:
        field.width = max(1, int(field.top).bit_length())
        slot = self._slot(field.width)
        first = slot is None
        if slot is None:
            slot = len(self.words)
            self.words.append(np.empty(self.n, dtype=np.uint64))
            self.used.append(0)
        field.word, field.shift = slot, self.used[slot]
        self.used[slot] += field.width
        word, shift, at = self.words[slot], np.uint64(field.shift), 0
        for codes in pieces:
            out = word[at : at + len(codes)]
            if first:  # the word's first field: no need to have zeroed it
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
    codes = _codes_of(field, word)
    mask = codes == 0 if field.nulls else None
    if field.kind == "dict":
        assert field.dictionary is not None
        return _compact(codes, field.dictionary, mask)
    if field.kind == "bool":
        return pa.array(codes == 2, pa.bool_(), mask=mask)
    storage = pa.int32() if pa.types.is_date32(field.type) else field.type
    codes += field.offset
    return pa.array(codes.astype(storage.to_pandas_dtype()), storage, mask=mask).view(field.type)


def _compact(codes: np.ndarray, dictionary: pa.Array, mask: np.ndarray | None) -> pa.Array:
    """Codes (1 + position in a sorted ``dictionary``; 0 null) -> a dictionary array of only
    the values used, still sorted."""
    used = np.zeros(len(dictionary) + 1, dtype=bool)
    used[codes] = True
    used[0] = False
    new_code = np.cumsum(used, dtype=np.int32) - 1
    new_code[0] = 0  # null rows: index 0 under the mask
    return pa.DictionaryArray.from_arrays(
        pa.array(new_code[codes], pa.int32(), mask=mask), dictionary.filter(pa.array(used[1:]))
    )


def _output_order(rank: np.ndarray, year_code: np.ndarray | None, years: int) -> np.ndarray:
    """Rows (where rank >= 0 and the year is selected) in (rank, year, row) order.

    A stable sort of ``rank * years + year``: under 2**32 it takes two 16-bit radix passes
    (NumPy sorts 16-bit integers by radix), 2.2 s against 3.7 s for NumPy's stable sort of
    18 million int64; the digits are cut block by block, with no 8-byte key per row.
    """
    keep = rank >= 0
    if year_code is not None:
        keep &= year_code > 0
    rows = None if keep.all() else np.flatnonzero(keep)
    n = len(rank) if rows is None else len(rows)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if (int(rank.max()) + 1) * max(years, 1) >= 1 << 32:
        key = rank.astype(np.int64) * max(years, 1)
        if year_code is not None:
            key += year_code
        return np.flatnonzero(keep)[np.argsort(key[keep], kind="stable")]
    low = np.empty(n, dtype=np.uint16)
    high = np.empty(n, dtype=np.uint16)
    for start in range(0, n, BLOCK):
        at = slice(start, start + BLOCK)
        pick = at if rows is None else rows[at]
        key = rank[pick].astype(np.uint32)
        if year_code is not None:
            key *= np.uint32(years)
            key += year_code[pick]
        low[at] = key & 0xFFFF
        high[at] = key >> 16
    order = np.argsort(low, kind="stable")
    order = order[np.argsort(high[order], kind="stable")]
    return order if rows is None else rows[order]


def _output_schema(plan: Plan) -> pa.Schema:
    """What is handed to the writer: strings as dictionaries (the file stores plain strings)."""
    fields = []
    for f in plan.schema:
        if _is_text(f.type) and (f.name != "rid" or plan.year is not None):
            fields.append(pa.field(f.name, pa.dictionary(pa.int32(), pa.string())))
        else:  # the one-row-per-student file's RIDs are all distinct: plain text
            fields.append(f)
    return pa.schema(fields)


@dataclass
class Prepared:
    """A file's rows in output order, packed, ready to write (see ``prepare``)."""

    schema: pa.Schema
    fields: list[_Field]
    words: list[np.ndarray]  # packed codes by source row
    rank: _Field | np.ndarray  # where each row's RID rank (plus one) is packed, or the ranks
    perm: np.ndarray  # source rows in output order


def prepare(plan: Plan, crosswalk: RankedCrosswalk) -> Prepared:
    """Read the file's columns, find each row's RID rank and the output order."""
    pf = pq.ParquetFile(
        plan.path,
        read_dictionary=[
            col for name, col in plan.columns if _is_text(plan.schema.field(name).type)
        ],
    )
    groups = _row_groups(pf, plan)

    def read(col: str) -> pa.ChunkedArray:
        # One column at a time, each dropped once used: the reading never holds more than
        # one column (reading enrollment's 8 at once peaked 0.5 GiB higher, and fresh
        # memory is dear here; freed columns' memory is reused by the next one).
        return pf.read_row_groups(groups, columns=[col], use_threads=True).column(0)

    rank = crosswalk.ranks(read(plan.key))
    n = len(rank)
    fields: list[_Field] = []
    packer = _Packer(n)
    year_code = None
    if plan.year is not None:
        # year -> 1 + its index among the selected years (0: not selected), by a lookup table
        first, last = plan.years[0], plan.years[-1]
        code = np.zeros(last - first + 3, dtype=np.uint16)
        code[np.asarray(plan.years) - first + 1] = np.arange(1, len(plan.years) + 1)
        year_code = np.empty(n, dtype=np.uint16)
        at = 0
        for piece in _pieces(read(plan.year)):
            y = piece.fill_null(first - 1).to_numpy() if piece.null_count else piece.to_numpy()
            year_code[at : at + len(y)] = code[np.clip(y, first - 1, last + 1) - (first - 1)]
            at += len(y)
        labels = pa.array([elements.format_school_year(y) for y in plan.years], pa.string())
        fields.append(_Field("school_year", pa.string(), "dict", False, labels))
        fields[-1].top = len(plan.years)
        packer.add(
            fields[-1], (year_code[s : s + BLOCK].astype(np.uint64) for s in range(0, n, BLOCK))
        )
    # The sort needs only the ranks and years: it runs on another core while the columns
    # are packed (both are NumPy and Arrow work on large arrays, which release the GIL).
    # Stable: rows of the same student and year keep their source order, as in the SQL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        sorting = pool.submit(
            _output_order, rank, year_code, len(plan.years) if plan.year is not None else 1
        )
        # One column at a time: that column, the words and one piece of its codes are all
        # that is held at once.
        for name, col in plan.columns:
            field = _encode(name, read(col), plan.schema.field(name).type)
            fields.append(field)
            if field.data is not None:
                packer.add(field, (_codes(field, piece) for piece in _pieces(field.data)))
                field.data = None
        # The rank too, last, if a word has room for it (every file of the benchmark but
        # enrollment): gathering a row group's words then also gathers its RIDs' ranks,
        # instead of a second random read of every row (0.2 s for 22 million rows). A word
        # of its own would cost more than the gather it saves.
        ranked: _Field | np.ndarray = rank
        field = _Field("rid", pa.string(), "rank", top=crosswalk.students)
        if packer.fits(field):
            packer.add(
                field,
                (
                    (rank[s : s + BLOCK] + 1).astype(np.uint64)  # -1 (no RID) -> 0
                    for s in range(0, n, BLOCK)
                ),
            )
            ranked = field
        words = packer.words
        perm = sorting.result()
    del year_code, rank
    return Prepared(_output_schema(plan), fields, words, ranked, perm)


def write_prepared(prepared: Prepared, crosswalk: RankedCrosswalk, dest: Path) -> int:
    """Gather and write the rows, one output row group at a time (bounded extra memory)."""
    schema, fields, words, ranked = prepared.schema, prepared.fields, prepared.words, prepared.rank
    dict_rid = pa.types.is_dictionary(schema.field("rid").type)

    def chunk(idx: np.ndarray) -> pa.Table:
        gathered = [w[idx] for w in words]
        if isinstance(ranked, _Field):
            r = _codes_of(ranked, gathered[ranked.word]) - 1
        else:
            r = ranked[idx]
        if dict_rid:
            # Rows come grouped by student: the RID column is runs of one dictionary code
            # (the writer stores runs, not 12 letters a row).
            start = np.empty(len(r), dtype=bool)
            start[:1] = True
            np.not_equal(r[1:], r[:-1], out=start[1:])
            rid = pa.DictionaryArray.from_arrays(
                pa.array(np.cumsum(start, dtype=np.int32) - 1),
                crosswalk.rids.take(pa.array(r[start])),
            )
        else:
            rid = crosswalk.rids.take(pa.array(r))
        arrays: list[pa.Array] = [rid]
        for f in fields:
            if f.kind == "arrow":
                assert f.values is not None
                arrays.append(f.values.take(pa.array(idx)))
            else:
                arrays.append(_column(f, gathered[f.word]))
        return pa.Table.from_arrays(arrays, schema=schema)

    perm = prepared.perm
    parts = (perm[s : s + ROW_GROUP] for s in range(0, len(perm), ROW_GROUP))
    return _write(dest, schema, (chunk(idx) for idx in parts))


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
