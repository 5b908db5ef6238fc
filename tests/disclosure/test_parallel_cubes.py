"""The cube phase's numpy blocks in threads, and the label bounds' passes over only the
relations that moved: both are speed-ups that must not change a single number."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from datashare.disclosure import witness
from datashare.disclosure.api import suppress_table
from datashare.disclosure.model import bounds_pass, label_bounds
from datashare.disclosure.policy import Policy, load_policy
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import CellSpace, build_space

from .conftest import dense_counts, private_cores, random_tables, statewide_records


def _every_relation_each_pass(space: CellSpace, primary: np.ndarray, known_zero: np.ndarray,
                              policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """The label bounds as first written: every relation recomputed in every pass."""
    top = np.where(primary, float(policy.min_n - 1), np.inf)
    floor = np.where(primary, 0.0 if policy.zeros_disclosive else 1.0, float(policy.min_n))
    top[known_zero] = 0.0
    floor[known_zero] = 0.0
    for _ in range(64):
        new_top, new_floor = bounds_pass(space, top, floor)
        if (new_floor > new_top).any():
            break
        if np.array_equal(new_top, top) and np.array_equal(new_floor, floor):
            break
        top, floor = new_top, new_floor
    return (np.where(primary, top, np.where(known_zero, 0.0, np.inf)),
            np.where(known_zero, 0.0, floor))


def _labelled(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[CellSpace, np.ndarray,
                                                                   np.ndarray]:
    space, values, _, primary = dense_counts(frame, spec)
    return space, primary, (values == 0) & ~primary


def _same_bounds(space: CellSpace, primary: np.ndarray, zero: np.ndarray) -> None:
    policy = load_policy("ospi")
    got = label_bounds(space, primary, zero, policy)
    want = _every_relation_each_pass(space, primary, zero, policy)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_tables())
def test_the_label_bounds_are_those_of_recomputing_every_relation_each_pass(case) -> None:
    _same_bounds(*_labelled(*case))


def test_the_label_bounds_of_a_statewide_table_take_several_passes_and_match() -> None:
    # Bounds that travel: a school grade's bound moves its district's, which moves the
    # state's, so later passes recompute a few relations only.
    space, primary, zero = _labelled(*statewide_records(6, 6, 4000, 3))
    _same_bounds(space, primary, zero)


def test_labels_that_contradict_each_other_stop_at_the_same_pass() -> None:
    # Random labels: complements under small totals, which the propagation stops on.
    space, primary, zero = _labelled(*statewide_records(3, 4, 1500, 5))
    rng = np.random.default_rng(7)
    for _ in range(5):
        flip = rng.random(space.size) < 0.2
        _same_bounds(space, primary ^ flip, zero & ~flip)


def test_cubes_laid_out_and_scored_in_threads_give_the_pattern_of_one_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame, spec = statewide_records(5, 6, 3000, 2)
    # Small blocks and a pool for every scoring call: many blocks run in the threads.
    monkeypatch.setattr(witness, "BLOCK", 2_000)
    monkeypatch.setattr(witness, "POOL_ROWS", 0)
    ran_in: set[str] = set()
    for name in ("_rank_moves", "_lay_corners", "_score_block"):
        block = getattr(witness, name)

        def seen(*args: Any, _block: Any = block, **kwargs: Any) -> None:
            ran_in.add(threading.current_thread().name.split("-")[0])
            _block(*args, **kwargs)

        monkeypatch.setattr(witness, name, seen)
    monkeypatch.setattr(witness, "THREADS", 1)
    one = suppress_table(frame, spec, count="count", method="cubes")
    assert ran_in == {"MainThread"}

    private_cores(monkeypatch, tmp_path / "slots", 2)
    monkeypatch.setattr(witness, "THREADS", 2)
    ran_in.clear()
    two = suppress_table(frame, spec, count="count", method="cubes")
    assert "ThreadPoolExecutor" in ran_in
    pd.testing.assert_frame_equal(one.table, two.table)
    assert one.report["cells_hidden"] == two.report["cells_hidden"]


def _moves_summed_at_every_step(space: CellSpace) -> list[list[list[tuple[Any, Any]]]]:
    """``secondary.dimension_moves`` as first written: every partition of every moving code
    summed again at each step of the search."""
    import itertools

    from datashare.disclosure.secondary import (
        MAX_MOVES,
        MAX_SUPPORT,
        _round_robin,
        partition_members,
    )

    out = []
    for dim in space.spec.dimensions:
        parts, member = partition_members(dim)

        def coef(j: int, k: int, parts: Any = parts) -> int:
            return 1 if parts[k][0] == j else -1

        def grow(state: dict[int, int], member: Any = member, parts: Any = parts,
                 coef: Any = coef) -> Any:
            bad = None
            for j in list(state):
                for k in member[j]:
                    total = sum(coef(c, k) * v for c, v in state.items() if k in member[c])
                    if total:
                        bad = (k, total)
                        break
                if bad:
                    break
            if bad is None:
                codes = sorted(state)
                yield codes, [state[c] for c in codes]
                return
            k, total = bad
            if abs(total) != 1 or len(state) >= MAX_SUPPORT:
                return
            par, kids = parts[k]
            across = _round_robin(grow({**state, c: total}) for c in kids if c not in state)
            if par in state:
                yield from across
            else:
                yield from _round_robin([grow({**state, par: -total}), across])

        out.append([list(itertools.islice(grow({a: 1}), MAX_MOVES)) if member[a] else []
                    for a in range(len(dim.codes))])
    return out


def test_the_movements_are_those_of_summing_every_partition_at_every_step() -> None:
    from datashare.disclosure.secondary import dimension_moves

    # A wide student-group dimension (ten partitions, as at 1M rows), districts of many
    # schools, and the hypothesis tables' small ones.
    groups = {f"p{i}": [f"g{i}{j}" for j in range(2 + i % 4)] for i in range(10)}
    org: dict[str, Any] = {"ST": {"districts": [f"D{d}" for d in range(12)]}}
    org.update({f"D{d}": {"schools": [f"S{d}-{s}" for s in range(1 + d * 3)]}
                for d in range(12)})
    wide = {"organization": org, "student_group": {"All Students": groups},
            "grade": {"All Grades": {"grades": ["1", "2", "3"]}}}
    for spec in (wide, statewide_records(3, 4, 200, 1)[1]):
        space = build_space(parse_spec(spec))
        got = dimension_moves(space)
        want = _moves_summed_at_every_step(space)
        assert [[[(c.tolist(), s.tolist()) for c, s in code] for code in dim] for dim in got] \
            == want
