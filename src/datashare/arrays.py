"""Array helpers shared by the pure engines (disclosure, extract): numpy only."""

from __future__ import annotations

import numpy as np


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for whole numbers (cell, relation, witness and student ids), by
    sorting. Since numpy 2.3 a plain ``np.unique`` (no index, inverse or counts asked)
    answers from a hash table, which for these ids is far slower than a sort (numpy 2.4.6,
    1,000,000 random int64: 0.50 s against 0.008 s; 2,000: 123 us against 10 us)."""
    out = np.sort(np.asarray(values), axis=None)
    if len(out) > 1:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out
