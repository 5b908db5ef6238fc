"""Research IDs (RIDs) and the crosswalk from source student key to RID.

34 CFR 99.31(b)(2): the record code "is not based on a student's social security number or
other personal information". So a RID is drawn from the operating system's cryptographic
generator (os.urandom), never computed from any field of the student; nothing about the
source (not even the order of the students) goes into it. A fresh extract draws fresh RIDs,
so two extracts cannot be linked through them; an amendment may reuse the agreement's
crosswalk on request.

Format: 12 letters from 20 consonants (about 52 bits). No digits, so a RID can never be
mistaken for (or contain) a state or district ID, a date or an SSN; no vowels, so no words.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

ALPHABET = np.frombuffer(b"BCDFGHJKLMNPQRSTVWXZ", dtype=np.uint8)
LENGTH = 12
_LIMIT = 240  # largest multiple of 20 below 256: rejection sampling keeps letters uniform


def _draw(n: int) -> np.ndarray:
    """n random RIDs as a numpy 'S12' array (not yet checked for uniqueness)."""
    need = n * LENGTH
    out = np.empty(0, dtype=np.uint8)
    while len(out) < need:
        raw = np.frombuffer(os.urandom(int((need - len(out)) * 1.1) + 64), dtype=np.uint8)
        out = np.concatenate([out, raw[raw < _LIMIT]])
    letters = ALPHABET[out[:need] % len(ALPHABET)]
    return letters.reshape(n, LENGTH).copy().view(f"S{LENGTH}").ravel()


def draw_unique(n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """n RIDs distinct from each other and from ``taken``: collisions are redrawn."""
    rids = _draw(n)
    taken = np.empty(0, dtype=f"S{LENGTH}") if taken is None else taken.astype(f"S{LENGTH}")
    while True:
        _, first = np.unique(rids, return_index=True)
        bad = np.ones(n, bool)
        bad[first] = False
        if len(taken):
            bad |= np.isin(rids, taken)
        if not bad.any():
            return rids
        rids[bad] = _draw(int(bad.sum()))


def crosswalk(keys: np.ndarray, previous: pa.Table | None = None) -> tuple[pa.Table, int]:
    """Crosswalk for the population ``keys`` (int64), reusing ``previous`` RIDs if given.

    Returns the crosswalk to join (population only) and how many RIDs were reused. The
    previous table's other students are kept by the caller so later amendments still match.
    """
    keys = np.unique(keys.astype(np.int64))
    rids = np.empty(len(keys), dtype=f"S{LENGTH}")
    fresh = np.ones(len(keys), bool)
    taken = None
    if previous is not None and previous.num_rows:
        old_keys = previous.column("student_key").to_numpy()
        old_rids = np.array(previous.column("rid").to_pylist(), dtype=f"S{LENGTH}")
        order = np.argsort(old_keys)
        old_keys, old_rids = old_keys[order], old_rids[order]
        pos = np.clip(np.searchsorted(old_keys, keys), 0, len(old_keys) - 1)
        hit = old_keys[pos] == keys
        rids[hit] = old_rids[pos[hit]]
        fresh = ~hit
        taken = old_rids
    rids[fresh] = draw_unique(int(fresh.sum()), taken)
    table = pa.table(
        {"student_key": pa.array(keys, pa.int64()), "rid": pa.array(rids).cast(pa.string())}
    )
    return table, int((~fresh).sum())


def merge(current: pa.Table, previous: pa.Table | None) -> pa.Table:
    """The crosswalk to keep: this extract's students plus earlier ones not in it."""
    if previous is None or previous.num_rows == 0:
        return current
    keep = ~np.isin(
        previous.column("student_key").to_numpy(), current.column("student_key").to_numpy()
    )
    return pa.concat_tables(
        [
            current,
            previous.filter(pa.array(keep)).select(["student_key", "rid"]).cast(current.schema),
        ]
    )
