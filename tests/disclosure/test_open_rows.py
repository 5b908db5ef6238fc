"""Rate numerators held by their neighbours' label bounds (``local.bounds_holding``,
``joint._open_rows``).

In a low-rate table most numerators are coded ("<X%": 0 to 2 given the group size) or, where
hidden but not coded, lie in [k, N - k]. A coded numerator at its top beside neighbours at
the ends of their own ranges cannot move in any region, however many cells are hidden under
those bounds; hiding a neighbour's group size takes its row's label (and so its bound) away.
"""

from __future__ import annotations

import numpy as np

from datashare.disclosure.local import bounds_holding
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space

SPEC = {"student_group": {"All Students": {"gender": ["Female", "Male"]}}}


def _space_and_cells() -> tuple[object, int, int, int]:
    space = build_space(parse_spec(SPEC))
    code = {space.key(c)["student_group"]: c for c in range(space.size)}
    return space, code["All Students"], code["Female"], code["Male"]


def test_a_coded_numerator_at_its_top_is_held_by_a_partner_at_its_own_top() -> None:
    space, total, female, male = _space_and_cells()
    values = np.zeros(space.size)
    values[[total, female, male]] = [4, 2, 2]  # both groups coded "<X%": 0 to 2
    hidden = np.zeros(space.size, dtype=bool)
    hidden[[female, male]] = True
    lower = np.zeros(space.size)
    upper = np.full(space.size, np.inf)
    upper[[female, male]] = 2
    # The total may not be hidden (as a grand total the joint rounds keep published).
    blocked = np.zeros(space.size, dtype=bool)
    blocked[total] = True
    held = bounds_holding(space, values, hidden, lower, upper, np.array([female]), blocked)
    # Female can only go down (it is at its top), so Male must go up: Male's bound holds it.
    assert np.flatnonzero(held).tolist() == [male]


def test_nothing_holds_a_numerator_that_can_move() -> None:
    space, total, female, male = _space_and_cells()
    values = np.zeros(space.size)
    values[[total, female, male]] = [5, 2, 3]
    hidden = np.zeros(space.size, dtype=bool)
    hidden[[female, male]] = True
    lower = np.zeros(space.size)
    upper = np.full(space.size, np.inf)
    upper[female] = 2  # Male is uncoded: [3, N - 3] with room above
    lower[male] = 3
    blocked = np.zeros(space.size, dtype=bool)
    blocked[total] = True
    held = bounds_holding(space, values, hidden, lower, upper, np.array([female]), blocked)
    assert not held.any()
