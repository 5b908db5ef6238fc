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

Targets sharing a region share one LP model: soft rounds carry as many as they can at once,
then each target left gets its own warm-started solve (see ``local_repair``). A target
already at its label's top with ``exact`` protection moves down instead of up.
"""

from __future__ import annotations

import time
from collections import defaultdict

import highspy
import numpy as np

from datashare.disclosure.lp import equality_model, new_highs
from datashare.disclosure.table import CellSpace, ramp
from datashare.disclosure.witness import SUPPORT_TOL

HIDDEN_COST = 1e-3  # per unit moved of an already hidden cell: nearly free, but not wandering
VALUE_COST = 1e-4  # per unit and per count of the cell's value: small cells first
REWARD = 1e3  # per unit a target moves towards its goal (soft LP): above any cost of moving
SOFT_GAIN = 5  # soft rounds go on while each carries at least 1/SOFT_GAIN of the targets
MILP_SECONDS = 1.0  # one region's MILP; past it the targets go on to the LP loop
MILP_BUDGET = 60.0  # MILP seconds per repair in all; past it the targets go on to the LP loop
MILP_GAP = 0.05  # relative gap at which a region's MILP stops (it pays ~1 per cell hidden)
FEASIBLE = 2  # HiGHS's kSolutionStatusFeasible


def region_codes(space: CellSpace, small: bool = False) -> list[list[tuple[int, ...]]]:
    """Per dimension, per code: the codes of its region (itself, its ancestors, its
    children and its siblings that have no children). ``small``: itself, its children, and
    per partition it is in, the partition's parent and members (Female: All Students, Female
    and Male, not the race groups; a school: its district and the district's schools, not
    the state)."""
    out: list[list[tuple[int, ...]]] = []
    for dim in space.spec.dimensions:
        index = dim.index()
        parents: dict[int, set[int]] = defaultdict(set)
        children: dict[int, set[int]] = defaultdict(set)
        partners: dict[int, set[int]] = defaultdict(set)
        for part in dim.partitions:
            p = index[part.parent]
            members = {index[c] for c in part.children}
            for c in members:
                parents[c].add(p)
                children[p].add(c)
                partners[c] |= members | {p}
        per_code = []
        for a in range(len(dim.codes)):
            codes = {a} | children[a]
            if small:
                per_code.append(tuple(sorted(codes | partners[a])))
                continue
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

    Targets sharing a region (a district's schools: a hundred or more) share one model. One
    point rarely carries all of them under the label bounds (Female and Male of one school
    grade cannot both be at 9 when the total is published; a published neighbour may not
    drop below 10): requiring it sent all 1,484 local targets of the 10,506-row bench to the
    LP loop (295 s). But each target only needs a point of its own. So a first LP carries as
    many as it can at once (soft goals), then each target left gets its own LP, warm-started
    from the last one's basis, skipping targets an earlier point already carried.
    """
    points: list[tuple[np.ndarray, np.ndarray, int]] = []
    budget = [MILP_BUDGET]
    # Small regions first (a fifth of the cells: solves several times faster); the targets
    # they cannot carry (a partner that may not go down, a total that must move) get the
    # whole region.
    left = targets
    for small in (True, False):
        if len(left):
            left = _repair(space, values, hidden, left, need, lower, upper, blocked,
                           region_codes(space, small), points, budget)
    return points, left


def _repair(space: CellSpace, values: np.ndarray, hidden: np.ndarray, targets: np.ndarray,
            need: np.ndarray, lower: np.ndarray, upper: np.ndarray,
            blocked: np.ndarray | None, regions: list[list[tuple[int, ...]]],
            points: list[tuple[np.ndarray, np.ndarray, int]], budget: list[float],
            ) -> np.ndarray:
    coords = np.unravel_index(targets, space.shape)
    groups: dict[tuple[tuple[int, ...], ...], list[int]] = defaultdict(list)
    for i in range(len(targets)):
        key = tuple(regions[d][int(coords[d][i])] for d in range(len(space.shape)))
        groups[key].append(int(targets[i]))
    left: list[int] = []
    for key, cells in groups.items():
        region = _Region(space, values, hidden, _region_cells(space, key), lower, upper,
                         blocked, budget)
        todo = region.targets(np.array(cells, dtype=np.int64), need)
        left += np.setdiff1d(cells, todo).tolist()  # outside, published or without room
        if not len(todo):
            continue
        while len(todo) > 1:
            got = region.carry(todo, soft=True)
            if got is None:
                break
            points.append((*got[:2], int(got[2][0])))
            carried = len(todo)
            todo = todo[~region.carried_mask(todo)]
            if (carried - len(todo)) * SOFT_GAIN < carried:
                break  # diminishing returns: one LP per target from here
        for c in todo.tolist():
            if region.carried(c):
                continue
            one = region.carry(np.array([c]), soft=False)
            if one is None:
                left.append(c)
            else:
                points.append((*one[:2], c))
    return np.array(sorted(left), dtype=np.int64)


def _region_cells(space: CellSpace, key: tuple[tuple[int, ...], ...]) -> np.ndarray:
    flat = np.zeros(1, dtype=np.int64)
    for d, codes in enumerate(key):
        flat = (flat[:, None] + np.array(codes, dtype=np.int64)[None, :] * space.strides[d]).ravel()
    return np.sort(flat)



class _Region:
    """One region's LP (every cell moves up or down, each column paying per unit: a hidden
    cell almost nothing, a published one about 1, so the optimum hides few new cells), kept
    between solves so each target's solve starts from the previous basis."""

    def __init__(self, space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                 region: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 blocked: np.ndarray | None, budget: list[float]) -> None:
        self.hidden = hidden  # shared with the caller: moved cells are hidden in it
        self.budget = budget  # MILP seconds left for the whole repair (one-element list)
        cells = region if blocked is None else region[hidden[region] | ~blocked[region]]
        self.cells = cells
        n = len(cells)
        # Rows: every relation touching a variable, restricted to its variable members (the
        # others keep their true values, so the variables' movements must sum to zero).
        by_cell, start = space.by_cell
        deg = start[cells + 1] - start[cells]
        entries = by_cell[np.repeat(start[cells], deg) + ramp(deg)]
        rels = np.unique(space.entry_rel[entries])
        lens = space.ptr[rels + 1] - space.ptr[rels]
        e = np.repeat(space.ptr[rels], lens) + ramp(lens)
        row = np.repeat(np.arange(len(rels)), lens)
        col = self.pos(space.cells[e])
        keep = col >= 0
        row, col, coef = row[keep], col[keep], space.coef[e][keep].astype(np.float64)
        # Columns: up (0..n-1) and down (n..2n-1) per cell.
        v = values[cells].astype(np.float64)  # not the whole space: 18 MB per LP at 1M rows
        self.v = v
        self.room_up = upper[cells] - v
        self.room_down = v - lower[cells]
        self.lo = np.zeros(2 * n)
        self.hi = np.concatenate([self.room_up, self.room_down])
        self.cost = np.tile(np.where(hidden[cells], HIDDEN_COST, 1.0 + VALUE_COST * v), 2)
        self.model = equality_model(2 * n, np.concatenate([row, row]),
                                    np.concatenate([col, col + n]),
                                    np.concatenate([coef, -coef]), np.zeros(len(rels)),
                                    self.cost, self.lo, self.hi)
        self.h = new_highs()
        self.h.setOptionValue("solver", "simplex")
        # Presolve off: about 20% faster on these small LPs (497,070 rows: 7.2 s against
        # 8.9 s for 329 LPs), and it keeps the basis for the next solve.
        self.h.setOptionValue("presolve", "off")
        self.h.passModel(self.model)
        self.goal = np.zeros(n)
        self.up = np.ones(n, dtype=bool)
        self.reached = np.zeros(n, dtype=bool)

    def pos(self, of: np.ndarray) -> np.ndarray:
        # Position in ``cells`` (sorted), -1 if absent: a dense index over the whole space
        # cost a 2.3-million-entry fill per LP at 985,608 rows.
        n = len(self.cells)
        at = np.minimum(np.searchsorted(self.cells, of), n - 1)
        return np.where(self.cells[at] == of, at, -1)

    def targets(self, targets: np.ndarray, need: np.ndarray) -> np.ndarray:
        """The targets this region can try (inside it, hidden, with room for the goal);
        records each one's goal and direction: upwards where it has room (always, for a
        threshold goal), else down by as much (an exact target at its label's top)."""
        t = self.pos(targets)
        inside = t >= 0
        inside[inside] = self.hidden[self.cells[t[inside]]]
        t = t[inside]
        goal = need[self.cells[t]]
        up = goal <= self.room_up[t]
        ok = up | (goal <= self.room_down[t])
        t, goal, up = t[ok], goal[ok], up[ok]
        self.goal[t], self.up[t] = goal, up
        return self.cells[t]

    def carried(self, cell: int) -> bool:
        return bool(self.reached[self.pos(np.array([cell]))[0]])

    def carried_mask(self, cells: np.ndarray) -> np.ndarray:
        return self.reached[self.pos(cells)]

    def carry(self, targets: np.ndarray, soft: bool,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The cheapest whole-number movement carrying ``targets`` to their goals: (cells
        moved, their values there, the targets carried), or None. ``soft``: each target is
        rewarded per unit towards its goal (capped there) instead of being held at it, so
        the optimum carries every target that can be carried with the others; a second,
        hard solve then asks the cheapest movement carrying exactly those (skipped when the
        first carried all at a whole-number point: it is then optimal for the second)."""
        n = len(self.cells)
        t = self.pos(targets)
        col = np.where(self.up[t], t, t + n)  # the column moving the target the right way
        other = np.where(self.up[t], t + n, t)
        goal = self.goal[t]
        if soft:
            # Distinct rewards: two targets that trade off (Female up is Male down under a
            # published total) are not a tie the vertex splits between them; the one
            # rewarded more goes all the way to its goal, the other waits a round.
            reward = -REWARD * (1.0 + np.arange(len(t))[::-1] / len(t))
            x = self._solve(col, other, np.zeros(len(t)), goal, reward, integer=False)
            if x is None:
                return None
            ok = x[col] >= goal - SUPPORT_TOL
            if not ok.any():
                return None
            if not ok.all() or not _whole(x):
                t, col, other, goal = t[ok], col[ok], other[ok], goal[ok]
                x = self._solve(col, other, goal, self.hi[col], np.zeros(len(t)), integer=True)
        else:
            x = self._solve(col, other, goal, self.hi[col], np.zeros(len(t)), integer=True)
        if x is None:
            return None
        move = x[:n] - x[n:]
        move[np.abs(move) <= SUPPORT_TOL] = 0.0  # solver noise: the cell stays
        moved = np.flatnonzero(move != 0.0)
        # Every target this point carries (not only those asked for) is claimed by it.
        self.reached |= (self.goal > 0) & np.where(self.up, move >= self.goal - SUPPORT_TOL,
                                                   move <= -self.goal + SUPPORT_TOL)
        fresh = moved[~self.hidden[self.cells[moved]]]
        self.hidden[self.cells[fresh]] = True
        if len(fresh):  # now hidden: nearly free for the next targets
            cols = np.concatenate([fresh, fresh + n]).astype(np.int32)
            self.cost[cols] = HIDDEN_COST
            self.h.changeColsCost(len(cols), cols, self.cost[cols])
        return self.cells[moved], self.v[moved] + move[moved], self.cells[t]

    def _solve(self, col: np.ndarray, other: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               cost: np.ndarray, integer: bool) -> np.ndarray | None:
        """Solve with the targets' columns bounded [lo, hi] at ``cost`` and their opposite
        columns at 0; the model is restored afterwards."""
        cols = np.concatenate([col, other]).astype(np.int32)
        h = self.h
        h.changeColsBounds(len(cols), cols, np.concatenate([lo, np.zeros(len(other))]),
                           np.concatenate([hi, np.zeros(len(other))]))
        h.changeColsCost(len(col), col.astype(np.int32), cost.astype(np.float64))
        try:
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            x = np.asarray(h.getSolution().col_value)
            if integer and not _whole(x):
                return self._milp()  # the model as it is now: the targets held at goal
            return x
        finally:
            h.changeColsBounds(len(cols), cols, self.lo[cols], self.hi[cols])
            h.changeColsCost(len(col), col.astype(np.int32), self.cost[col])

    def _milp(self) -> np.ndarray | None:
        """A fractional vertex is no proof about whole numbers: the current model as a MILP
        (small: one region) on a copy (the LP keeps its basis), time-limited; None sends the
        targets on to the LP loop."""
        if self.budget[0] <= 0:
            return None
        lp = self.h.getLp()
        m = new_highs()
        m.setOptionValue("solver", "choose")
        m.setOptionValue("time_limit", min(MILP_SECONDS, self.budget[0]))
        # Any whole-number point carrying the targets is a witness; the cheapest only hides
        # fewer cells. Near-optimal is enough: proving the last 0.01% took most of the time.
        m.setOptionValue("mip_rel_gap", MILP_GAP)
        m.passModel(lp)
        m.changeColsIntegrality(lp.num_col_, np.arange(lp.num_col_, dtype=np.int32),
                                np.full(lp.num_col_, highspy.HighsVarType.kInteger))
        t0 = time.perf_counter()
        m.run()
        self.budget[0] -= time.perf_counter() - t0
        # Out of time with a feasible point found: still a witness (witness.verify re-checks
        # every point on the final pattern); only without one do the targets go on.
        if (m.getModelStatus() != highspy.HighsModelStatus.kOptimal
                and m.getInfo().primal_solution_status != FEASIBLE):
            return None
        return np.round(np.asarray(m.getSolution().col_value))


def _whole(x: np.ndarray) -> bool:
    return bool(np.abs(x - np.round(x)).max(initial=0.0) <= 1e-6)
