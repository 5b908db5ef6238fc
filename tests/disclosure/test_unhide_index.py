"""The unhide pass's index of the stored witnesses, built with sorts, is the one a loop over
the witnesses builds (``local.witness_index``).

Why it matters: the unhide pass publishes a complementary cell only while every target it
protects keeps a live witness; an index that missed a witness moving the cell would let it
publish a cell whose targets then have no proof (the final check would catch it, and the
cell would stay hidden for nothing), and one that listed a witness twice would count
support that is not there.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from datashare.arrays import sorted_unique
from datashare.disclosure.local import witness_index
from datashare.disclosure.witness import SUPPORT_TOL, Witnesses


def _one_witness_at_a_time(wit: Witnesses, is_target: np.ndarray,
                           ) -> tuple[list[np.ndarray], dict[int, list[int]], np.ndarray]:
    claims: list[np.ndarray] = []
    users: dict[int, list[int]] = {}
    support = np.zeros(len(is_target), dtype=np.int64)
    for w in range(wit.n):
        mine = wit.wid == w
        moved = sorted_unique(wit.cell[mine & (np.abs(wit.dx) > SUPPORT_TOL)])
        claimed = wit.claim_cell[wit.claim_wid == w]
        claimed = sorted_unique(claimed[is_target[claimed]])
        claims.append(claimed)
        for c in moved.tolist():
            users.setdefault(c, []).append(w)
        support[claimed] += 1
    return claims, users, support


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_index_is_the_one_built_witness_by_witness(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 40))
    n = data.draw(st.integers(0, 12))
    m = data.draw(st.integers(0, 80)) if n else 0
    k = data.draw(st.integers(0, 40)) if n else 0
    ints = st.integers(0, max(n - 1, 0))
    cells = st.integers(0, size - 1)
    wit = Witnesses(
        np.array(data.draw(st.lists(ints, min_size=m, max_size=m)), dtype=np.int64),
        np.array(data.draw(st.lists(cells, min_size=m, max_size=m)), dtype=np.int64),
        np.array(data.draw(st.lists(st.sampled_from([0.0, 1e-9, 1.0, -3.0]), min_size=m,
                                    max_size=m)), dtype=np.float64),
        np.array(data.draw(st.lists(cells, min_size=k, max_size=k)), dtype=np.int64),
        np.array(data.draw(st.lists(ints, min_size=k, max_size=k)), dtype=np.int64),
        n=n)
    is_target = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)))

    claims, users, support = witness_index(wit, is_target)
    want_claims, want_users, want_support = _one_witness_at_a_time(wit, is_target)

    assert len(claims) == len(want_claims) == wit.n
    for got, want in zip(claims, want_claims, strict=True):
        assert got.tolist() == want.tolist()
    assert users == want_users
    assert support.tolist() == want_support.tolist()
