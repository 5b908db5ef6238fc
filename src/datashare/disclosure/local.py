"""Local LP repair: witnesses for the cells no cube protects, from a small LP per region.

A cube is one balanced movement per dimension; some small cells (the smallest groups of a
small school grade, when the grand total may not move) only have proofs that combine several,
which the whole-component LP loop finds slowly. Here each such cell gets an LP over a
*region*: per dimension its code, its ancestors, its children and its sibling leaves (a
school: its district's schools, the district and the state; a group: every group; a grade:
every grade). Cells outside the region, known zeros and blocked cells (the grand total) keep
their true values. The LP moves the target to its goal at least cost: hidden cells move
almost freely, a published cell pays for every unit it moves (then it must be hidden). The
true values plus the movement are a feasible point of the audit LP for the whole table once
the moved cells are hidden (every relation still adds up, every moved cell keeps its bounds),
so it is a witness like a cube, and ``witness.verify`` re-checks it on the final pattern.

Targets sharing a region are solved together (one point carrying all of them to their
goals); if that point does not exist, each is tried alone.
"""

from __future__ import annotations

from collections import defaultdict

import highspy
import numpy as np

from datashare.disclosure.lp import equality_model, new_highs
from datashare.disclosure.table import CellSpace, ramp
from datashare.disclosure.witness import SUPPORT_TOL

HIDDEN_COST = 1e-3  # per unit moved of an already hidden cell: nearly free, but not wandering
VALUE_COST = 1e-4  # per unit and per count of the cell's value: small cells first
ALONE_MAX = 8  # targets of an infeasible joint LP retried one at a time up to this many


def region_codes(space: CellSpace) -> list[list[tuple[int, ...]]]:
    """Per dimension, per code: the codes of its region (itself, its ancestors, its
    children and its siblings that have no children)."""
    out: list[list[tuple[int, ...]]] = []
    for dim in space.spec.dimensions:
        index = dim.index()
        parents: dict[int, set[int]] = defaultdict(set)
        children: dict[int, set[int]] = defaultdict(set)
        for part in dim.partitions:
            p = index[part.parent]
            for c in part.children:
                parents[index[c]].add(p)
                children[p].add(index[c])
        per_code = []
        for a in range(len(dim.codes)):
            codes = {a} | children[a]
            for p in parents[a]:
                codes |= {s for s in children[p] if not children[s]}
            todo = list(parents[a])
            while todo:
                p = todo.pop()
                if p not in codes:
                    codes.add(p)
                todo += [q for q in parents[p] if q not in codes]
            per_code.append(tuple(sorted(codes)))
        out.append(per_code)
    return out


def local_repair(space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                 targets: np.ndarray, need: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, blocked: np.ndarray | None,
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray, int]], np.ndarray]:
    """Witness points for ``targets``; hides (in ``hidden``) the published cells they move.

    Returns (points as (cells moved, their values there, a target the point carries), targets
    left over).
    """
    regions = region_codes(space)
    coords = np.unravel_index(targets, space.shape)
    groups: dict[tuple[tuple[int, ...], ...], list[int]] = defaultdict(list)
    for i in range(len(targets)):
        key = tuple(regions[d][int(coords[d][i])] for d in range(len(space.shape)))
        groups[key].append(int(targets[i]))
    points: list[tuple[np.ndarray, np.ndarray, int]] = []
    left: list[int] = []
    for key, cells in groups.items():
        region = _region_cells(space, key)
        got = _solve(space, values, hidden, region, np.array(cells), need,
                     lower, upper, blocked)
        if got is None and len(cells) <= ALONE_MAX:
            for c in cells:
                one = _solve(space, values, hidden, region, np.array([c]), need, lower,
                             upper, blocked)
                if one is None:
                    left.append(c)
                else:
                    points.append((*one, c))
        elif got is None:
            left += cells
        else:
            points.append((*got, cells[0]))
    return points, np.array(sorted(left), dtype=np.int64)


def _region_cells(space: CellSpace, key: tuple[tuple[int, ...], ...]) -> np.ndarray:
    flat = np.zeros(1, dtype=np.int64)
    for d, codes in enumerate(key):
        flat = (flat[:, None] + np.array(codes, dtype=np.int64)[None, :] * space.strides[d]).ravel()
    return np.sort(flat)


def _solve(space: CellSpace, values: np.ndarray, hidden: np.ndarray, region: np.ndarray,
           targets: np.ndarray, need: np.ndarray, lower: np.ndarray, upper: np.ndarray,
           blocked: np.ndarray | None,
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """One LP: the cheapest movement of ``region`` carrying every target to its goal; the
    published cells it moves are hidden. None if there is no such movement."""
    cells = region if blocked is None else region[hidden[region] | ~blocked[region]]
    free = hidden[cells]
    n = len(cells)

    def pos(of: np.ndarray) -> np.ndarray:
        # Position in ``cells`` (sorted), -1 if absent: a dense index over the whole space
        # cost a 2.3-million-entry fill per LP at 985,608 rows.
        at = np.minimum(np.searchsorted(cells, of), n - 1)
        return np.where(cells[at] == of, at, -1)

    # The cheap refusals first: a target outside the region or published, or without room.
    t = pos(targets)
    if (t < 0).any() or not free[t].all():
        return None
    goal = need[targets]  # the threshold minus the value, or 1 for exact protection
    if (goal > upper[targets] - values[targets]).any():
        return None

    # Rows: every relation touching a variable, restricted to its variable members (the
    # others keep their true values, so the variables' movements must sum to zero).
    by_cell, start = space.by_cell
    deg = start[cells + 1] - start[cells]
    entries = by_cell[np.repeat(start[cells], deg) + ramp(deg)]
    rels = np.unique(space.entry_rel[entries])
    lens = space.ptr[rels + 1] - space.ptr[rels]
    e = np.repeat(space.ptr[rels], lens) + ramp(lens)
    row = np.repeat(np.arange(len(rels)), lens)
    col = pos(space.cells[e])
    keep = col >= 0
    row, col, coef = row[keep], col[keep], space.coef[e][keep].astype(np.float64)
    # Columns: a hidden cell has one (its movement); a published one two (up, down), each
    # paying per unit, so the cost counts published cells moved (about need units each).
    v = values[cells].astype(np.float64)  # not the whole space: 18 MB per LP at 1M rows
    room_up = upper[cells] - v
    room_down = v - lower[cells]
    pub = np.flatnonzero(~free)
    hid = np.flatnonzero(free)
    col_of_up = np.full(n, -1, dtype=np.int64)
    col_of_down = np.full(n, -1, dtype=np.int64)
    col_of_up[hid] = np.arange(len(hid))
    col_of_up[pub] = len(hid) + np.arange(len(pub))
    col_of_down[pub] = len(hid) + len(pub) + np.arange(len(pub))
    n_cols = len(hid) + 2 * len(pub)
    lo = np.concatenate([-room_down[hid], np.zeros(2 * len(pub))])
    hi = np.concatenate([room_up[hid], room_up[pub], room_down[pub]])
    cost = np.concatenate([np.full(len(hid), HIDDEN_COST),
                           np.tile(1.0 + VALUE_COST * v[pub], 2)])
    tc = col_of_up[t]
    lo[tc] = goal
    cost[tc] = 0.0
    a_row = np.concatenate([row, row[~free[col]]])
    a_col = np.concatenate([col_of_up[col], col_of_down[col[~free[col]]]])
    a_val = np.concatenate([coef, -coef[~free[col]]])
    dx = _lp(n_cols, len(rels), a_row, a_col, a_val, cost, lo, hi)
    if dx is None:
        return None
    move = np.zeros(n)
    move[hid] = dx[:len(hid)]
    move[pub] = dx[len(hid):len(hid) + len(pub)] - dx[len(hid) + len(pub):]
    move[np.abs(move) <= SUPPORT_TOL] = 0.0  # solver noise: the cell stays
    moved = move != 0.0
    hidden[cells[moved]] = True
    return cells[moved], v[moved] + move[moved]


def _lp(n_cols: int, n_rows: int, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
        cost: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    h = new_highs()
    h.setOptionValue("solver", "simplex")
    # Presolve off: about 20% faster on these small LPs (497,070 rows: 7.2 s against 8.9 s
    # for 329 LPs).
    h.setOptionValue("presolve", "off")
    h.passModel(equality_model(n_cols, rows, cols, vals, np.zeros(n_rows), cost, lo, hi))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = np.asarray(h.getSolution().col_value)
    if np.abs(x - np.round(x)).max(initial=0.0) > 1e-6:
        # A fractional vertex is no proof about whole numbers: the same model as a MILP
        # (small: one region), time-limited; None sends the cells on to the LP loop.
        h.changeColsIntegrality(n_cols, np.arange(n_cols, dtype=np.int32),
                                np.full(n_cols, highspy.HighsVarType.kInteger))
        h.setOptionValue("presolve", "on")
        h.setOptionValue("time_limit", 5.0)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.round(np.asarray(h.getSolution().col_value))
    return x
