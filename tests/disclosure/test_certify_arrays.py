"""The hypercube search over arrays finds exactly the cubes the per-target search finds.

Why it matters: a cube certificate is a proof in every audit; the array search (all targets
at once) replaced a loop over targets, and must neither miss a cube (slower audits) nor
invent one (a false proof).
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashare.disclosure import certify as cube
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import CellSpace, build_space

from .conftest import random_tables, statewide_records


def _one_by_one(space: CellSpace, values: np.ndarray, suppressed: np.ndarray,
                targets: np.ndarray, goal_move: np.ndarray, lower: np.ndarray,
                upper: np.ndarray) -> np.ndarray:
    """The search as it was written first: each target, each combination of partners."""
    table = cube.partners(space)
    down, up = values - lower, upper - values
    out = np.zeros(len(targets), dtype=bool)
    coords = np.unravel_index(targets, space.shape)
    for t, cell in enumerate(targets.tolist()):
        delta = float(goal_move[t])
        if up[cell] < delta:
            continue
        per_dim: list[list[tuple[int, int]]] = []
        dead = False
        for d in range(len(space.shape)):
            a = int(coords[d][t])
            cand = table[d][a]
            if not cand:
                dead = True
                break
            if cand[0][0] < 0:
                continue
            mine = []
            for j, s in cand:
                nb = cell + (j - a) * space.strides[d]
                room = down[nb] if s < 0 else up[nb]
                if suppressed[nb] and room >= delta:
                    mine.append(((j - a) * space.strides[d], s))
            if not mine:
                dead = True
                break
            per_dim.append(mine)
        if dead or not per_dim:
            continue
        for combo in itertools.product(*per_dim):
            good = True
            for bits in itertools.product((0, 1), repeat=len(combo)):
                if sum(bits) < 2:
                    continue
                corner = cell + sum(o for (o, _), b in zip(combo, bits, strict=True) if b)
                sign = int(np.prod([s for (_, s), b in zip(combo, bits, strict=True) if b]))
                room = down[corner] if sign < 0 else up[corner]
                if not (suppressed[corner] and room >= delta):
                    good = False
                    break
            if good:
                out[t] = True
                break
    return out


def _compare(space: CellSpace, seed: int, hidden_share: float) -> int:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 40, space.size).astype(np.float64)
    suppressed = rng.random(space.size) < hidden_share
    lower = np.where(rng.random(space.size) < 0.5, 0.0, np.maximum(values - 3, 0))
    upper = np.where(rng.random(space.size) < 0.3, values + 2, np.inf)
    targets = np.flatnonzero(suppressed)
    move = rng.integers(1, 6, len(targets)).astype(np.float64)
    fast = cube.certify(space, values, suppressed, targets, move, lower, upper)
    slow = _one_by_one(space, values, suppressed, targets, move, lower, upper)
    assert np.array_equal(fast, slow), np.flatnonzero(fast != slow)
    return int(fast.sum())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables(), st.integers(0, 2**32 - 1), st.sampled_from([0.3, 0.6, 0.9]))
def test_the_array_search_finds_the_cubes_the_per_target_search_finds(
        case, seed: int, share: float) -> None:  # type: ignore[no-untyped-def]
    _compare(build_space(parse_spec(case[1])), seed, share)


def test_on_a_statewide_table_in_small_chunks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Chunks smaller than one target's combinations, and many targets per chunk.
    space = build_space(parse_spec(statewide_records(3, 4, 800, 2)[1]))
    for chunk, seed in ((1, 5), (50, 6), (cube.CHUNK_COMBOS, 7)):
        monkeypatch.setattr(cube, "CHUNK_COMBOS", chunk)
        assert _compare(space, seed, 0.8) > 0
