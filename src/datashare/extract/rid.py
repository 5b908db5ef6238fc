"""Research IDs (RIDs) and the crosswalk from source student key to RID.

34 CFR 99.31(b)(2): the record code "is not based on a student's social security number or
other personal information". So a RID is drawn from the operating system's cryptographic
generator (os.urandom), never computed from any field of the student; nothing about the
source (not even the order of the students) goes into it. A fresh extract draws fresh RIDs,
so two extracts cannot be linked through them; an amendment may reuse the agreement's
crosswalk on request.

Format: 12 letters from 20 consonants (20**12, about 52 bits). No digits, so a RID can never
be mistaken for (or contain) a state or district ID, a date or an SSN; no vowels, so no
words. Internally a RID is its number in [0, 20**12), which makes the uniqueness check a fast
integer sort even for millions of students.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from datashare.arrays import sorted_unique

from . import kernels

ALPHABET = np.frombuffer(b"BCDFGHJKLMNPQRSTVWXZ", dtype=np.uint8)
LENGTH = 12
SPACE = len(ALPHABET) ** LENGTH  # 4.1e15 possible RIDs
_LIMIT = (2**64 // SPACE) * SPACE  # rejection bound: keeps the draw exactly uniform
_INDEX = np.full(256, -1, dtype=np.int64)
_INDEX[ALPHABET] = np.arange(len(ALPHABET))


def _draw_codes(n: int) -> np.ndarray:
    """n uniform random integers in [0, SPACE) from os.urandom (rejection sampling)."""
    out = np.empty(0, dtype=np.uint64)
    while len(out) < n:
        raw = np.frombuffer(os.urandom(8 * (n - len(out) + 16)), dtype=np.uint64)
        out = np.concatenate([out, raw[raw < np.uint64(_LIMIT)]])
    return (out[:n] % np.uint64(SPACE)).astype(np.int64)


def to_text(codes: np.ndarray) -> pa.Array:
    """RID numbers -> 12-letter strings (base-20 digits, by a compiled loop)."""
    n = len(codes)
    letters = kernels.rid_letters(codes.astype(np.int64, copy=False), ALPHABET, LENGTH)
    # Every RID is LENGTH bytes, so the Arrow string array is the letters buffer as it is plus
    # evenly spaced offsets: no per-string Python or cast work (that took 2.4 s of the 10 s
    # crosswalk step for 2.9 million students).
    offsets = np.arange(0, LENGTH * (n + 1), LENGTH, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(letters))


def to_codes(rids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """12-letter strings -> RID numbers (the inverse of to_text)."""
    if isinstance(rids, pa.ChunkedArray):
        rids = rids.combine_chunks()
    rids = rids.cast(pa.string())
    offsets = np.frombuffer(rids.buffers()[1], dtype=np.int32)[
        rids.offset : rids.offset + len(rids) + 1
    ]
    if rids.null_count or (np.diff(offsets) != LENGTH).any():
        raise ValueError("not a RID")
    start = offsets[0] if len(offsets) else 0
    data = (
        np.frombuffer(rids.buffers()[2], dtype=np.uint8)[start : start + LENGTH * len(rids)]
        if len(rids)
        else np.empty(0, np.uint8)
    ).reshape(-1, LENGTH)
    digits = _INDEX[data]
    if (digits < 0).any():
        raise ValueError("not a RID")
    codes = np.zeros(len(data), dtype=np.int64)
    for i in range(LENGTH):
        codes = codes * len(ALPHABET) + digits[:, i]
    return codes


def draw_unique(n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """n RID numbers distinct from each other and from ``taken``: collisions are redrawn."""
    codes = _draw_codes(n)
    taken_sorted = np.sort(taken) if taken is not None and len(taken) else None
    if taken_sorted is None:
        # Collisions are rare (about n**2 / 2**53): check with a plain sort first, several
        # times faster than the stable argsort that picks which ones to redraw.
        s = np.sort(codes)
        if not (s[1:] == s[:-1]).any():
            return codes
    while True:
        order = np.argsort(codes, kind="stable")
        dup = np.zeros(n, bool)
        dup[order[1:]] = codes[order[1:]] == codes[order[:-1]]
        if taken_sorted is not None:
            pos = np.clip(np.searchsorted(taken_sorted, codes), 0, len(taken_sorted) - 1)
            dup |= taken_sorted[pos] == codes
        if not dup.any():
            return codes
        codes[dup] = _draw_codes(int(dup.sum()))


def crosswalk(keys: np.ndarray, previous: pa.Table | None = None) -> tuple[pa.Table, int]:
    """Crosswalk for the population ``keys`` (int64), reusing ``previous`` RIDs if given.

    Returns the crosswalk to join (population only) and how many RIDs were reused.
    """
    keys = sorted_unique(keys.astype(np.int64))
    codes = np.empty(len(keys), dtype=np.int64)
    fresh = np.ones(len(keys), bool)
    taken = None
    if previous is not None and previous.num_rows:
        old_keys = previous.column("student_key").to_numpy()
        old_codes = to_codes(previous.column("rid"))
        order = np.argsort(old_keys)
        old_keys, old_codes = old_keys[order], old_codes[order]
        pos = np.clip(np.searchsorted(old_keys, keys), 0, len(old_keys) - 1)
        hit = old_keys[pos] == keys
        codes[hit] = old_codes[pos[hit]]
        fresh = ~hit
        taken = old_codes
    codes[fresh] = draw_unique(int(fresh.sum()), taken)
    # rid_order: the RID's number, whose order is the RID's alphabetical order (the alphabet is
    # in ASCII order): an 8-byte integer sort key instead of a 12-byte string. Never written out.
    table = pa.table(
        {
            "student_key": pa.array(keys, pa.int64()),
            "rid": to_text(codes),
            "rid_order": pa.array(codes, pa.int64()),
        }
    )
    return table, int((~fresh).sum())


def merge(current: pa.Table, previous: pa.Table | None) -> pa.Table:
    """The crosswalk to keep: this extract's students plus earlier ones not in it."""
    current = current.select(["student_key", "rid"])
    if previous is None or previous.num_rows == 0:
        return current
    current_keys = current.column("student_key").to_numpy()  # sorted: built by crosswalk()
    old = previous.column("student_key").to_numpy()
    pos = np.clip(np.searchsorted(current_keys, old), 0, max(len(current_keys) - 1, 0))
    keep = current_keys[pos] != old if len(current_keys) else np.ones(len(old), bool)
    return pa.concat_tables(
        [
            current,
            previous.filter(pa.array(keep)).select(["student_key", "rid"]).cast(current.schema),
        ]
    )
