"""The relations an LP may leave out (`CellSpace.implied`): every one of them must be a sum
of the relations kept, or a whole point found without them could break one. The start
points are still checked against every relation; these tests hold the rule itself and that
check to account."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings

from datashare.disclosure import audit
from datashare.disclosure.model import rate_space
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import CellSpace, build_space, dense, locate_rows

from .conftest import random_tables

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def relation_matrix(space: CellSpace) -> np.ndarray:
    a = np.zeros((space.n_relations, space.size))
    np.add.at(a, (space.entry_rel, space.cells), space.coef)
    return a


def assert_implied_by_the_rest(space: CellSpace) -> None:
    a = relation_matrix(space)
    kept = a[~space.implied]
    # Each left-out row lies in the span of the kept ones: adding them adds no rank.
    assert np.linalg.matrix_rank(kept) == np.linalg.matrix_rank(a)


@SETTINGS
@given(random_tables())
def test_every_relation_left_out_of_a_count_tables_lps_is_implied_by_those_kept(
        case: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    _, spec = case
    space = build_space(parse_spec(spec))
    assert space.implied.any()  # the grand totals' slices at least
    assert_implied_by_the_rest(space)


@SETTINGS
@given(random_tables())
def test_a_rate_spaces_group_size_relations_are_left_out_and_implied(
        case: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    # tested = met + not met per cell, so the group sizes add up wherever "met" and "not
    # met" do: every relation of the group sizes but that one is left out.
    _, spec = case
    space = rate_space(parse_spec(spec), "met", "tested")
    measure = len(space.shape) - 1
    first = space.cells[space.ptr[:-1]]
    tested = (space.rel_dim != measure) & (first % space.shape[measure] == 0)
    assert (space.implied[tested]).all()
    assert not space.implied[space.rel_dim == measure].any()
    assert_implied_by_the_rest(space)


def test_a_two_way_table_leaves_out_exactly_its_one_redundant_row() -> None:
    spec = parse_spec({"organization": {"ST": {"schools": ["A", "B"]}},
                       "grade": {"All": {"grades": ["1", "2"]}}})
    space = build_space(spec)
    assert space.implied.sum() == 1
    assert_implied_by_the_rest(space)


@SETTINGS
@given(random_tables())
def test_a_start_point_found_without_rows_wrongly_left_out_still_satisfies_every_relation(
        case: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    # Should the rule ever leave out a relation that is not implied, the whole point is
    # checked against every relation and found again with all of them.
    frame, spec = case
    space = build_space(parse_spec(spec))
    values = dense(space, locate_rows(space, frame), frame["count"].to_numpy())
    hidden = (values > 0) & (values < 10)
    hidden[np.flatnonzero(values >= 10)[::2]] = True
    lo = np.where(hidden & (values >= 10), 10.0, np.where(hidden, 1.0, 0.0))
    hi = np.where(hidden & (values < 10), 9.0, np.inf)
    everything = np.ones(space.n_relations, dtype=bool)
    with mock.patch.object(CellSpace, "implied", everything):
        point = audit.whole_start(space, values, hidden, lo, hi)
    assert point is not None  # the truth is one
    assert (point[~hidden] == values[~hidden]).all()
    assert (point >= lo).all() and (point <= hi).all()
    assert not space.relation_sums(point.astype(np.float64)).any()
