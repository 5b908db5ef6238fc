"""Complementary suppression: hide more cells so no primary cell can be recovered or bounded.

The heuristic works on the relations (parent = sum of a partition, within every combination of
the other dimensions). A relation holding exactly one suppressed cell gives that cell away
by subtraction, so each such "singleton" relation gets a partner hidden: the cheapest other
member by value that can absorb the primary's needed movement (value >= need), preferring a
cell that is itself in another singleton relation (one cell then fixes two relations, which is
how rectangles / hypercubes form). Dimensions take turns so partners picked in one dimension
are seen before the next picks, and the whole pass repeats to a fixed point. The LP audit then
checks every primary; cells that still fail get a whole hypercube hidden around them
(``hypercube_cover``), or else more cover from their own relations, and the loop repeats
until the audit passes. The audit, not the heuristic, is the proof.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from datashare.arrays import sorted_unique
from datashare.disclosure.spec import Dimension
from datashare.disclosure.table import CellSpace

T = TypeVar("T")

SHORT = 1e9  # penalty: a partner too small to absorb the needed movement
ZERO = 1e15  # penalty: a zero cell (cannot move down), used only when nothing else exists


@dataclass
class Cover:
    suppressed: np.ndarray  # bool per cell
    via: np.ndarray  # int per cell: dimension whose relation made it complementary, -1 otherwise
    need: np.ndarray  # float per cell: movement it must be able to absorb


def start_cover(primary: np.ndarray, need: np.ndarray) -> Cover:
    return Cover(primary.copy(), np.full(len(primary), -1, dtype=np.int16),
                 np.where(primary, need, 0.0))


def close_singletons(space: CellSpace, values: np.ndarray, cover: Cover,
                     blocked: np.ndarray | None = None,
                     threshold_target: np.ndarray | None = None, threshold: int = 0) -> int:
    """Add partners until no relation is deficient; returns the number of cells added.

    A relation is deficient when it holds exactly one suppressed cell (subtraction gives it
    away), or when its total is published and a threshold-protected child cannot reach the
    threshold inside it: the suppressed children's values sum to less than it, so the child
    is provably small whatever the other relations allow.
    """
    added = 0
    val = values.astype(np.float64)
    ndim = len(space.shape)
    first = space.ptr[:-1]
    child = space.coef < 0
    while True:
        progress = 0
        any_deficient = False
        for d in range(ndim):
            s = cover.suppressed
            e_sup = s[space.cells]
            count = np.add.reduceat(e_sup.astype(np.int32), first)
            deficient = count == 1
            need_rel = np.zeros(space.n_relations)
            if threshold_target is not None and threshold > 0:
                sup_child = e_sup & child
                s_r = np.add.reduceat(np.where(sup_child, val[space.cells], 0.0), first)
                has_t = np.add.reduceat((sup_child & threshold_target[space.cells]).astype(np.int32),
                                        first) > 0
                short = has_t & ~s[space.cells[first]] & (s_r < threshold)
                need_rel = np.where(short, threshold - s_r, 0.0)
                deficient |= short
            if not deficient.any():
                return added + progress
            any_deficient = True
            mine = deficient & (space.rel_dim == d)
            if not mine.any():
                continue
            # How many deficient relations each cell sits in: a partner there fixes both.
            bonus = np.bincount(space.cells[deficient[space.entry_rel]], minlength=space.size)
            sel = mine[space.entry_rel]
            e_cell = space.cells[sel]
            e_rel = space.entry_rel[sel]
            e_s = s[e_cell]
            lone = np.bincount(e_rel, weights=np.where(e_s, cover.need[e_cell], 0.0),
                               minlength=space.n_relations)
            need_rel = np.where(count == 1, np.maximum(lone, need_rel), need_rel)
            need_e = need_rel[e_rel]
            v = val[e_cell]
            score = np.where(v >= need_e, v, v + SHORT)
            score = np.where(v > 0, score, ZERO)
            score = score / (1.0 + bonus[e_cell])
            score[e_s] = np.inf
            if blocked is not None:
                score[blocked[e_cell]] = np.inf
            order = np.lexsort((score, e_rel))
            head = np.ones(len(order), dtype=bool)
            head[1:] = e_rel[order][1:] != e_rel[order][:-1]
            pick = order[head]
            pick = pick[np.isfinite(score[pick])]
            chosen = e_cell[pick]
            new = ~cover.suppressed[chosen]
            chosen, pick = chosen[new], pick[new]
            if len(chosen):
                cover.suppressed[chosen] = True
                cover.via[chosen] = d
                cover.need[chosen] = np.maximum(cover.need[chosen], need_e[pick])
                progress += len(sorted_unique(chosen))
        added += progress
        if not progress or not any_deficient:
            return added


def reinforce(space: CellSpace, values: np.ndarray, cover: Cover, failing: np.ndarray,
              blocked: np.ndarray | None = None, hops: int = 1) -> int:
    """For each failing cell, hide the cheapest unsuppressed cell near it.

    ``hops=1`` looks in the failing cell's own relations; each extra hop also looks in the
    relations of the suppressed cells that share a relation with it (when its own relations
    are already fully hidden, the missing slack is further away).
    """
    added = 0
    # Entries grouped by cell, so a cell's relations are a slice rather than a scan of all.
    by_cell, cell_start = space.by_cell
    for cell in failing:
        sources = np.array([cell])
        for _ in range(hops - 1):
            near = space.cells[np.isin(space.entry_rel, space.entry_rel[np.isin(space.cells, sources)])]
            sources = sorted_unique(near[cover.suppressed[near]])
        if hops == 1:
            mine = sorted_unique(space.entry_rel[by_cell[cell_start[cell]:cell_start[cell + 1]]])
            # The same entries, in the same (relation) order, as the scan below.
            sel = np.concatenate([np.arange(space.ptr[r], space.ptr[r + 1]) for r in mine]
                                 or [np.zeros(0, dtype=np.int64)])
        else:
            mine = sorted_unique(space.entry_rel[np.isin(space.cells, sources)])
            sel = np.flatnonzero(np.isin(space.entry_rel, mine))
        e_cell = space.cells[sel]
        e_rel = space.entry_rel[sel]
        need = cover.need[cell]
        val = values[e_cell].astype(np.float64)
        score = np.where(val >= need, val, val + SHORT)
        score = np.where(val > 0, score, ZERO)
        score[cover.suppressed[e_cell]] = np.inf
        if blocked is not None:
            score[blocked[e_cell]] = np.inf
        if not np.isfinite(score).any():
            continue
        k = int(np.argmin(score))
        c = int(e_cell[k])
        if cover.suppressed[c]:
            continue
        cover.suppressed[c] = True
        cover.via[c] = space.rel_dim[e_rel[k]]
        cover.need[c] = max(cover.need[c], need)
        added += 1
    return added



MAX_MOVES = 16  # balanced movements kept per code and dimension
MAX_SUPPORT = 6  # codes one movement may touch
MAX_CUBES = 4096  # combinations of movements tried per cell
KEEP_MOVES = 16  # cheapest feasible movements per dimension combined into cubes


def dimension_moves(space: CellSpace, max_support: int = MAX_SUPPORT,
                    ) -> list[list[list[tuple[np.ndarray, np.ndarray]]]]:
    """Per dimension, per code: movements (codes, signs) with the code at +1 that keep every
    partition of the dimension summing up (a sibling down, or the parent up with one child of
    each of its other partitions, recursively), at most MAX_MOVES of ``max_support`` codes."""
    out: list[list[list[tuple[np.ndarray, np.ndarray]]]] = []
    for dim in space.spec.dimensions:
        parts, member = partition_members(dim)
        out.append([_balanced_moves(parts, member, a, max_support)
                    for a in range(len(dim.codes))])
    return out


def partition_members(dim: Dimension) -> tuple[list[tuple[int, list[int]]], list[list[int]]]:
    """(per partition: its parent's and children's code positions; per code: the partitions
    it is in, as parent or child)."""
    index = dim.index()
    parts = [(index[p.parent], [index[c] for c in p.children]) for p in dim.partitions]
    member: list[list[int]] = [[] for _ in dim.codes]
    for k, (par, kids) in enumerate(parts):
        for j in (par, *kids):
            member[j].append(k)
    return parts, member


def _balanced_moves(parts: list[tuple[int, list[int]]], member: list[list[int]],
                    a: int, max_support: int = MAX_SUPPORT) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fix the first unbalanced partition with each of its free codes in turn, taking the
    branches round-robin (lazily), so the MAX_MOVES kept mix every kind of movement.

    Depth-first, the parent branch alone filled the quota: every student group got 16
    upward movements (All Students and a child of each other partition) and no sibling
    (Female - Male), every school the state movement and 15 moves across to the first
    district's schools, and no sibling school. Every cube of upward movements holds the
    grand total, so without the siblings a small cell had no cube that avoids it.
    """
    def coef(j: int, k: int) -> int:
        return 1 if parts[k][0] == j else -1

    def with_code(state: dict[int, int], sums: dict[int, int], c: int,
                  v: int) -> tuple[dict[int, int], dict[int, int]]:
        """``state`` with code ``c`` moving by ``v``, and each partition's sum kept with it
        (summing every partition of every moving code again at each step was most of the
        organisation dimension's 5,912 codes' 2 s at 1M rows)."""
        sums = dict(sums)
        for k in member[c]:
            sums[k] = sums.get(k, 0) + coef(c, k) * v
        return {**state, c: v}, sums

    def grow(state: dict[int, int], sums: dict[int, int],
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # The first unbalanced partition, in the order of the moving codes and their
        # partitions (``sums`` holds every partition of a moving code).
        bad = next(((k, sums[k]) for j in state for k in member[j] if sums[k]), None)
        if bad is None:
            codes = np.array(sorted(state), dtype=np.int64)
            yield codes, np.array([state[c] for c in codes.tolist()], dtype=np.int64)
            return
        k, total = bad
        if abs(total) != 1 or len(state) >= max_support:
            return
        par, kids = parts[k]
        # Branches are made as the round reaches them: a state's hundreds of districts
        # would otherwise cost a dict copy each for every school (23 s at 500k rows).
        across = _round_robin(grow(*with_code(state, sums, c, total))
                              for c in kids if c not in state)
        if par in state:
            yield from across
        else:
            # Up (the parent) as often as across (all the siblings together): a hundred
            # districts' worth of siblings left a district one upward movement.
            yield from _round_robin([grow(*with_code(state, sums, par, -total)), across])

    if not member[a]:
        return []
    return list(itertools.islice(grow(*with_code({}, {}, a, 1)), MAX_MOVES))


def _round_robin(branches: Iterable[Iterator[T]]) -> Iterator[T]:
    """One item from each branch in turn, dropping exhausted ones; a branch is only taken
    from ``branches`` when the first round reaches it."""
    live: list[Iterator[T]] = []
    for it in branches:
        item = next(it, None)
        if item is not None:
            yield item
            live.append(it)
    while live:
        nxt = []
        for it in live:
            item = next(it, None)
            if item is not None:
                yield item
                nxt.append(it)
        live = nxt


def hypercube_cover(space: CellSpace, values: np.ndarray, cover: Cover, failing: np.ndarray,
                    lower: np.ndarray, upper: np.ndarray,
                    blocked: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Hide a whole hypercube around each failing cell; returns (cells added, cells left).

    A balanced movement per dimension (see ``dimension_moves``) whose tensor product moves the
    cell up by its need keeps every relation's sum, so with its corners hidden (the "-" ones
    able to give the need) the true values plus that move are a feasible point of the audit LP
    that proves the cell. One partner per relation (``reinforce``) fixed one relation per
    round and left the cell failing for several rounds of whole-component LPs. Among the cubes,
    the one hiding the fewest new cells wins (then the smallest values), so cubes share the
    corners already hidden. Cells without one are returned for ``reinforce``.
    """
    table = dimension_moves(space)
    val = values.astype(np.float64)
    down_room = val - lower
    up_room = upper - val
    ndim = len(space.shape)
    added = 0
    left: list[int] = []
    # Largest need first: its cube hides the most value, and smaller needs can then reuse
    # its corners (24k bench: 8,064 -> 8,005 secondary cells; smallest first gave 8,205).
    order = failing[np.argsort(-cover.need[failing], kind="stable")]
    for cell in order.tolist():
        delta = float(cover.need[cell])
        coords = np.unravel_index(cell, space.shape)
        offs: list[np.ndarray] = []  # per moving dimension: (moves, slots) offsets
        signs: list[np.ndarray] = []  # the same with signs, 0 for an empty slot
        dead = False
        for d in range(ndim):
            a = int(coords[d])
            mv = table[d][a]
            if not mv:
                continue  # fixed in this dimension (or no balanced move: the LP decides)
            # The corners that vary only along d are in every cube using a move: drop the
            # moves they rule out, keep the KEEP_MOVES cheapest (the combinations multiply).
            rank = []
            for m, (codes, sgn) in enumerate(mv):
                corner = cell + (codes - a) * space.strides[d]
                hidden = cover.suppressed[corner]
                room = np.where(sgn < 0, down_room[corner], up_room[corner])
                if (room < delta).any() or (blocked is not None
                                            and (blocked[corner] & ~hidden).any()):
                    continue
                rank.append((int((~hidden).sum()) * SHORT + float(val[corner][~hidden].sum()), m))
            if not rank:
                left.append(cell)
                dead = True
                break
            mv = [mv[m] for _, m in sorted(rank)[:KEEP_MOVES]]
            width = max(len(c) for c, _ in mv)
            o = np.zeros((len(mv), width), dtype=np.int64)
            sg = np.zeros((len(mv), width), dtype=np.int64)
            for m, (codes, sgn) in enumerate(mv):
                o[m, :len(codes)] = (codes - a) * space.strides[d]
                sg[m, :len(codes)] = sgn
            offs.append(o)
            signs.append(sg)
        if dead:
            continue
        if not offs or np.prod([len(o) for o in offs]) > MAX_CUBES:
            left.append(cell)
            continue
        pick = np.stack([g.ravel() for g in np.meshgrid(*[np.arange(len(o)) for o in offs],
                                                        indexing="ij")], axis=1)
        good = np.ones(len(pick), dtype=bool)
        new = np.zeros(len(pick), dtype=np.int64)
        cost = np.zeros(len(pick))
        corners = []
        for slots in itertools.product(*[range(o.shape[1]) for o in offs]):
            corner = np.full(len(pick), cell, dtype=np.int64)
            sign = np.ones(len(pick), dtype=np.int64)
            for i, s in enumerate(slots):
                corner += offs[i][pick[:, i], s]
                sign *= signs[i][pick[:, i], s]
            live = sign != 0
            corner = np.where(live, corner, cell)
            room = np.where(sign < 0, down_room[corner], up_room[corner])
            hidden = cover.suppressed[corner]
            good &= ~live | (room >= delta)
            if blocked is not None:
                good &= ~live | hidden | ~blocked[corner]
            new += live & ~hidden
            cost += np.where(live & ~hidden, val[corner], 0.0)
            corners.append(np.where(live, corner, -1))
        if not good.any():
            left.append(cell)
            continue
        score = np.where(good, new * SHORT + cost, np.inf)
        best = int(np.argmin(score))
        for corner in corners:
            c = int(corner[best])
            if c < 0:
                continue
            if not cover.suppressed[c]:
                cover.suppressed[c] = True
                cover.via[c] = _varying_dim(space, cell, c)
                added += 1
            cover.need[c] = max(cover.need[c], delta)
    return added, np.array(left, dtype=np.int64)


def _varying_dim(space: CellSpace, a: int, b: int) -> int:
    """The first dimension in which cells ``a`` and ``b`` differ (the label of a cube corner)."""
    ca = np.unravel_index(a, space.shape)
    cb = np.unravel_index(b, space.shape)
    return next(d for d in range(len(space.shape)) if ca[d] != cb[d])
