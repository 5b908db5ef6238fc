"""Protection by witnesses: balanced hypercube moves for every primary at once, checked sparsely.

A *witness* for a protected cell is a movement ``dx`` of hidden cells that sums to zero in
every relation, keeps every moved cell within its bounds and carries the cell to its goal
(its threshold, or off its true value for ``exact``). The true values plus ``dx`` are then a
feasible point of the audit LP in which the cell reaches its goal: the same proof the LP
gives. A witness stays valid for any pattern that hides a superset of the cells it moves
(the others keep their true values), and checking it only needs the relations that touch
those cells, so one check costs the witness's size, not the table's.

``cube_search`` finds, for many cells at once, the cheapest hypercube witness: per dimension
a balanced movement of the cell's code (``secondary.dimension_moves``), their tensor product
scaled by the cell's need. ``Witnesses`` holds witnesses as flat arrays, and ``verify``
checks them all with a few grouped sums.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from datashare.disclosure.secondary import dimension_moves
from datashare.disclosure.table import CellSpace

NONE, EXACT, THRESHOLD = 0, 1, 2  # the audit's rules (audit.py imports this module)
TOL = 1e-5  # the smallest movement that counts (the audit's TOL)
FEAS_TOL = 1e-5  # relation sums and bounds must hold this closely
SUPPORT_TOL = 1e-7  # an LP point's cell counts as moved beyond this
NEW_CELL = 1e9  # cost of hiding one more cell (then the values hidden break ties)
GRAND_CELLS = 1000  # a new grand total counts as this many new cells: only when nothing else
MOVES = 16  # balanced movements generated per code and dimension
KEEP = 3  # cheapest feasible movements per dimension combined into cubes
BLOCK = 240_000  # (cell, cube) pairs evaluated per numpy block (bounds memory)


@dataclass
class MoveTable:
    """Per dimension, padded arrays over (code, movement, slot); sign 0 marks an empty slot."""

    off: list[np.ndarray]  # flat-index offsets of the movement's codes from the moving code
    sgn: list[np.ndarray]
    count: list[np.ndarray]  # movements per code (a code in no relation: one "stay" movement)


def move_table(space: CellSpace) -> MoveTable:
    # Both search orders: siblings first finds the cheap movements, parent first the
    # all-upward ones (always room to move up) that reach the cells siblings cannot.
    near = dimension_moves(space, children_first=True, max_moves=MOVES)
    far = dimension_moves(space)
    table = [[_merge(a, b) for a, b in zip(nd, fd, strict=True)]
             for nd, fd in zip(near, far, strict=True)]
    offs, sgns, counts = [], [], []
    for d, dim in enumerate(space.spec.dimensions):
        index = dim.index()
        member = np.zeros(len(dim.codes), dtype=bool)
        for part in dim.partitions:
            member[[index[c] for c in (part.parent, *part.children)]] = True
        rows = [mv if member[a] else [(np.array([a]), np.array([1]))]
                for a, mv in enumerate(table[d])]
        m = max(1, max(len(r) for r in rows))
        w = max([1] + [len(c) for r in rows for c, _ in r])
        off = np.zeros((len(rows), m, w), dtype=np.int64)
        sgn = np.zeros((len(rows), m, w), dtype=np.int8)
        for a, r in enumerate(rows):
            for k, (codes, signs) in enumerate(r):
                off[a, k, :len(codes)] = (codes - a) * space.strides[d]
                sgn[a, k, :len(codes)] = signs
        offs.append(off)
        sgns.append(sgn)
        counts.append(np.array([len(r) for r in rows], dtype=np.int64))
    return MoveTable(offs, sgns, counts)


def _merge(a: list[tuple[np.ndarray, np.ndarray]],
           b: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    out = []
    for codes, signs in (*a, *b):
        key = (tuple(codes.tolist()), tuple(signs.tolist()))
        if key not in seen:
            seen.add(key)
            out.append((codes, signs))
    return out


def grand_totals(space: CellSpace) -> np.ndarray:
    """Cells whose code is a top of its hierarchy in every dimension (e.g. state, all, all)."""
    top = []
    for dim in space.spec.dimensions:
        kids = {c for p in dim.partitions for c in p.children}
        top.append(np.array([c not in kids for c in dim.codes]))
    grid = np.ones(space.shape, dtype=bool)
    for d, t in enumerate(top):
        shape = [1] * len(space.shape)
        shape[d] = len(t)
        grid &= t.reshape(shape)
    return grid.ravel()


@dataclass
class Cubes:
    """The cheapest cube per searched cell: ``ok``, weighted new cells, cost, and its corners
    as flat (owner, cell, sign) rows (owner = position in the searched cells)."""

    ok: np.ndarray
    new: np.ndarray
    cost: np.ndarray
    owner: np.ndarray
    cell: np.ndarray
    sign: np.ndarray


def cube_search(space: CellSpace, moves: MoveTable, values: np.ndarray, hidden: np.ndarray,
                cells: np.ndarray, delta: np.ndarray, orient: np.ndarray, lower: np.ndarray,
                upper: np.ndarray, weight: np.ndarray, blocked: np.ndarray | None = None,
                only_hidden: bool = False) -> Cubes:
    """For each cell, the cube moving it by ``orient * delta`` that hides the fewest new cells.

    ``weight`` is the count a newly hidden cell adds (GRAND_CELLS for grand totals).
    ``only_hidden`` keeps cubes whose corners are all hidden already (certification).
    """
    val = values.astype(np.float64)
    down = val - lower
    up = upper - val
    ndim = len(space.shape)
    n = len(cells)
    coords = np.unravel_index(cells, space.shape) if n else tuple(np.zeros(0, np.int64)
                                                                  for _ in range(ndim))
    # 1. Per dimension, the KEEP cheapest movements whose axis corners (the cube's corners
    # that differ from the cell in that dimension only, in every cube using the movement)
    # have room and may be hidden.
    k_off: list[np.ndarray] = []
    k_sgn: list[np.ndarray] = []
    k_ok: list[np.ndarray] = []
    for d in range(ndim):
        off_d = np.zeros((n, KEEP, moves.off[d].shape[2]), dtype=np.int64)
        sgn_d = np.zeros((n, KEEP, moves.off[d].shape[2]), dtype=np.int8)
        ok_d = np.zeros((n, KEEP), dtype=bool)
        step = max(1, BLOCK // (moves.off[d].shape[1] * moves.off[d].shape[2]))
        for s in range(0, n, step):
            sl = slice(s, min(n, s + step))
            c = coords[d][sl]
            off = moves.off[d][c]
            sg = moves.sgn[d][c]
            corner = cells[sl, None, None] + off
            osg = sg * orient[sl, None, None]
            live = sg != 0
            room = np.where(osg < 0, down[corner], up[corner])
            ok = np.all(~live | (room >= delta[sl, None, None] - TOL), axis=2)
            hid = hidden[corner]
            if only_hidden:
                ok &= np.all(~live | hid, axis=2)
            elif blocked is not None:
                ok &= np.all(~live | hid | ~blocked[corner], axis=2)
            ok &= np.arange(off.shape[1])[None, :] < moves.count[d][c][:, None]
            fresh = live & ~hid
            cost = (np.where(fresh, weight[corner] * NEW_CELL + val[corner], 0.0)).sum(axis=2)
            cost = np.where(ok, cost, np.inf)
            keep = np.argsort(cost, axis=1, kind="stable")[:, :KEEP]
            kk = keep.shape[1]
            rows = np.arange(len(c))[:, None]
            off_d[sl, :kk] = off[rows, keep]
            sgn_d[sl, :kk] = sg[rows, keep]
            ok_d[sl, :kk] = np.isfinite(cost[rows, keep])
        sgn_d[~ok_d] = 0
        k_off.append(off_d)
        k_sgn.append(sgn_d)
        k_ok.append(ok_d)
    # 2. Combine: group cells by the slot widths of their kept movements, so each group only
    # walks the corners it has.
    widths = np.stack([np.where(k_sgn[d] != 0, np.arange(k_sgn[d].shape[2]) + 1, 0)
                       .max(axis=(1, 2)) for d in range(ndim)], axis=1) if ndim else \
        np.zeros((n, 0), dtype=np.int64)
    alive = np.all(np.stack([k.any(axis=1) for k in k_ok], axis=1), axis=1) if ndim else \
        np.zeros(n, dtype=bool)
    out_ok = np.zeros(n, dtype=bool)
    out_new = np.full(n, np.inf)
    out_cost = np.full(n, np.inf)
    owners: list[np.ndarray] = []
    corners_out: list[np.ndarray] = []
    signs_out: list[np.ndarray] = []
    combos = np.array(list(itertools.product(range(KEEP), repeat=ndim)), dtype=np.int64)
    live_idx = np.flatnonzero(alive)
    if len(live_idx):
        keys, inv = np.unique(widths[live_idx], axis=0, return_inverse=True)
        inv = inv.ravel()
        for g, wk in enumerate(keys):
            members = live_idx[inv == g]
            step = max(1, BLOCK // len(combos))
            for s in range(0, len(members), step):
                t = members[s:s + step]
                _combine(t, wk, combos, cells, orient, delta, k_off, k_sgn, k_ok, hidden,
                         blocked, only_hidden, down, up, val, weight, out_ok, out_new,
                         out_cost, owners, corners_out, signs_out)
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dtype=dt))
    return Cubes(out_ok, out_new, out_cost, cat(owners, np.int64), cat(corners_out, np.int64),
                 cat(signs_out, np.int8))


def _combine(t: np.ndarray, wk: np.ndarray, combos: np.ndarray, cells: np.ndarray,
             orient: np.ndarray, delta: np.ndarray, k_off: list[np.ndarray],
             k_sgn: list[np.ndarray], k_ok: list[np.ndarray], hidden: np.ndarray,
             blocked: np.ndarray | None, only_hidden: bool, down: np.ndarray, up: np.ndarray,
             val: np.ndarray, weight: np.ndarray, out_ok: np.ndarray, out_new: np.ndarray,
             out_cost: np.ndarray, owners: list[np.ndarray], corners_out: list[np.ndarray],
             signs_out: list[np.ndarray]) -> None:
    ndim = len(k_off)
    base = cells[t][:, None]
    good = np.ones((len(t), len(combos)), dtype=bool)
    for d in range(ndim):
        good &= k_ok[d][t][:, combos[:, d]]
    new = np.zeros(good.shape)
    cost = np.zeros(good.shape)
    slots = list(itertools.product(*[range(int(w)) for w in wk]))
    o_t = orient[t][:, None].astype(np.int8)
    need = delta[t][:, None] - TOL
    for sl in slots:
        corner = base.copy()
        sign = np.broadcast_to(o_t, good.shape).copy()
        for d in range(ndim):
            corner = corner + k_off[d][t][:, combos[:, d], sl[d]]
            sign = sign * k_sgn[d][t][:, combos[:, d], sl[d]]
        live = sign != 0
        corner = np.where(live, corner, base)
        room = np.where(sign < 0, down[corner], up[corner])
        hid = hidden[corner]
        good &= ~live | (room >= need)
        fresh = live & ~hid
        if only_hidden:
            good &= ~fresh
        elif blocked is not None:
            good &= ~(fresh & blocked[corner])
        new += np.where(fresh, weight[corner], 0.0)
        cost += np.where(fresh, val[corner], 0.0)
    score = np.where(good, new * NEW_CELL + cost, np.inf)
    best = np.argmin(score, axis=1)
    rows = np.arange(len(t))
    ok = np.isfinite(score[rows, best])
    out_ok[t] = ok
    out_new[t] = np.where(ok, new[rows, best], np.inf)
    out_cost[t] = np.where(ok, score[rows, best], np.inf)
    if not ok.any():
        return
    t_ok, b_ok = t[ok], best[ok]
    base_ok = cells[t_ok]
    for sl in slots:
        corner = base_ok.copy()
        sign = orient[t_ok].astype(np.int8)
        for d in range(ndim):
            corner = corner + k_off[d][t_ok, combos[b_ok, d], sl[d]]
            sign = sign * k_sgn[d][t_ok, combos[b_ok, d], sl[d]]
        live = sign != 0
        owners.append(t_ok[live])
        corners_out.append(corner[live])
        signs_out.append(sign[live])


@dataclass
class Witnesses:
    """Movements as flat rows (witness id, cell, dx) and claims: witness ``claim_wid`` proves
    ``claim_cell``."""

    wid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cell: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dx: np.ndarray = field(default_factory=lambda: np.zeros(0))
    claim_cell: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    claim_wid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))  # per witness
    n: int = 0

    CUBE, LP = 0, 1

    def add(self, wid: np.ndarray, cell: np.ndarray, dx: np.ndarray, claim_cell: np.ndarray,
            claim_wid: np.ndarray, n_new: int, kind: int) -> None:
        """Append witnesses numbered 0..n_new-1 locally."""
        self.wid = np.concatenate([self.wid, wid + self.n])
        self.cell = np.concatenate([self.cell, cell])
        self.dx = np.concatenate([self.dx, dx.astype(np.float64)])
        self.claim_cell = np.concatenate([self.claim_cell, claim_cell])
        self.claim_wid = np.concatenate([self.claim_wid, claim_wid + self.n])
        self.kind = np.concatenate([self.kind, np.full(n_new, kind, dtype=np.int8)])
        self.n += n_new

    def add_points(self, points: list[tuple[np.ndarray, np.ndarray]], values: np.ndarray,
                   rule: np.ndarray, threshold: int) -> None:
        """Append LP feasible points (cells, x); each claims the cells that reach their goal."""
        wid, cell, dx, cc, cw = [], [], [], [], []
        base = values.astype(np.float64)
        for i, (cells, x) in enumerate(points):
            move = x - base[cells]
            moved = np.abs(move) > SUPPORT_TOL
            wid.append(np.full(int(moved.sum()), i, dtype=np.int64))
            cell.append(cells[moved])
            dx.append(move[moved])
            r = rule[cells]
            ok = np.where(r == THRESHOLD, x >= threshold - TOL,
                          np.where(r == EXACT, np.abs(move) >= TOL, False))
            cc.append(cells[ok])
            cw.append(np.full(int(ok.sum()), i, dtype=np.int64))
        if points:
            self.add(np.concatenate(wid), np.concatenate(cell), np.concatenate(dx),
                     np.concatenate(cc), np.concatenate(cw), len(points), self.LP)

    def select(self, keep: np.ndarray) -> Witnesses:
        """Only the witnesses in ``keep`` (a mask over witness ids), renumbered."""
        new_id = np.cumsum(keep) - 1
        rows = keep[self.wid]
        claims = keep[self.claim_wid]
        return Witnesses(new_id[self.wid[rows]], self.cell[rows], self.dx[rows],
                         self.claim_cell[claims], new_id[self.claim_wid[claims]],
                         self.kind[keep], int(keep.sum()))


def verify(space: CellSpace, values: np.ndarray, hidden: np.ndarray, rule: np.ndarray,
           threshold: int, w: Witnesses, lower: np.ndarray, upper: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray]:
    """(cells proven, witness valid mask): each witness must move only hidden cells, keep them
    within bounds, sum to zero in every relation touching them, and its claimed cells must
    reach their goal. Only the relations touching a witness's cells are summed."""
    valid = np.ones(w.n, dtype=bool)
    proven = np.zeros(space.size, dtype=bool)
    if not w.n:
        return proven, valid
    key = w.wid * space.size + w.cell
    uk, inv = np.unique(key, return_inverse=True)
    dx = np.bincount(inv.ravel(), weights=w.dx, minlength=len(uk))
    wid = uk // space.size
    cell = uk % space.size
    moving = np.abs(dx) > 0
    base = values.astype(np.float64)
    x = base[cell] + dx
    bad = moving & (~hidden[cell] | (x < lower[cell] - FEAS_TOL) | (x > upper[cell] + FEAS_TOL))
    valid[wid[bad]] = False
    # Relations: the table's entries grouped by cell, expanded for every moved cell.
    by_cell = np.argsort(space.cells, kind="stable")
    start = np.searchsorted(space.cells[by_cell], np.arange(space.size + 1))
    deg = start[cell + 1] - start[cell]
    rep = np.repeat(np.arange(len(cell)), deg)
    pos = np.arange(len(rep)) - np.repeat(np.cumsum(deg) - deg, deg)
    entry = by_cell[start[cell][rep] + pos]
    rkey = wid[rep] * space.n_relations + space.entry_rel[entry]
    rk, rinv = np.unique(rkey, return_inverse=True)
    sums = np.bincount(rinv.ravel(), weights=space.coef[entry] * dx[rep], minlength=len(rk))
    valid[(rk[np.abs(sums) > FEAS_TOL]) // space.n_relations] = False
    # Claims: the claimed cell's movement in its witness must reach the goal.
    ckey = w.claim_wid * space.size + w.claim_cell
    at = np.searchsorted(uk, ckey)
    at = np.minimum(at, len(uk) - 1)
    found = uk[at] == ckey
    move = np.where(found, dx[at], 0.0)
    r = rule[w.claim_cell]
    reach = np.where(r == THRESHOLD, base[w.claim_cell] + move >= threshold - TOL,
                     np.where(r == EXACT, np.abs(move) >= TOL, False))
    good = reach & valid[w.claim_wid] & hidden[w.claim_cell]
    proven[w.claim_cell[good]] = True
    return proven, valid
