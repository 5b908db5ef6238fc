"""Region LPs over *blocks* of sibling subtrees: witnesses that cross to another district.

A target of the local LPs (``local.py``) gets a region that holds every other district (every
sibling with children of its own) at its true value: each is pinned by the relation adding
up its own schools, which lie outside. That suffices where the target's own school has slack.
In a low-rate table it often has none: a zero numerator can move up by 1 only where some
numerator in reach moves down by 1 (a movement that only goes up reaches the grand total),
and a school with no dropouts has no numerator above 0. Its witness must cross to a school
or district that has some, which no local region holds. Dropout at scale 0.1 (29,569 rows):
the local LPs left 1,630 of 10,443 numerator targets, and the LP repair loop over the whole
component took 1,010 s of the run for them (did not finish in 1,200 s wall).

Here a target's region is its whole local region plus, per dimension and per partition
whose members have children, a *block*: the subtrees of a run of those members (districts
with their schools) up to ``limit`` codes, the block holding the target's own subtree (the
parent, the state, always in). A code above the blocks (the state) gets one block. Targets
sharing a region share one LP model (``local._repair``: soft rounds carry many at once,
then one solve per target left). Later *turns* add the next block
(``shift``), for the targets whose own block has no slack. Every point is a whole-number
movement of the region's cells balanced in every relation (the cells outside keep their
true values), so it is a witness like a local LP's, and ``witness.verify`` re-checks it.
"""

from __future__ import annotations

import numpy as np

from datashare.disclosure.local import MILP_BUDGET, _repair, region_codes
from datashare.disclosure.table import CellSpace

BLOCK_CODES = 30  # codes per block (30 organisations x 28 groups x 5 grades: ~4,200 cells)
TURNS = 3  # blocks tried per target: its own, then the next ones (shift 1, 2)


def block_regions(space: CellSpace, limit: int = BLOCK_CODES,
                  shift: int = 0) -> list[list[tuple[int, ...]]]:
    """Per dimension, per code: its whole local region (``local.region_codes``) plus, for
    each partition whose members have children, the block of member subtrees holding the
    code (and, with ``shift``, the block ``shift`` further on, cyclically); a code above the
    blocks (the partition's parent and its ancestors) gets block ``shift``."""
    whole = region_codes(space)
    out: list[list[tuple[int, ...]]] = []
    for d, dim in enumerate(space.spec.dimensions):
        index = dim.index()
        parents, children = dim.links()
        region = [set(r) for r in whole[d]]
        for part in dim.partitions:
            parent = index[part.parent]
            chunks: list[list[set[int]]] = []
            size = 0
            for m in (index[c] for c in part.children):
                if not children[m]:
                    continue
                tree = _reach(m, children)
                if not chunks or size + len(tree) > limit:
                    chunks.append([])
                    size = 0
                chunks[-1].append(tree)
                size += len(tree)
            if not chunks:
                continue
            codes = [set().union(*ch) for ch in chunks]
            for i, ch in enumerate(chunks):
                extra = codes[i] | codes[(i + shift) % len(codes)] | {parent}
                for tree in ch:
                    for a in tree:
                        region[a] |= extra
            # The parent and its ancestors: one block (their region held the members only,
            # each pinned by its own children outside).
            for a in _reach(parent, parents):
                region[a] |= codes[shift % len(codes)]
        out.append([tuple(sorted(r)) for r in region])
    return out


def _reach(code: int, links: dict[int, set[int]]) -> set[int]:
    """``code`` and every code reached through ``links`` (its subtree, or its ancestors)."""
    seen, todo = {code}, [code]
    while todo:
        for c in links[todo.pop()]:
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def block_repair(space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                 targets: np.ndarray, need: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, blocked: np.ndarray | None, *,
                 exact: bool | np.ndarray = False,
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray, int]], np.ndarray]:
    """Witness points for ``targets`` from block regions (``local.local_repair``'s
    contract: hides, in ``hidden``, the published cells the points move; returns (points as
    (cells moved, their values there, a target the point carries), targets left over)).
    ``exact`` (all targets, or a mask over cells): a target that only has to move (``exact``
    protection, as rate numerators; never a ``threshold`` one, whose goal is up), so
    one that cannot go the way ``local`` picks (up where it has room) is tried the other
    way: a district's "Non-Homeless" at 2, with All Students coded "<X%" at 2 and Homeless
    at 0, can only go down (at scale 0.1, 91 of the 102 targets no block carried upwards)."""
    points: list[tuple[np.ndarray, np.ndarray, int]] = []
    budget = [MILP_BUDGET]
    left = targets
    for shift in range(TURNS):
        if not len(left):
            break
        left = _repair(space, values, hidden, left, need, lower, upper, blocked,
                       block_regions(space, BLOCK_CODES, shift), points, budget, exact)
    return points, left
