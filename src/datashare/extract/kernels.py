"""Compiled row loops of the gather path (Numba): a hash set of student keys, the row sort,
packing and decoding.

NumPy has no O(n) way to find each row's place in a stable sort by a 27-bit key, nor to
probe a hash table without column-sized temporaries; these loops do both in one pass each
over the rows, and release the GIL, so they run beside the Arrow work on the other core.
Measured at scale 1 (docs/extract.md): the crosswalk's lookup table 2.4 s -> 0.3 s, and the
stable sort plus row gather several times faster than NumPy's 16-bit radix passes.

``cache=True`` keeps the machine code beside this file (or in Numba's user cache when the
package folder is read-only), so only the first run on a machine compiles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads any key pattern
MAX_DIGIT = 11  # widest radix digit: 2,048 buckets' counters and write streams stay in L1/L2


@njit(nogil=True, cache=True)
def _slot(key: np.int64, bits: np.uint64) -> np.int64:
    return np.int64((np.uint64(key) * _FIBONACCI) >> (np.uint64(64) - bits))


def warm_up() -> None:
    """Load the compiled code (the first call in a process sets Numba up: about 0.9 s here),
    so that a thread with time to spare pays it, not the crosswalk step."""
    keys = np.arange(4, dtype=np.int64)
    out = np.empty(4, np.int32)
    warm = KeySet(bits=3)
    warm.add(keys, np.ones(4, np.bool_), out)
    warm.find(keys, out)
    sort_rows([keys.astype(np.uint64) + np.uint64(1)], (0, 0, 3), None)
    sort_rows([keys.astype(np.uint64) + np.uint64(9)] * 2, (0, 0, 3), (1, 3, 2))
    sort_rows([keys.astype(np.uint64) + np.uint64(9)] * 2, (0, 0, 3), (1, 3, 2), True)
    rid_letters(keys, np.arange(65, 85, dtype=np.uint8), 12)
    codes = np.arange(3, dtype=np.uint64)
    year_codes(np.arange(2010, 2014, dtype=np.int16), 2011, codes, 2010)
    words = np.zeros(4, np.uint64)
    pack_lookup(words, out, np.arange(5, dtype=np.uint32), 0, True)
    pack_bools(words, np.zeros(1, np.uint8), np.zeros(0, np.uint8), 0, 0, False)
    for index in (np.int8, np.int32):
        compact_codes(words, 0, 2, 3, np.empty(4, index))


def sort_rows(
    words: list[np.ndarray],
    rank: tuple[int, int, int],
    year: tuple[int, int, int] | None,
    year_ordered: bool = False,
) -> np.ndarray:
    """Rows of packed words, stably sorted by (rank, year), rows whose rank or year code is 0
    (no RID; an unselected year) left out. ``year_ordered``: the rows already come in year
    order (a longitudinal source is usually written a year at a time), so the stable sort by
    rank alone keeps each student's years in order, and the year's pass is skipped.

    ``words`` are equal-length uint64 arrays, one per word of a row's codes; the list is
    emptied, so each word's memory is freed once it is copied. ``rank`` and ``year`` say
    where those codes are: (word, shift, bits). Returns a (kept rows, words) array in key
    order, ties in source order: least-significant-digit radix passes of at most
    ``MAX_DIGIT`` bits, each a sequential read and a write into one stream per bucket, so
    the rows move a few times in cache-friendly order instead of once at random.
    """
    fields = [rank] if year is None or year_ordered else [rank, year]
    digits = key_digits(fields)
    n = len(words[0]) if words else 0
    counts = np.zeros((len(digits), 1 << int(digits[:, 2].max(initial=1))), np.int64)
    y = year if year is not None else (rank[0], 0, 0)
    # Where each kept row goes in the first pass (-1: dropped). Int32: the memory budget
    # keeps a file's rows far under 2**31.
    at = np.empty(n, np.int32)
    kept = _positions(words[rank[0]], rank, words[y[0]], y, digits, counts, at)
    out = np.empty((kept, len(words)), np.uint64)  # NumPy's: huge pages, fewer faults
    for w in range(len(words)):
        _scatter(words[w], at, out, w)
        words[w] = np.empty(0, np.uint64)  # copied: give its memory back before ``other``
    words.clear()
    del at
    if len(digits) > 1:
        other = np.empty_like(out)
        out = _other_passes(out, other, digits, counts)
    return out


def key_digits(fields: list[tuple[int, int, int]]) -> np.ndarray:
    """Radix digits (word, shift, bits) of a key made of ``fields`` (word, shift, bits), most
    significant field first: each field cut into as few digits of at most ``MAX_DIGIT`` bits,
    least significant digit first."""
    digits = []
    for word, shift, bits in reversed(fields):
        passes = max(1, -(-bits // MAX_DIGIT))
        size = -(-bits // passes)
        for p in range(passes):
            digits.append((word, shift + p * size, min(size, bits - p * size)))
    return np.array(digits, dtype=np.int64).reshape(-1, 3)


@njit(nogil=True, cache=True)
def _positions(
    rank_word: np.ndarray,
    rank: tuple[int, int, int],
    year_word: np.ndarray,
    year: tuple[int, int, int],
    digits: np.ndarray,
    counts: np.ndarray,
    at: np.ndarray,
) -> int:
    """Every pass's bucket starts (in ``counts``) and each row's place after the first pass
    (in ``at``; -1 if dropped); returns how many rows are kept."""
    passes = len(digits)
    rshift, rmask = np.uint64(rank[1]), (np.uint64(1) << np.uint64(rank[2])) - np.uint64(1)
    yshift, ymask = np.uint64(year[1]), (np.uint64(1) << np.uint64(year[2])) - np.uint64(1)
    from_rank = np.empty(passes, np.bool_)
    shifts = np.empty(passes, np.uint64)
    masks = np.empty(passes, np.uint64)
    for p in range(passes):
        from_rank[p] = digits[p, 0] == rank[0]
        shifts[p] = np.uint64(digits[p, 1])
        masks[p] = (np.uint64(1) << np.uint64(digits[p, 2])) - np.uint64(1)
    kept = 0
    for i in range(len(rank_word)):
        a = rank_word[i]
        b = year_word[i]
        if (a >> rshift) & rmask == 0 or (year[2] > 0 and (b >> yshift) & ymask == 0):
            at[i] = -1
            continue
        at[i] = 0
        kept += 1
        for p in range(passes):
            v = a if from_rank[p] else b
            counts[p, (v >> shifts[p]) & masks[p]] += 1
    for p in range(passes):
        total = 0
        for d in range(counts.shape[1]):
            c = counts[p, d]
            counts[p, d] = total
            total += c
    for i in range(len(rank_word)):
        if at[i] < 0:
            continue
        v = rank_word[i] if from_rank[0] else year_word[i]
        d = (v >> shifts[0]) & masks[0]
        at[i] = counts[0, d]
        counts[0, d] += 1
    return kept


@njit(nogil=True, cache=True)
def _scatter(word: np.ndarray, at: np.ndarray, out: np.ndarray, w: int) -> None:
    for i in range(len(word)):
        if at[i] >= 0:
            out[at[i], w] = word[i]


@njit(nogil=True, cache=True)
def _other_passes(
    out: np.ndarray, other: np.ndarray, digits: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    kept, width = out.shape
    for p in range(1, len(digits)):
        word = digits[p, 0]
        shift = np.uint64(digits[p, 1])
        mask = (np.uint64(1) << np.uint64(digits[p, 2])) - np.uint64(1)
        for i in range(kept):
            d = (out[i, word] >> shift) & mask
            at = counts[p, d]
            counts[p, d] = at + 1
            for w in range(width):
                other[at, w] = out[i, w]
        out, other = other, out
    return out


@njit(nogil=True, cache=True)
def compact_codes(
    word: np.ndarray, shift: int, width: int, top: int, out: np.ndarray
) -> np.ndarray:
    """One field's codes in a row group's words (1..``top`` a value's place in a sorted
    dictionary, 0 null) -> ``out`` (int8 or int32): the row's index among the values the
    row group uses, in the same order, -1 for null; returns which of the ``top`` values are
    used. Two passes over the rows, where NumPy took five (shift, mask, mark, remap, cast)."""
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    ushift = np.uint64(shift)
    seen = np.zeros(top + 1, np.bool_)
    for i in range(len(word)):
        seen[np.int64((word[i] >> ushift) & mask)] = True
    remap = np.empty(top + 1, np.int32)
    remap[0] = -1
    n = 0
    for c in range(1, top + 1):
        remap[c] = n
        if seen[c]:
            n += 1
    for i in range(len(word)):
        out[i] = remap[np.int64((word[i] >> ushift) & mask)]
    return seen[1:]


@njit(nogil=True, cache=True)
def rank_runs(word: np.ndarray, shift: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The RID ranks (packed as rank + 1) of rows grouped by student -> (each row's run
    number, each run's rank): the RID column as a dictionary of one entry per student."""
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    ushift = np.uint64(shift)
    index = np.empty(len(word), np.int32)
    ranks = np.empty(len(word), np.int64)
    run = -1
    previous = np.int64(-2)
    for i in range(len(word)):
        r = np.int64((word[i] >> ushift) & mask) - 1
        if r != previous:
            run += 1
            ranks[run] = r
            previous = r
        index[i] = run
    return index, ranks[: run + 1]


RID_BASE = np.uint64(20)  # letters in rid.ALPHABET: a constant, so the division is a multiply


@njit(nogil=True, cache=True)
def rid_letters(codes: np.ndarray, alphabet: np.ndarray, length: int) -> np.ndarray:
    """RID numbers -> their ``length`` base-20 digits as letters, most significant first, all
    in one buffer (row i at ``i * length``): NumPy's twelve column-wise divmods took 0.3 s
    for 2.9 million students, this loop 0.02 s."""
    out = np.empty(len(codes) * length, np.uint8)
    for i in range(len(codes)):
        rest = np.uint64(codes[i])
        for j in range(length - 1, -1, -1):
            q = rest // RID_BASE
            out[i * length + j] = alphabet[rest - q * RID_BASE]
            rest = q
    return out


class KeySet:
    """Distinct student keys, each with a dense id in the order first met.

    Open addressing (linear probing) in one NumPy array of (key, id) slots, so a probe
    touches one cache line, grown and rehashed at half full, filled and probed by compiled
    loops. It holds the crosswalk for lookups by key, and collects an extract's population
    (every student with a row in a selected year) while the files are read, instead of
    DuckDB reading the key columns a second time. Not thread-safe: the engine adds one
    piece at a time under a lock. The slots are NumPy's (huge pages; Numba's own
    allocations are not): with 4 KiB pages every probe of a 128 MiB table also missed the
    TLB.
    """

    def __init__(self, bits: int = 16) -> None:
        self.bits = bits
        self.slots = _empty_slots(bits)
        self.by_id = np.empty(1 << (bits - 1), np.int64)  # id -> key
        self.count = 0

    @classmethod
    def sized_for(cls, n: int) -> KeySet:
        """An empty set with room for ``n`` keys without growing."""
        return cls(bits=max(3, n.bit_length() + 1))

    def add(self, keys: np.ndarray, take: np.ndarray, out: np.ndarray) -> None:
        """Add ``keys[i]`` where ``take[i]``; ``out[i]`` = its id, or -1 where not taken."""
        start = 0
        while True:
            start, self.count = _add(
                self.slots, self.by_id, self.bits, self.count, keys, take, out, start
            )
            if start == len(keys):
                return
            self._grow()

    def find(self, keys: np.ndarray, out: np.ndarray) -> None:
        """``out[i]`` = the id of ``keys[i]``, or -1 where it was never added."""
        _find(self.slots, self.bits, keys, out)

    def members(self) -> np.ndarray:
        """The keys, by id."""
        return self.by_id[: self.count]

    def _grow(self) -> None:
        members = self.members().copy()
        self.bits += 1
        self.slots = _empty_slots(self.bits)
        self.by_id = np.empty(1 << (self.bits - 1), np.int64)
        ids = np.empty(len(members), np.int32)
        _, count = _add(
            self.slots, self.by_id, self.bits, 0, members,
            np.ones(len(members), np.bool_), ids, 0,
        )  # fmt: skip
        assert count == len(members) and (ids == np.arange(count)).all()
        self.count = count


def _empty_slots(bits: int) -> np.ndarray:
    slots = np.empty((1 << bits, 2), np.int64)  # (key, id); id -1: empty
    slots[:, 1] = -1
    return slots


@njit(nogil=True, cache=True)
def _add(
    slots: np.ndarray,
    by_id: np.ndarray,
    bits: int,
    count: int,
    keys: np.ndarray,
    take: np.ndarray,
    out: np.ndarray,
    start: int,
) -> tuple[int, int]:
    """Adds from row ``start`` on; stops early (returns the row to resume at) at half full."""
    mask = len(slots) - 1
    ubits = np.uint64(bits)
    limit = len(slots) // 2
    for i in range(start, len(keys)):
        if not take[i]:
            out[i] = -1
            continue
        k = keys[i]
        h = _slot(k, ubits)
        while slots[h, 1] >= 0 and slots[h, 0] != k:
            h = (h + 1) & mask
        if slots[h, 1] < 0:
            if count >= limit:
                return i, count
            slots[h, 0] = k
            slots[h, 1] = count
            by_id[count] = k
            count += 1
        out[i] = slots[h, 1]
    return len(keys), count


@njit(nogil=True, cache=True)
def _find(slots: np.ndarray, bits: int, keys: np.ndarray, out: np.ndarray) -> None:
    mask = len(slots) - 1
    ubits = np.uint64(bits)
    for i in range(len(keys)):
        k = keys[i]
        h = _slot(k, ubits)
        while slots[h, 1] >= 0 and slots[h, 0] != k:
            h = (h + 1) & mask
        out[i] = slots[h, 1]


@njit(nogil=True, cache=True)
def pack_lookup(
    out: np.ndarray, index: np.ndarray, lut: np.ndarray, shift: int, first: bool
) -> None:
    """``out[i]`` (set when ``first``, else OR-ed) = ``lut[index[i] + 1] << shift``: a
    dictionary column's piece, its source dictionary index (-1 null) to its code."""
    s = np.uint64(shift)
    if first:
        for i in range(len(index)):
            out[i] = np.uint64(lut[index[i] + 1]) << s
    else:
        for i in range(len(index)):
            out[i] |= np.uint64(lut[index[i] + 1]) << s


@njit(nogil=True, cache=True)
def pack_offset(out: np.ndarray, values: np.ndarray, offset: int, shift: int, first: bool) -> None:
    """``out[i]`` (set when ``first``, else OR-ed) = ``(values[i] - offset) << shift``: an
    integer or date column's piece (nulls already filled with ``offset``, code 0)."""
    s = np.uint64(shift)
    if first:
        for i in range(len(values)):
            out[i] = np.uint64(np.int64(values[i]) - offset) << s
    else:
        for i in range(len(values)):
            out[i] |= np.uint64(np.int64(values[i]) - offset) << s


@njit(nogil=True, cache=True)
def pack_bools(
    out: np.ndarray, data: np.ndarray, valid: np.ndarray, offset: int, shift: int, first: bool
) -> None:
    """``out[i]`` (set when ``first``, else OR-ed) = a boolean piece's code << ``shift``: 1
    false, 2 true, 0 null, read straight from its Arrow bitmaps (least significant bit
    first, from bit ``offset``; ``valid`` empty: no nulls). NumPy took four passes (unpack,
    fill, look up, shift)."""
    s = np.uint64(shift)
    nulls = len(valid) > 0
    for i in range(len(out)):
        b = offset + i
        code = np.uint64(1 + ((data[b >> 3] >> (b & 7)) & 1))
        if nulls and (valid[b >> 3] >> (b & 7)) & 1 == 0:
            code = np.uint64(0)
        if first:
            out[i] = code << s
        else:
            out[i] |= code << s


@njit(nogil=True, cache=True)
def year_codes(
    years: np.ndarray, first: int, code: np.ndarray, previous: int
) -> tuple[np.ndarray, bool, int]:
    """A piece's school years -> their codes, ``code[year - first + 1]`` with years outside
    [first - 1, first + len(code) - 2] clipped to its ends (code 0: not selected); whether the
    years never go down from ``previous`` on; and the last one (the next piece's
    ``previous``). One pass where NumPy took four (clip, check, check, look up)."""
    out = np.empty(len(years), np.uint64)
    low = np.int64(first - 1)
    high = np.int64(first + len(code) - 2)
    last = np.int64(previous)
    ordered = True
    for i in range(len(years)):
        y = np.int64(years[i])
        if y < low:
            y = low
        elif y > high:
            y = high
        if y < last:
            ordered = False
        last = y
        out[i] = code[y - low]
    return out, ordered, int(last)
