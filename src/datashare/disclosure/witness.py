"""Protection by witnesses: balanced hypercube moves for every primary at once, checked sparsely.

A *witness* for a protected cell is a movement ``dx`` of hidden cells that sums to zero in
every relation, keeps every moved cell within its bounds and carries the cell to its goal
(its threshold, or off its true value for ``exact``). The true values plus ``dx`` are then a
feasible point of the audit LP in which the cell reaches its goal: the same proof the LP
gives. A witness stays valid for any pattern that hides a superset of the cells it moves
(the others keep their true values), and checking it only needs the relations that touch
those cells, so one check costs the witness's size, not the table's.

``plan_cubes`` lays out, for many cells at once, candidate hypercube witnesses: per dimension
a few cheap balanced movements of the cell's code (``secondary.dimension_moves``), their
tensor product scaled by the cell's need; ``evaluate`` scores them against the current
pattern (new cells to hide, then their values). ``Witnesses`` holds witnesses as flat
arrays, and ``verify`` checks them all with a few grouped sums.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix

from datashare.arrays import sorted_unique
from datashare.disclosure.cores import run_blocks, workers
from datashare.disclosure.secondary import dimension_moves
from datashare.disclosure.table import CellSpace, ramp

NONE, EXACT, THRESHOLD = 0, 1, 2  # the audit's rules (audit.py imports this module)
TOL = 1e-5  # the smallest movement that counts (the audit's TOL)
FEAS_TOL = 1e-5  # relation sums and bounds must hold this closely
SUPPORT_TOL = 1e-7  # an LP point's cell counts as moved beyond this


def goal_at(threshold: float | np.ndarray, cells: np.ndarray) -> np.ndarray | float:
    """The threshold goal of ``cells``: one number for every cell, or a per-cell array
    (the attacker model's goal: the largest value the labels allow, ``model.label_goal``)."""
    if isinstance(threshold, np.ndarray):
        return threshold[cells].astype(np.float64)
    return float(threshold)
NEW_CELL = 1e9  # cost of hiding one more cell (then the values hidden break ties)
GRAND_CELLS = 1000  # a new grand total counts as this many new cells: only when nothing else
MAX_SUPPORT = 12  # codes one movement may touch (All Students and one group of each of
# ten partitions is 11)
KEEP = 3  # cheapest feasible movements per dimension combined into cubes
BLOCK = 240_000  # (cell, cube) pairs evaluated per numpy block (bounds memory)
# Threads laying out and scoring cubes (``cores.run_blocks``); the results do not depend on it.
THREADS = workers()
POOL_ROWS = 20_000  # ``evaluate`` calls with fewer rows run in one thread


@dataclass
class MoveTable:
    """Per dimension, padded arrays over (code, movement, slot); sign 0 marks an empty slot."""

    off: list[np.ndarray]  # flat-index offsets of the movement's codes from the moving code
    sgn: list[np.ndarray]
    count: list[np.ndarray]  # movements per code (a code in no relation: one "stay" movement)


def move_table(space: CellSpace) -> MoveTable:
    # Depth-first with a wide cap fills the quota with wide movements, so the narrow ones
    # (MAX_SUPPORT of secondary.py) come first; wide ones (All Students and a group of each
    # of ten partitions is 11 codes) only where there is no narrow one: every cell paying for
    # 11-code slots took 7 GB and minutes at 1M rows.
    narrow = dimension_moves(space)
    wide = dimension_moves(space, max_support=MAX_SUPPORT)
    table = [[mv or wd for mv, wd in zip(nd, wdd, strict=True)]
             for nd, wdd in zip(narrow, wide, strict=True)]
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
class CubePlan:
    """Candidate cubes for many cells, built once: the KEEP cheapest movements per dimension
    and every combination of them, as corner arrays grouped by the movements' widths.

    ``groups`` holds, per group, (rows, corners (n, C, S), signs (n, C, S), good (n, C)):
    ``rows`` are positions in the searched cells, ``good`` marks cubes whose corners all have
    room and may be hidden; an empty slot has sign 0 and the cell itself as corner. Which
    corners are hidden changes as cubes are accepted; ``evaluate`` re-scores from these arrays.
    """

    cells: np.ndarray
    row_group: np.ndarray
    row_pos: np.ndarray
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def plan_cubes(space: CellSpace, moves: MoveTable, values: np.ndarray, hidden: np.ndarray,
               cells: np.ndarray, delta: np.ndarray, orient: np.ndarray, lower: np.ndarray,
               upper: np.ndarray, weight: np.ndarray, blocked: np.ndarray | None = None,
               only_hidden: bool = False, keep: int = KEEP) -> CubePlan:
    """Cubes moving each cell by ``orient * delta``; movements ranked by their axis corners
    (the corners that differ from the cell in that dimension only: in every cube using the
    movement) under ``hidden``. ``only_hidden``: only movements whose corners are hidden."""
    val = values.astype(np.float64)
    down = val - lower
    up = upper - val
    ndim = len(space.shape)
    n = len(cells)
    coords = np.unravel_index(cells, space.shape)
    k_off: list[np.ndarray] = []
    k_sgn: list[np.ndarray] = []
    tasks: list[Callable[[], None]] = []
    for d in range(ndim):
        width = moves.off[d].shape[2]
        off_d = np.zeros((n, keep, width), dtype=np.int64)
        sgn_d = np.zeros((n, keep, width), dtype=np.int8)
        # Cells grouped by how wide their code's movements are: padding every cell to the
        # widest (All Students with ten partitions: 11 codes) cost 4x at 1M rows.
        code_w = np.maximum((moves.sgn[d] != 0).sum(axis=2).max(axis=1), 1)
        cell_w = code_w[coords[d]]
        for w in sorted_unique(cell_w).tolist():
            members = np.flatnonzero(cell_w == w)
            step = max(1, BLOCK // (moves.off[d].shape[1] * w))
            for s in range(0, len(members), step):
                tasks.append(functools.partial(
                    _rank_moves, moves, d, w, members[s:s + step], coords[d], cells, orient,
                    delta, down, up, hidden, blocked, only_hidden, weight, val, keep,
                    off_d, sgn_d))
        k_off.append(off_d)
        k_sgn.append(sgn_d)
    run_blocks(tasks, THREADS)
    widths = np.stack([np.where(k_sgn[d] != 0, np.arange(k_sgn[d].shape[2]) + 1, 0)
                       .max(axis=(1, 2)) for d in range(ndim)], axis=1)
    combos = np.array(list(itertools.product(range(keep), repeat=ndim)), dtype=np.int64)
    row_group = np.full(len(cells), -1, dtype=np.int64)
    row_pos = np.zeros(len(cells), dtype=np.int64)
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    alive = np.flatnonzero((widths > 0).all(axis=1))
    if not len(alive):
        return CubePlan(cells, row_group, row_pos, groups)
    keys, inv = np.unique(widths[alive], axis=0, return_inverse=True)
    inv = inv.ravel()
    cdt = np.int32 if space.size < 2**31 else np.int64
    tasks = []
    for g, wk in enumerate(keys):
        t = alive[inv == g]
        slots = list(itertools.product(*[range(int(w)) for w in wk]))
        corners = np.empty((len(t), len(combos), len(slots)), dtype=cdt)
        signs = np.empty((len(t), len(combos), len(slots)), dtype=np.int8)
        good = np.empty((len(t), len(combos)), dtype=bool)  # every row set by its block
        step = max(1, BLOCK // len(combos))
        for s in range(0, len(t), step):
            tasks.append(functools.partial(
                _lay_corners, t, slice(s, s + step), slots, combos, k_off, k_sgn, cells, orient,
                delta, down, up, hidden, blocked, corners, signs, good))
        row_group[t] = len(groups)
        row_pos[t] = np.arange(len(t))
        groups.append((t, corners, signs, good))
    run_blocks(tasks, THREADS)
    return CubePlan(cells, row_group, row_pos, groups)


def _rank_moves(moves: MoveTable, d: int, w: int, sl: np.ndarray, coords_d: np.ndarray,
                cells: np.ndarray, orient: np.ndarray, delta: np.ndarray, down: np.ndarray,
                up: np.ndarray, hidden: np.ndarray, blocked: np.ndarray | None,
                only_hidden: bool, weight: np.ndarray, val: np.ndarray, keep: int,
                off_d: np.ndarray, sgn_d: np.ndarray) -> None:
    """``plan_cubes``' cheapest ``keep`` movements in dimension ``d`` of the cells ``sl``
    (whose movements are ``w`` codes wide), written into their rows of ``off_d``/``sgn_d``."""
    c = coords_d[sl]
    off = moves.off[d][c, :, :w]
    sg = moves.sgn[d][c, :, :w]
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
    pick = np.argsort(cost, axis=1, kind="stable")[:, :keep]
    kk = pick.shape[1]
    rows = np.arange(len(c))[:, None]
    # Keep the cheapest upward-only movement too: its "+" corners always have room, so it
    # combines with any movement of the other dimensions; without it (27 groups: the
    # all-upward group movements are 11 codes wide) the cheapest siblings, each needing
    # room in every dimension, left 35,000 district cells at 1M rows without a cube.
    upward = ok & np.all(sg >= 0, axis=2) & np.isfinite(cost)
    best_up = np.argmin(np.where(upward, cost, np.inf), axis=1)
    has_up = upward[rows[:, 0], best_up]
    missing = has_up & ~(pick == best_up[:, None]).any(axis=1)
    if kk == keep and missing.any():
        pick[missing, -1] = best_up[missing]
    fine = np.isfinite(cost[rows, pick])
    off_d[sl, :kk, :w] = np.where(fine[:, :, None], off[rows, pick], 0)
    sgn_d[sl, :kk, :w] = np.where(fine[:, :, None], sg[rows, pick], 0)


def _lay_corners(t: np.ndarray, part: slice, slots: list[tuple[int, ...]], combos: np.ndarray,
                 k_off: list[np.ndarray], k_sgn: list[np.ndarray], cells: np.ndarray,
                 orient: np.ndarray, delta: np.ndarray, down: np.ndarray, up: np.ndarray,
                 hidden: np.ndarray, blocked: np.ndarray | None, corners: np.ndarray,
                 signs: np.ndarray, good: np.ndarray) -> None:
    """``plan_cubes``' corners, signs and good flags of one width group's rows ``part``."""
    t = t[part]
    ok = np.ones((len(t), len(combos)), dtype=bool)
    ndim = len(k_off)
    for d in range(ndim):
        ok &= (k_sgn[d][t][:, combos[:, d]] != 0).any(axis=2)
    base = cells[t][:, None]
    o_t = orient[t][:, None].astype(np.int8)
    need = delta[t][:, None] - TOL
    offs = [k_off[d][t][:, combos[:, d], :] for d in range(ndim)]
    sgns = [k_sgn[d][t][:, combos[:, d], :] for d in range(ndim)]
    for j, slot in enumerate(slots):
        corner = base.copy()
        sign = np.broadcast_to(o_t, ok.shape).copy()
        for d in range(ndim):
            corner = corner + offs[d][:, :, slot[d]]
            sign = sign * sgns[d][:, :, slot[d]]
        live = sign != 0
        corner = np.where(live, corner, base)
        room = np.where(sign < 0, down[corner], up[corner])
        ok &= ~live | (room >= need)
        if blocked is not None:
            ok &= ~(live & ~hidden[corner] & blocked[corner])
        corners[part, :, j] = corner
        signs[part, :, j] = sign
    good[part] = ok


def evaluate(plan: CubePlan, rows: np.ndarray, hidden: np.ndarray, weight: np.ndarray,
             values: np.ndarray, only_hidden: bool = False, owner: np.ndarray | None = None,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(new cells weighted, score, combination) of the best cube of each row; inf if none.

    ``owner`` (per cell, a row or -1): a row's own cells count as not hidden for it."""
    new = np.full(len(rows), np.inf)
    score = np.full(len(rows), np.inf)
    combo = np.zeros(len(rows), dtype=np.int64)
    g_of = plan.row_group[rows]
    # One gather per corner: a hidden cell costs nothing, a new one weight * NEW_CELL plus its
    # value (the new-cell count is the score's NEW_CELL digits: values sum far below it). An
    # empty slot points at the cell itself, which is hidden: its cost is 0 here too.
    cost = np.where(hidden, 0.0, weight * NEW_CELL + values)
    tasks: list[Callable[[], None]] = []
    for g, group in enumerate(plan.groups):
        mine = np.flatnonzero(g_of == g)
        _, corners, _, _ = group
        step = max(1, BLOCK // (corners.shape[1] * corners.shape[2]))
        for s in range(0, len(mine), step):
            tasks.append(functools.partial(
                _score_block, plan, group, rows, mine[s:s + step], cost, hidden, weight, values,
                only_hidden, owner, new, score, combo))
    # Few rows (most of the passes after the first): one thread, no pool to start.
    run_blocks(tasks, THREADS if len(rows) >= POOL_ROWS else 1)
    return new, score, combo


def _score_block(plan: CubePlan, group: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                 rows: np.ndarray, m: np.ndarray, cost: np.ndarray, hidden: np.ndarray,
                 weight: np.ndarray, values: np.ndarray, only_hidden: bool,
                 owner: np.ndarray | None, new: np.ndarray, score: np.ndarray,
                 combo: np.ndarray) -> None:
    """``evaluate`` of the rows at positions ``m`` (all in one group), written at ``m``."""
    _, corners, signs, good = group
    pos = plan.row_pos[rows[m]]
    c = corners[pos]
    if owner is None:
        sc = cost[c].sum(axis=2)
        nw = np.floor(sc / NEW_CELL)
    else:  # a row's own cells count as not hidden for it (rerouting)
        free = ~hidden[c]
        free |= owner[c] == rows[m][:, None, None]
        fresh = free & (signs[pos] != 0)
        nw = np.where(fresh, weight[c], 0.0).sum(axis=2)
        sc = np.where(fresh, values[c], 0.0).sum(axis=2) + nw * NEW_CELL
    ok = good[pos]
    if only_hidden:
        ok = ok & (nw == 0)
    sc = np.where(ok, sc, np.inf)
    b = np.argmin(sc, axis=1)
    r = np.arange(len(m))
    score[m] = sc[r, b]
    new[m] = np.where(np.isfinite(sc[r, b]), nw[r, b], np.inf)
    combo[m] = b


def popularity(plan: CubePlan, size: int, hidden: np.ndarray) -> np.ndarray:
    """Per cell, how many cells' candidate cubes (good ones) have it as a hidden-to-be corner."""
    pop = np.zeros(size)
    for _, corners, signs, good in plan.groups:
        live = (signs != 0) & good[:, :, None]
        c = corners[live]
        pop += np.bincount(c[~hidden[c]], minlength=size)
    return pop


def corners_of(plan: CubePlan, rows: np.ndarray, combo: np.ndarray,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, corner cell, sign) of the live corners of each row's cube ``combo``."""
    out_r, out_c, out_s = [], [], []
    g_of = plan.row_group[rows]
    for g, (_, corners, signs, _) in enumerate(plan.groups):
        mine = np.flatnonzero(g_of == g)
        if not len(mine):
            continue
        pos = plan.row_pos[rows[mine]]
        c = corners[pos, combo[mine]].astype(np.int64)
        sg = signs[pos, combo[mine]]
        live = sg != 0
        out_r.append(np.broadcast_to(rows[mine][:, None], c.shape)[live])
        out_c.append(c[live])
        out_s.append(sg[live])
    return _cat(out_r, np.int64), _cat(out_c, np.int64), _cat(out_s, np.int8)


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def corner_index(plan: CubePlan, size: int, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, rows): per cell, the rows with it as a not-yet-hidden corner of a good cube
    (CSR over cells), so a pass re-scores only rows whose cubes touch a newly hidden cell."""
    cells_l, rows_l = [], []
    for t, corners, signs, good in plan.groups:
        live = (signs != 0) & good[:, :, None]
        live &= ~hidden[corners]
        rr = np.broadcast_to(t[:, None, None], corners.shape)[live]
        cells_l.append(corners[live])
        rows_l.append(rr.astype(np.int32))
    cells = np.concatenate(cells_l) if cells_l else np.zeros(0, dtype=np.int64)
    rows = np.concatenate(rows_l) if rows_l else np.zeros(0, dtype=np.int32)
    order = np.argsort(cells, kind="stable")
    ptr = np.searchsorted(cells[order], np.arange(size + 1))
    return ptr, rows[order]


def touched(index: tuple[np.ndarray, np.ndarray], added: np.ndarray) -> np.ndarray:
    """Rows with a candidate corner among the ``added`` cells."""
    ptr, rows = index
    start, stop = ptr[added], ptr[added + 1]
    n = stop - start
    if not n.sum():
        return np.zeros(0, dtype=np.int64)
    pos = np.repeat(start, n) + ramp(n)
    return sorted_unique(rows[pos]).astype(np.int64)


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
        self.extend(Witnesses(wid, cell, dx.astype(np.float64), claim_cell, claim_wid,
                              np.full(n_new, kind, dtype=np.int8), n_new))

    def extend(self, other: Witnesses) -> None:
        """Append another set's witnesses (renumbered after this one's)."""
        self.wid = np.concatenate([self.wid, other.wid + self.n])
        self.cell = np.concatenate([self.cell, other.cell])
        self.dx = np.concatenate([self.dx, other.dx])
        self.claim_cell = np.concatenate([self.claim_cell, other.claim_cell])
        self.claim_wid = np.concatenate([self.claim_wid, other.claim_wid + self.n])
        self.kind = np.concatenate([self.kind, other.kind])
        self.n += other.n

    def add_points(self, points: list[tuple[np.ndarray, np.ndarray]], values: np.ndarray,
                   rule: np.ndarray, threshold: int | np.ndarray) -> None:
        """Append LP feasible points (cells, x); each claims the cells that reach their goal."""
        wid, cell, dx, cc, cw = [], [], [], [], []
        for i, (cells, x) in enumerate(points):
            # The points' cells only, not values.astype(float): the unhide pass adds one
            # point at a time, and converting the whole space each time was 5% of scale-1
            # enrollment's suppression.
            move = x - values[cells].astype(np.float64)
            moved = np.abs(move) > SUPPORT_TOL
            wid.append(np.full(int(moved.sum()), i, dtype=np.int64))
            cell.append(cells[moved])
            dx.append(move[moved])
            ok = reaches(rule, threshold, values, cells, move)
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


@dataclass
class Moves:
    """Witnesses' movements merged per (witness, cell), sorted by ``key`` (witness * cells
    + cell), and whether each witness is a whole point of the model (``moves``)."""

    key: np.ndarray
    wid: np.ndarray
    cell: np.ndarray
    dx: np.ndarray
    valid: np.ndarray  # per witness


def moves(space: CellSpace, values: np.ndarray, hidden: np.ndarray, w: Witnesses,
          lower: np.ndarray, upper: np.ndarray) -> Moves:
    """``w``'s movements from ``values``, and which witnesses are whole points of the model:
    each must move only hidden cells, by whole numbers, keep them within bounds and sum to
    zero in every relation touching them. Only the relations touching a witness's cells are
    summed."""
    valid = np.ones(w.n, dtype=bool)
    # (witness x cell) movements, a cell listed twice in one witness summed; the canonical
    # sparse form is sorted by witness, then cell, and keeps a movement that sums to zero.
    per = csr_matrix((w.dx.astype(np.float64), (w.wid, w.cell)), shape=(w.n, space.size))
    wid = np.repeat(np.arange(w.n, dtype=np.int64), np.diff(per.indptr))
    cell = per.indices.astype(np.int64)
    dx = per.data
    uk = wid * space.size + cell
    moving = np.abs(dx) > 0
    x = values[cell].astype(np.float64) + dx
    # A proof must be a whole-number point (the attacker knows counts are integers).
    frac = np.abs(dx - np.round(dx)) > FEAS_TOL
    bad = moving & (~hidden[cell] | (x < lower[cell] - FEAS_TOL) | (x > upper[cell] + FEAS_TOL)
                    | frac)
    valid[wid[bad]] = False
    # Relations: every witness's sum in every relation its cells are in, by one sparse
    # product (a grouped sort over the witnesses' relation entries took 20x as long).
    sums = (per @ space.cell_relations).tocoo()
    valid[sums.row[np.abs(sums.data) > FEAS_TOL]] = False
    return Moves(uk, wid, cell, dx, valid)


def reaches(rule: np.ndarray, threshold: int | np.ndarray, values: np.ndarray,
            cells: np.ndarray, move: np.ndarray) -> np.ndarray:
    """Whether moving ``cells`` by ``move`` from ``values`` meets their rule: the goal for
    THRESHOLD, any movement for EXACT, never for NONE."""
    r = rule[cells]
    return np.where(r == THRESHOLD, values[cells] + move >= goal_at(threshold, cells) - TOL,
                    np.where(r == EXACT, np.abs(move) >= TOL, False))


def verify(space: CellSpace, values: np.ndarray, hidden: np.ndarray, rule: np.ndarray,
           threshold: int | np.ndarray, w: Witnesses, lower: np.ndarray, upper: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray]:
    """(cells proven, witness valid mask): each witness must be a whole point of the model
    (``moves``), and its claimed cells must reach their goal."""
    proven = np.zeros(space.size, dtype=bool)
    if not w.n:
        return proven, np.ones(0, dtype=bool)
    m = moves(space, values, hidden, w, lower, upper)
    # Claims: the claimed cell's movement in its witness must reach the goal.
    ckey = w.claim_wid * space.size + w.claim_cell
    at = np.minimum(np.searchsorted(m.key, ckey), len(m.key) - 1)
    move = np.where(m.key[at] == ckey, m.dx[at], 0.0)
    reach = reaches(rule, threshold, values, w.claim_cell, move)
    good = reach & m.valid[w.claim_wid] & hidden[w.claim_cell]
    proven[w.claim_cell[good]] = True
    return proven, m.valid
