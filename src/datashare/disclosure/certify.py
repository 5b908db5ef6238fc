"""Certificates without an LP: a hypercube of suppressed cells that moves a target to its goal.

In dimension d, two codes can trade a movement without breaking any relation of d when each
belongs to exactly one relation of d and it is the same one: two children of one partition
move in opposite directions, or a parent and one of its children move together. Choosing such
a partner for a target's code in every dimension (a dimension whose code is in no relation
stays fixed) gives a hypercube of cells; moving each corner by +/- delta with the product of
the per-dimension signs keeps every relation's sum: along any dimension, the corners that
share the other coordinates are exactly one trading pair. If every corner is suppressed and
can take the move (a "-" corner stays >= its lower bound, a "+" corner <= its upper bound),
the true values plus that move are a feasible point of the audit LP in which the target
reaches its goal: the same proof the LP would give, found by array lookups.
"""

from __future__ import annotations

import itertools

import numpy as np

from datashare.disclosure.table import CellSpace

MOVE_TOL = 1e-5  # the smallest movement that counts as "not exact" (the audit's TOL)


def partners(space: CellSpace) -> list[list[list[tuple[int, int]]]]:
    """Per dimension, per code: [(partner code, sign)] it can trade with; [(-1, 0)] if fixed."""
    out: list[list[list[tuple[int, int]]]] = []
    for dim in space.spec.dimensions:
        index = dim.index()
        member: list[list[int]] = [[] for _ in dim.codes]  # partitions each code belongs to
        for k, part in enumerate(dim.partitions):
            for code in (part.parent, *part.children):
                member[index[code]].append(k)
        table: list[list[tuple[int, int]]] = []
        for i, code in enumerate(dim.codes):
            if not member[i]:
                table.append([(-1, 0)])
                continue
            if len(member[i]) > 1:
                table.append([])
                continue
            part = dim.partitions[member[i][0]]
            mine: list[tuple[int, int]] = []
            for other in (part.parent, *part.children):
                j = index[other]
                if j == i or len(member[j]) != 1:
                    continue
                same = code == part.parent or other == part.parent
                mine.append((j, 1 if same else -1))
            table.append(mine)
        out.append(table)
    return out


def certify(
    space: CellSpace,
    values: np.ndarray,
    suppressed: np.ndarray,
    targets: np.ndarray,
    goal_move: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """Which ``targets`` (flat cells) have a hypercube that moves them up by ``goal_move``."""
    table = partners(space)
    val = values.astype(np.float64)
    down_room = val - lower  # how far each cell can move down
    up_room = upper - val
    ndim = len(space.shape)
    ok = np.zeros(len(targets), dtype=bool)
    coords = np.unravel_index(targets, space.shape)
    for t, cell in enumerate(targets.tolist()):
        delta = float(goal_move[t])
        if up_room[cell] < delta:
            continue
        offs: list[np.ndarray] = []
        signs: list[np.ndarray] = []
        dead = False
        for d in range(ndim):
            a = int(coords[d][t])
            cand = table[d][a]
            if not cand:
                dead = True
                break
            if cand[0][0] < 0:
                continue  # this dimension stays fixed
            off = np.array([(j - a) * space.strides[d] for j, _ in cand], dtype=np.int64)
            sg = np.array([s for _, s in cand], dtype=np.int64)
            nb = cell + off
            room = np.where(sg < 0, down_room[nb], up_room[nb])
            keep = suppressed[nb] & (room >= delta)
            if not keep.any():
                dead = True
                break
            offs.append(off[keep])
            signs.append(sg[keep])
        if dead:
            continue
        if not offs:
            continue  # no relation touches the cell: nothing to move against (LP decides)
        ok[t] = _search(cell, offs, signs, delta, suppressed, down_room, up_room)
    return ok


def _search(cell: int, offs: list[np.ndarray], signs: list[np.ndarray], delta: float,
            suppressed: np.ndarray, down_room: np.ndarray, up_room: np.ndarray) -> bool:
    k = len(offs)
    grid_o = np.stack([g.ravel() for g in np.meshgrid(*offs, indexing="ij")], axis=1)
    grid_s = np.stack([g.ravel() for g in np.meshgrid(*signs, indexing="ij")], axis=1)
    good = np.ones(len(grid_o), dtype=bool)
    for subset in itertools.product((0, 1), repeat=k):
        bits = np.array(subset, dtype=np.int64)
        if bits.sum() < 2:
            continue  # the target itself and its single-dimension neighbours are checked
        corner = cell + grid_o @ bits
        sign = np.prod(np.where(bits == 1, grid_s, 1), axis=1)
        room = np.where(sign < 0, down_room[corner], up_room[corner])
        good &= suppressed[corner] & (room >= delta)
        if not good.any():
            return False
    return bool(good.any())
