"""The engines' own ``unique`` gives exactly what ``np.unique`` gives, for the ids they see.

Why it matters: numpy 2.3+ answers a plain ``np.unique`` from a hash table, 50-80x slower
than a sort for cell, relation, witness and student ids, so the engines sort instead
(``arrays.sorted_unique``: at 985,608 rows the disclosure engine's unhide pass went 16-18 ->
12 s). Every pattern and proof reads these sets (the relations a region's model holds, the
cells a witness moves), and the extract's RID crosswalk its distinct student keys, so a
different answer (a duplicate left in, an id lost, another order) would change what is
published, what the proof checks, or which students an extract holds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from datashare.arrays import sorted_unique

IDS = st.one_of(st.integers(0, 40), st.integers(-(2**62), 2**62))


@settings(max_examples=200, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(0, 5), st.integers(0, 60)), elements=IDS))
def test_sorted_unique_is_numpys_unique(ids: np.ndarray) -> None:
    got = sorted_unique(ids)
    want = np.unique(ids)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_sorted_unique_leaves_its_input_as_it_was() -> None:
    ids = np.array([5, 3, 5, 1], dtype=np.int64)
    np.testing.assert_array_equal(sorted_unique(ids), [1, 3, 5])
    np.testing.assert_array_equal(ids, [5, 3, 5, 1])  # a region's arrays are read again
