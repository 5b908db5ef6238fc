"""A big table's file audit knows the small cells its labels pin before it starts.

Why it matters: every table the portal publishes carries this audit, and at scale 1 the rate
tables' audits were most of a year's publish. A small cell whose propagated label top is its
propagated floor has one value in every point of the labels-only model: the labels alone
determine it, and no pattern can protect it. Above REFINE_MAX_CELLS the audit used to fail
such a cell, solve LPs over hundreds of thousands of cells for it, and only then find that
out (``lazy_goals``). The shortcut must never skip a cell the labels leave room for.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashare.disclosure import api, model
from datashare.disclosure.api import audit_table
from datashare.disclosure.policy import load_policy
from datashare.disclosure.table import locate_rows

from .conftest import random_tables
from .test_publisher_audit import hidden_every

GROUPS = [f"g{i}" for i in range(9)]
# One school grade of 9 students, one in each of 9 groups: every cell is "N<10", and the
# labels alone say each group is 1 and the total 9 (nine groups of at least 1 under a total
# of at most 9).
PINNED_SPEC = {"student_group": {"All": {"groups": GROUPS}}}


def pinned_table() -> pd.DataFrame:
    return pd.DataFrame({"student_group": ["All", *GROUPS], "count": [None] * 10,
                         "suppression": ["primary"] * 10,
                         "display": ["N<10"] * 10})


def test_a_big_tables_audit_knows_the_small_cells_its_labels_pin_before_it_starts() -> None:
    table = pinned_table()
    small = audit_table(table, PINNED_SPEC, count="count", protection="exact")
    never = AssertionError("a pinned cell was failed, then judged against its exact goal")
    with (mock.patch.object(model, "REFINE_MAX_CELLS", 0),
          mock.patch.object(api, "lazy_goals", side_effect=never)):
        big = audit_table(table, PINNED_SPEC, count="count", protection="exact")
    assert small.ok and big.ok
    # No cell is the suppressor's to protect (the total is 9: nine groups of at least 1),
    # on either path.
    assert small.results["count"].targets == big.results["count"].targets == 0


def _pinned_up_front(frame: pd.DataFrame, spec: dict[str, Any], every: int,
                     ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(space, published values, primaries, hidden, what the big tables' ``_goal`` says the
    labels alone determine) for ``frame`` with its small cells and every ``every``-th other
    cell hidden."""
    space, values, prim, hidden, _, _ = hidden_every((frame, spec), every)
    published = np.where(hidden, 0.0, values)
    with mock.patch.object(model, "REFINE_MAX_CELLS", 0):
        _, determined = api._goal(space, prim, published, hidden, load_policy("ospi"), True)
    return space, published, prim, hidden, determined


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_tables(), st.integers(2, 5))
def test_every_small_cell_a_big_tables_audit_skips_is_one_the_labels_alone_determine(
        case: tuple[pd.DataFrame, dict[str, Any]], every: int) -> None:
    space, published, prim, hidden, determined = _pinned_up_front(*case, every)
    zero = (published == 0) & ~hidden
    pol = load_policy("ospi")
    goal = model.label_goal(space, prim, zero, pol)
    # The whole labels-only LP, as small tables ask it up front.
    by_labels = model.labels_disclose(space, published, prim, zero, goal, pol, False)
    assert not (determined & ~by_labels).any()


def test_the_pinned_cells_of_the_hand_table_are_found_up_front() -> None:
    spec = PINNED_SPEC
    table = pd.DataFrame({"student_group": ["All", *GROUPS], "count": [9] + [1] * 9})
    space, _, prim, _, determined = _pinned_up_front(table, spec, 2)
    cells = locate_rows(space, table)
    assert determined[cells].all() and prim[cells].all()
    # One student more, in one group: the total (10) is not small, so the labels leave each
    # group anywhere from 1 to 9.
    table.loc[[0, 1], "count"] = [10, 2]
    space, _, prim, _, determined = _pinned_up_front(table, spec, 2)
    assert prim[cells[1:]].all() and not determined.any()
