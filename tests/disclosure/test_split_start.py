"""The file audit's starting point, found in pieces below the top of the hierarchy.

Why it matters: ``audit-table`` proves every small cell from one whole-number point of the
published table. At 985,608 rows that point was one interior-point LP over 736,724 hidden
cells, 34 s on one core. With the state's hidden cells left out, the rest falls apart into
one piece per district, solved in threads (about 10 s). A point that breaks a relation or a
label bound would make every proof from it false, so each point must hold exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashare.disclosure import audit, local
from datashare.disclosure.api import audit_table
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space, dense, locate_rows

from .conftest import random_tables, suppressed_statewide


def _space(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[Any, np.ndarray]:
    space = build_space(parse_spec(spec))
    return space, dense(space, locate_rows(space, frame), frame["count"].to_numpy())


def _holds(space: Any, point: np.ndarray, values: np.ndarray, hidden: np.ndarray,
           lo: np.ndarray, hi: np.ndarray) -> bool:
    """Whole numbers, the published cells as published, every relation and bound exact."""
    return bool(point.dtype.kind == "i" and (point[~hidden] == values[~hidden]).all()
                and not space.relation_sums(point).any()
                and (point[hidden] >= lo[hidden]).all() and (point[hidden] <= hi[hidden]).all())


@pytest.fixture(scope="module")
def statewide() -> tuple[pd.DataFrame, dict[str, Any]]:
    return suppressed_statewide(6, 6, 3000, 11, "threshold")


def test_the_start_of_a_suppressed_statewide_table_is_found_in_pieces(
        statewide: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    table, spec = statewide
    space = build_space(parse_spec(spec))
    flat = locate_rows(space, table)
    hidden = np.zeros(space.size, dtype=bool)
    hidden[flat[table["count"].isna().to_numpy()]] = True
    values = dense(space, flat, table["count"].fillna(0).astype("int64").to_numpy())
    lo, hi = np.zeros(space.size), np.full(space.size, np.inf)
    # Labels: a primary is 1..9, a complement at least 10 (every hidden top cell is one).
    primary = np.zeros(space.size, dtype=bool)
    primary[flat[(table["suppression"] == "primary").to_numpy()]] = True
    lo[hidden], hi[primary] = 10, 9
    lo[primary] = 1
    top = hidden.reshape(space.shape)[0]
    assert top.any(), "the state's hidden cells are what the split leaves out"

    point = audit._split_start(space, values, hidden, lo, hi)

    assert point is not None
    assert _holds(space, point, values, hidden, lo, hi)


def test_audit_table_proves_the_same_from_the_pieces_as_from_the_whole_lp(
        statewide: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    table, spec = statewide
    runs, starts = [], []
    split_start = audit._split_start

    def spied(*args: Any) -> np.ndarray | None:
        got = split_start(*args)
        starts.append(got is not None)
        return got

    for split_min in (10**9, 0):  # never split; always split
        with monkeypatch.context() as m:
            m.setattr(audit, "SPLIT_MIN", split_min)
            m.setattr(audit, "_split_start", spied)
            m.setattr(local, "THREADS", 2)
            runs.append(audit_table(table, spec, count="count", protection="exact"))
    whole, split = runs
    # The whole-LP audit never tried the pieces; every point of the split one came from them
    # (not from the fallback).
    assert starts and all(starts)
    assert split.ok and whole.ok
    assert split.results["count"].targets == whole.results["count"].targets


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables(), st.integers(0, 2**32 - 1), st.floats(0.1, 0.9), st.booleans())
def test_a_split_start_is_a_whole_point_of_the_published_table(
        case: tuple[pd.DataFrame, dict[str, Any]], seed: int, share: float,
        labels: bool) -> None:
    frame, spec = case
    space, values = _space(frame, spec)
    rng = np.random.default_rng(seed)
    hidden = rng.random(space.size) < share
    hidden.reshape(space.shape)[0] |= rng.random(space.shape[1:]) < 0.5  # the state's
    lo, hi = np.zeros(space.size), np.full(space.size, np.inf)
    if labels:  # bounds around the truth, as the labels give them (some tight)
        lo = np.maximum(values - rng.integers(0, 3, space.size), 0).astype(np.float64)
        hi = (values + rng.integers(0, 3, space.size)).astype(np.float64)

    point = audit._split_start(space, values, hidden, lo, hi)

    if point is not None:
        assert _holds(space, point, values, hidden, lo, hi)
    pieces = audit.components(space, hidden & ~_top(space), skip=_cut(space, hidden))[2]
    if not labels and pieces >= 2:
        # Every piece holds the truth, and the top cells' sums are never below 0: a
        # consistent table always splits.
        assert point is not None


def _top(space: Any) -> np.ndarray:
    top = np.zeros(space.size, dtype=bool)
    top.reshape(space.shape)[0] = True  # organization is the first dimension, its top first
    return top


def _cut(space: Any, hidden: np.ndarray) -> np.ndarray:
    cut = np.zeros(space.n_relations, dtype=bool)
    cut[space.entry_rel[(hidden & _top(space))[space.cells]]] = True
    return cut
