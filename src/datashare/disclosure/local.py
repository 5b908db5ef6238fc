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

Targets sharing a region share one LP model: soft rounds carry as many as they can at once
(in a count table's own suppression each round over targets no two of which share a
relation: ``_Region.apart``), then each target left gets its own solve (see
``local_repair``). A target
already at its label's top with ``exact`` protection moves down instead of up.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import highspy
import numpy as np

from datashare.arrays import sorted_unique
from datashare.disclosure import forked
from datashare.disclosure.cores import MAX_WORKERS, threads, workers
from datashare.disclosure.lp import colwise, new_highs, pass_equality_model, run, whole_point
from datashare.disclosure.spec import MEASURE_DIM, REST
from datashare.disclosure.table import CellSpace, ramp
from datashare.disclosure.witness import EXACT, SUPPORT_TOL, Witnesses

# Up to this many hidden cells the unhide pass also tries an LP over all of them (the
# audit's own LP with the true values outside) for a target its regions cannot re-prove
# (4,369 rows, exact: 1,108 -> 715 complementary cells with it; the regions alone keep most).
UNHIDE_WHOLE_MAX = 5000
CANDIDATE_COST = 1.0  # per unit moved of a cell the unhide pass may still publish

HIDDEN_COST = 1e-3  # per unit moved of an already hidden cell: nearly free, but not wandering
VALUE_COST = 1e-4  # per unit and per count of the cell's value: small cells first
REWARD = 1e3  # per unit a target moves towards its goal (soft LP): above any cost of moving
SOFT_GAIN = 5  # soft rounds go on while each carries at least 1/SOFT_GAIN of the targets
# With ``apart`` (``local_repair``), while each carries at least SOFT_MIN targets: a round
# over targets apart carries fewer. 6 or 12 measured the same at 985,608 rows (fewer
# rounds, as many more single solves), so the rounds stop where they stop paying at all.
SOFT_MIN = 3
# Work limits, never time (``lp``: the same table must give the same pattern whatever the
# load). A region's MILP stops after MILP_NODES branch-and-bound nodes (the bench regions
# solve at the root: 1 node), and at most MILP_BUDGET MILPs run per repair; past either the
# targets go on to the LP loop. (Before 2026-12-03: 1 s wall per MILP, 60 s per repair.)
MILP_NODES = 100
MILP_BUDGET = 200
# A single-target solve is skipped when bound propagation (``_Slack``, CHECK_PASSES
# relations deep) shows it has no point. Measured on solves captured at scale 1 and replayed
# on one thread: in regions of 2,000+ cells (assessment participation) 1,217 infeasible
# solves took 7.5 s and four passes found 1,035 of them (5.5 s) in 0.6 s; in discipline's
# numerator pass, below 600 cells, 7,908 of 7,936 solves were infeasible (3.2 s) and the
# check found 7,848 in 1.05 s. Where most solves have a point it costs more than it saves
# (the 201,535-row bench count table: 56.1 s against 48.8 s), so a region below CHECK_CELLS
# checks only while most of its single solves have had none.
CHECK_PASSES = 4
CHECK_CELLS = 2000
# The checks of a region's single solves still to come are made together (``_Slack.
# holds_many``: the same propagation per target, one set of array operations for up to
# CHECK_AHEAD of them, CHECK_BATCH entries of bounds and sums at a time).
CHECK_AHEAD = 256
CHECK_BATCH = 1 << 20
# A fractional optimum is dived to a whole point (``_Region._dive``) before any MILP runs.
DIVE_STEPS = 20
# The file audit's dives (``cheapest=False``) go further before a MILP: any whole point it
# finds is re-verified, and a MILP over a big region is slow however few its nodes (scale-1
# enrollment: a 26,957-cell region's 52 fractional columns, 20 steps not enough, its MILP
# 40.9 s; 200 steps: no MILP, the audit 113 -> 80 s). The suppressor keeps DIVE_STEPS: its
# points choose the pattern.
AUDIT_DIVE_STEPS = 200
MILP_GAP = 0.05  # relative gap at which a region's MILP stops (it pays ~1 per cell hidden)
NEAR_MAX = 24  # a small region's dimension with more codes than this gets a near tier first
NEAR_SIBLINGS = 8  # sibling leaves a near region keeps: those most often hidden alongside
CROSS_CHILDREN = 8  # a cross region's partner: its largest children


# Workers solving regions ahead (``_repair``): the results are the serial run's whatever the
# number (``cores.workers``: DATASHARE_LP_THREADS, else the cores, at most MAX_WORKERS). Only
# the workers for which a core is free run (``cores.threads``).
THREADS = workers()
# Regions submitted ahead per worker. More than one: a big region holds up taking the results
# after it, and the other workers run dry behind it (985,608 rows: the small tier 36.6 ->
# 31.9 s wall from 2 to 8, the same pattern whatever the number).
AHEAD = 8
# A tier's regions are solved interleaved (``_spread``), so that regions next to each other
# in the targets' order (a school's grades, its district's other schools: they share cells)
# are at least SPREAD apart, as many as can be in flight at once (AHEAD per worker, at most
# MAX_WORKERS workers). A region solved ahead of a neighbour that then hides a cell it read
# is solved again, by the caller alone: at 985,608 rows 1,261 of the small tier's 12,070
# regions (9.8 of its 43.6 s wall), 40 interleaved. The order depends on these constants,
# not on the workers a run gets: the pattern is the serial run's.
SPREAD = MAX_WORKERS * AHEAD
# The suppressor's regions are solved ahead in forked processes (``forked``) from this many
# regions in a tier, else in threads, whose Python work between solves holds the GIL: at
# 985,608 rows two threads took the local LPs to 0.75 of their one-thread time, two
# processes to 0.62-0.65. Forking costs little (4 ms for a 4 GB process), but each region's
# result comes back through a pipe: the audits' regions (``_only_hidden_move``: every
# published cell blocked, so each solve is small) stay in threads, where that table's
# `audit-table` took 73.5 and 81.8 s against 82.9 and 90.1 s in processes.
FORK_MIN_REGIONS = 16
RERUNS = [0]  # regions solved again because an earlier one hid a cell they read


def region_codes(space: CellSpace, small: bool = False) -> list[list[tuple[int, ...]]]:
    """Per dimension, per code: the codes of its region (itself, its ancestors, its
    children and its siblings that have no children). ``small``: itself, its children, and
    per partition it is in, the partition's parent and its members that have no children
    (Female: All Students, Female and Male, not the race groups; a school: its district and
    the district's schools, not the state; a district: its schools and the state, not the
    other districts).

    A member with children of its own is left out of the small region: its children are
    outside, so they keep their true values and the relation adding them up holds the
    member at its own; it would only be a column that cannot move. The 295 other districts
    made a district's small region 20,000-100,000 cells at scale-1 enrollment (40-65 ms a
    solve; ~200 cells and 0.5 ms without them); at 45,730 rows the small tier carries the
    same 1,867 of 6,837 targets in 6.0-7.5 s CPU instead of 11.6 s. The whole region keeps
    every sibling without children of every partition under each parent (Female: every
    group, as All Students may move): limiting it to the code's own partitions left 1,975
    more targets to the LP loop there."""
    out: list[list[tuple[int, ...]]] = []
    for dim in space.spec.dimensions:
        index = dim.index()
        parents, children = dim.links()
        partners: dict[int, set[int]] = defaultdict(set)
        for part in dim.partitions:
            p = index[part.parent]
            members = {index[c] for c in part.children}
            leaves = {c for c in members if not children[c]}
            for c in members:
                partners[c] |= leaves | {p}
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


def near_codes(space: CellSpace, hidden: np.ndarray,
               small: list[list[tuple[int, ...]]]) -> list[list[tuple[int, ...]]] | None:
    """``small`` narrowed where a code's region has more than NEAR_MAX codes in a dimension:
    there it keeps the code, its children, its partitions' parents and the NEAR_SIBLINGS
    sibling leaves whose cells are hidden most often where the code's are (a school of a
    298-school district: its district and the 8 schools sharing most hidden cells with it, not
    all 298). None when no dimension is narrowed. The region's other cells keep their true
    values, so a point found in it is as much a witness as one from the small region; it is
    only a cheaper place to look first (a 298-school district's small region is 33,376 cells
    at scale-1 enrollment, hundreds of milliseconds a solve, and ~1,700 targets share it)."""
    out: list[list[tuple[int, ...]]] = []
    narrowed = False
    for d, dim in enumerate(space.spec.dimensions):
        per_code = list(small[d])
        index = dim.index()
        _, children = dim.links()
        plane = None
        for part in dim.partitions:
            members = np.array([index[c] for c in part.children if not children[index[c]]],
                               dtype=np.int64)
            if len(members) <= NEAR_MAX:
                continue
            if plane is None:
                plane = np.moveaxis(hidden.reshape(space.shape), d, 0).reshape(space.shape[d], -1)
            h = plane[members].astype(np.float32)
            co = h @ h.T  # cells hidden in both, per pair of siblings
            np.fill_diagonal(co, -1.0)
            # Most shared first, then the nearest code (deterministic).
            order = np.lexsort((np.abs(members[None, :] - members[:, None]), -co), axis=1)
            for i, a in enumerate(members.tolist()):
                if len(per_code[a]) <= NEAR_MAX:
                    continue
                keep = {a} | children[a] | {c for c in per_code[a] if children[c]}
                keep |= set(members[order[i, :NEAR_SIBLINGS]].tolist())
                per_code[a] = tuple(sorted(keep))
                narrowed = True
        out.append(per_code)
    return out if narrowed else None


def cross_codes(space: CellSpace, values: np.ndarray,
                regions: list[list[tuple[int, ...]]],
                room: np.ndarray | None = None) -> list[list[tuple[int, ...]]]:
    """``regions`` (the whole regions) widened by partners: per code, its own largest sibling
    that has children and its parent's (a district: the biggest other district; a school: the
    biggest district other than its own), each with its CROSS_CHILDREN largest children,
    sizes taken at the other dimensions' roots. A small cell of a rural district whose schools are all small has no room within
    its district (every school's cell is as small, and hidden complements may not go below
    the threshold); a big district's big schools have it: the movement goes up through its
    district to the state and down through the partner (scale-1 enrollment: 437 of the 470
    targets the whole regions left, whose goals the labels-only whole region reaches once the
    grand total may move, i.e. through the state).

    ``room`` (a cell mask: the audits' hidden cells that may move a unit either way) chooses
    the partners by the share of their cells in it instead of by size. A coded numerator at
    the top of its range (">95%", every student tested) must go down, so another district's
    must go up, and the biggest district's groups are published: its region moves nothing.
    A district whose cells are hidden complements with room does (scale-1 assessment
    participation: the 70 such numerators the other regions left, 15 points in 0.6 s,
    where the LPs over their 661,000-cell component took 207 s)."""
    out: list[list[tuple[int, ...]]] = []
    for d, dim in enumerate(space.spec.dimensions):
        index = dim.index()
        parents, children = dim.links()
        siblings: dict[int, set[int]] = defaultdict(set)
        for part in dim.partitions:
            members = {index[c] for c in part.children}
            for k in members:
                siblings[k] |= members - {k}
        if room is None:
            # Sizes at the other dimensions' roots (their first code: parents come first).
            at = [slice(None) if e == d else 0 for e in range(len(space.shape))]
            size = values.reshape(space.shape)[tuple(at)]
        else:
            # The share of each code's cells (over every other dimension) with room.
            size = np.moveaxis(room.reshape(space.shape), d, 0).reshape(
                space.shape[d], -1).mean(axis=1)
        # A parent's partner is every child's (a district's, for each of its schools): found
        # once per parent, not once per school (3% of scale-1 enrollment's file audit).
        parents_partner = {p: _partner(siblings[p], children, size) for p in range(len(dim.codes))
                           if children[p]}
        per_code = []
        for a in range(len(dim.codes)):
            # The code's own largest sibling with children (a district: the biggest other
            # district), and its parent's (a school: the biggest other district).
            codes = set(regions[d][a]) | _partner(siblings[a], children, size)
            for p in parents[a]:
                codes |= parents_partner[p]
            per_code.append(tuple(sorted(codes)))
        out.append(per_code)
    return out


def _partner(group: set[int], children: dict[int, set[int]], size: np.ndarray) -> set[int]:
    """``cross_codes``' partner from ``group``: its largest code with children, and that
    code's CROSS_CHILDREN largest children (none when no code of the group has children)."""
    others = [q for q in group if children[q]]
    if not others:
        return set()
    q = max(others, key=lambda c: (size[c], -c))
    return {q, *sorted(children[q], key=lambda c: (-size[c], c))[:CROSS_CHILDREN]}


def local_repair(space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                 targets: np.ndarray, need: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, blocked: np.ndarray | None, small_first: bool = True,
                 cheapest: bool = True, either_way: np.ndarray | None = None,
                 cross: bool = True, file_audit: bool = False, apart: bool = False,
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray, int]], np.ndarray]:
    """Witness points for ``targets``; hides (in ``hidden``) the published cells they move.

    Returns (points as (cells moved, their values there, a target the point carries), targets
    left over).

    Targets sharing a region (a district's schools: a hundred or more) share one model. One
    point rarely carries all of them under the label bounds (Female and Male of one school
    grade cannot both be at 9 when the total is published; a published neighbour may not
    drop below 10): requiring it sent all 1,484 local targets of the 10,506-row bench to the
    LP loop (295 s). But each target only needs a point of its own. So a first LP carries as
    many as it can at once (soft goals), then each target left gets its own LP (from the
    rest point: ``_Region._run``), skipping targets an earlier point already carried.

    ``either_way`` (the audits, a mask of the targets a move either way proves: the exact
    ones): before each tier, the targets a point found so far already moves by their need
    (up; those in the mask, either way) are dropped. The audit checks every point against
    every target, so another point for them only costs solves (scale-1 chronic absence's
    hidden numerators: the 13,571 targets the whole regions left, which the cross regions
    then solved for in 19.6 s, were every one moved by an earlier point).
    ``cross=False`` leaves out the last tier, the cross regions (``cross_codes``) through
    the biggest other district. ``file_audit`` (only hidden cells move) tries the
    ``either_way`` targets the other way too where their way has no point (as
    ``blocks.block_repair`` does), and adds a tier after the cross regions, through the
    district with the most hidden cells that may move a unit either way (``cross_codes``'
    ``room``). Only the file audit: a point these find may prove a cell whose per-cell MILP
    stops at its node limit, which in the suppressor's own audit would change the pattern.

    ``apart``: each soft round rewards only targets no two of which share a relation
    (``_Region.apart``), and the rounds go on while each carries SOFT_MIN. A soft round
    holds its targets from moving the wrong way, so two in one relation block each other
    (Female up is Male down under a published total) and rounds over every target stall
    with many left, each then solved alone. Of the suppressors, a count table's own asks it
    (``api``): there it is faster and hides fewer cells (985,608 rows, one thread: 234-254
    -> 169 s of CPU, 736,909 -> 732,063 cells hidden); so does a rate table's numerators'
    pass (``joint._numerator_pass``: as fast, 0.1-0.2% fewer cells hidden). A rate table's
    group sizes are faster with it too, but the fewer of them hidden leave its numerators
    less room: scale-0.05 chronic absence took 1.6x the CPU (docs/disclosure.md, *A count
    table's soft rounds over targets apart*). The file audit asks it too
    (``audit._region_proofs``): it hides nothing, so only its speed changes.

    ``small_first=False`` skips the small regions (the audits, where only hidden cells may
    move: a small region holds too few of them. From scale-1 enrollment's start point the
    small tiers carried 38% of what they were given, and the whole regions then carried
    the rest as cheaply as they carry all: 52 s instead of 76 s of region LPs). So does a
    rate table's numerators' pass (``joint._numerator_pass``), whose numerators find little
    to move against in a small region: scale-1 discipline's carried about 1,700 of 94,000.
    ``cheapest=False`` (the audits again: every cell that may move is hidden already, so a
    costlier point hides nothing more) keeps a soft round's point as the witness for the
    targets it carries, made whole by the dive if needed, instead of solving again for the
    cheapest movement carrying them (201,535 rows: 1,158 of 4,885 region solves).
    """
    points: list[tuple[np.ndarray, np.ndarray, int]] = []
    budget = [MILP_BUDGET]
    reach = None if either_way is None else _Reach(values, need, either_way)

    def still(left: np.ndarray) -> np.ndarray:
        return left if reach is None else reach.left(left, points)

    # The file audit's exact targets are tried the other way too (down where up has room
    # but no point), as the block regions try them (``_repair``'s ``exact``).
    other_way = either_way if file_audit and either_way is not None else False

    def tier(todo: np.ndarray, regions: list[list[tuple[int, ...]]]) -> np.ndarray:
        return _repair(space, values, hidden, todo, need, lower, upper, blocked, regions,
                       points, budget, exact=other_way, cheapest=cheapest,
                       either_way=either_way, apart=apart)

    # Small regions first (a fifth of the cells: solves several times faster); the targets
    # they cannot carry (a partner that may not go down, a total that must move) get the
    # whole region.
    left = targets
    whole = region_codes(space)
    tiers = (region_codes(space, small=True), whole) if small_first else (whole,)
    # Each tier narrowed first where a dimension is wide (near_codes): cheap to try, and the
    # full region is still tried after for what it cannot carry.
    for regions in tiers:
        near = near_codes(space, hidden, regions)
        left = still(left)
        if near is not None and len(left):
            narrow = _narrowed(space, left, near, regions)
            left = np.union1d(tier(left[narrow], near), left[~narrow])
    for regions in tiers:
        left = still(left)
        if len(left):
            left = tier(left, regions)
    left = still(left)
    if cross and len(left):
        left = still(tier(left, cross_codes(space, values, whole)))
    if file_audit and len(left):
        movable = (hidden & (values - lower >= 1 - SUPPORT_TOL)
                   & (upper - values >= 1 - SUPPORT_TOL))
        left = tier(left, cross_codes(space, values, whole, room=movable))
    return points, left


class _Reach:
    """How far the points found so far move each cell, up and down (``local_repair``'s
    ``either_way``): a target a point already carries is not solved for again."""

    def __init__(self, values: np.ndarray, need: np.ndarray, either_way: np.ndarray) -> None:
        self.values, self.need, self.either_way = values, need, either_way
        self.up = np.zeros(len(values))
        self.down = np.zeros(len(values))
        self.seen = 0  # points taken into account

    def left(self, targets: np.ndarray,
             points: list[tuple[np.ndarray, np.ndarray, int]]) -> np.ndarray:
        """``targets`` but those a point moves by their need: up, or either way for
        ``either_way`` targets."""
        new = points[self.seen:]
        self.seen = len(points)
        if new:
            cells = np.concatenate([c for c, _, _ in new])
            move = np.concatenate([x for _, x, _ in new]) - self.values[cells]
            np.maximum.at(self.up, cells, move)
            np.maximum.at(self.down, cells, -move)
        need = self.need[targets] - SUPPORT_TOL
        done = (self.up[targets] >= need) | (self.either_way[targets]
                                             & (self.down[targets] >= need))
        return targets[~done]


def _narrowed(space: CellSpace, targets: np.ndarray, near: list[list[tuple[int, ...]]],
              regions: list[list[tuple[int, ...]]]) -> np.ndarray:
    """Which ``targets`` have a smaller region in ``near`` than in ``regions``."""
    coords = np.unravel_index(targets, space.shape)
    out = np.zeros(len(targets), dtype=bool)
    for d in range(len(space.shape)):
        smaller = np.array([len(n) < len(r) for n, r in zip(near[d], regions[d], strict=True)])
        out |= smaller[coords[d]]
    return out


def _only_hidden_move(hidden: np.ndarray, blocked: np.ndarray | None) -> bool:
    """Whether every published cell is blocked, so only hidden cells move (the audits')."""
    return blocked is not None and bool((blocked | hidden).all())


Key = tuple[tuple[int, ...], ...]  # a region: per dimension, its codes
Solve = Callable[[Key, np.ndarray, int], "_Solved"]  # (region, targets, MILPs allowed)


def _repair(space: CellSpace, values: np.ndarray, hidden: np.ndarray, targets: np.ndarray,
            need: np.ndarray, lower: np.ndarray, upper: np.ndarray,
            blocked: np.ndarray | None, regions: list[list[tuple[int, ...]]],
            points: list[tuple[np.ndarray, np.ndarray, int]], budget: list[int],
            exact: bool | np.ndarray = False, cheapest: bool = True,
            either_way: np.ndarray | None = None, apart: bool = False) -> np.ndarray:
    """One model per region: soft rounds, then one solve per target left; ``exact`` (per
    cell, or for all) targets are also tried the other way when their way has no point
    (``blocks.block_repair``). Returns the targets left.

    The regions are solved in order (interleaved: ``_spread``), each seeing the cells the
    earlier ones hid. With ``THREADS`` > 1 and a core free for each (``cores.threads``),
    later regions are solved ahead in forked processes (``forked``; threads for a few
    regions, and for the audits' regions: ``FORK_MIN_REGIONS``) and their results taken in
    order: one is kept if nothing it read changed since (the cells hidden over its
    region, and the MILPs the budget had left for it), else solved again. So the points,
    the cells hidden and the targets left are the serial run's, however many workers and
    whatever the timing."""
    groups = _spread([(key, targets[at].astype(np.int64))
                      for key, at in _by_region(space, targets, regions).items()])
    left: list[int] = []

    def solve_in(seen: np.ndarray) -> Solve:
        """The region solve reading the cells hidden so far from ``seen``."""
        def solve(key: Key, cells: np.ndarray, allowed: int) -> _Solved:
            return _solve_region(space, values, seen, key, cells, need, lower, upper, blocked,
                                 allowed, exact, cheapest, either_way, apart)
        return solve

    def take(done: _Solved) -> None:
        hidden[done.written] = True
        budget[0] -= done.milps
        points.extend(done.points)
        left.extend(done.left)

    with threads(THREADS if len(groups) > 1 else 1) as n:
        if n <= 1:
            solve = solve_in(hidden)
            for key, cells in groups:
                take(solve(key, cells, budget[0]))
        else:
            space.by_cell  # noqa: B018  (built once here, not by each thread or process)
            fork = (forked.AVAILABLE and len(groups) >= FORK_MIN_REGIONS
                    and not _only_hidden_move(hidden, blocked))
            _solve_ahead(groups, solve_in, take, hidden, budget, n, fork)
    return np.array(sorted(left), dtype=np.int64)


def _spread(groups: list[tuple[Key, np.ndarray]]) -> list[tuple[Key, np.ndarray]]:
    """``groups`` interleaved: every ``step``-th from the first, then from the second...,
    so that neighbours end up SPREAD or more apart (passes of SPREAD + 1 or more; fewer than
    2 (SPREAD + 1) groups stay in order)."""
    step = max(1, len(groups) // (SPREAD + 1))
    return [g for first in range(step) for g in groups[first::step]]


def _solve_ahead(groups: list[tuple[Key, np.ndarray]], solve_in: Callable[[np.ndarray], Solve],
                 take: Callable[[_Solved], None], hidden: np.ndarray, budget: list[int],
                 n: int, fork: bool) -> None:
    """``_repair``'s regions in order, later ones solved ahead in ``n`` forked processes
    (``fork``) or threads: each result is taken in order, and solved again here if what it
    read changed since (``still_holds``)."""
    solve = solve_in(hidden)
    ahead: deque[Future[_Solved]] = deque()
    with (_in_processes(solve_in, hidden, n) if fork
          else _in_threads(solve, n)) as (submit, hide):
        for i, (key, cells) in enumerate(groups):
            while len(ahead) < min(AHEAD * n, len(groups) - i):
                k, c = groups[i + len(ahead)]
                ahead.append(submit(k, c, budget[0]))
            done = ahead.popleft().result()
            if not done.still_holds(hidden, budget[0]):
                RERUNS[0] += 1
                done = solve(key, cells, budget[0])
            take(done)
            hide(done.written)


Ahead = tuple[Callable[[Key, np.ndarray, int], "Future[_Solved]"], Callable[[np.ndarray], None]]


@contextmanager
def _in_threads(solve: Solve, n: int) -> Iterator[Ahead]:
    """(submit, hide) for ``_solve_ahead``: threads read the caller's ``hidden`` itself."""
    pool = ThreadPoolExecutor(n, thread_name_prefix="region-lp")
    try:
        yield (lambda key, cells, allowed: pool.submit(solve, key, cells, allowed),
               lambda cells: None)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _in_processes(solve_in: Callable[[np.ndarray], Solve], hidden: np.ndarray,
                  n: int) -> Iterator[Ahead]:
    """(submit, hide) for ``_solve_ahead``: the processes read a shared copy of ``hidden``,
    which ``hide`` keeps up with the caller's."""
    shared = forked.shared_copy(hidden)

    def hide(cells: np.ndarray) -> None:
        shared[cells] = True

    with forked.pool(solve_in(shared), n) as submit:
        yield submit, hide


@dataclass
class _Solved:
    """One region's results (``_solve_region``), and what it read to get them."""

    points: list[tuple[np.ndarray, np.ndarray, int]]
    left: list[int]
    region: np.ndarray  # the region's cells
    seen: np.ndarray  # whether each was hidden, when the region was built
    written: np.ndarray  # the cells its points move, hidden when the result is taken
    allowed: int  # MILPs the budget had left when it ran
    milps: int  # MILPs it ran
    refused: bool  # whether it wanted one more than ``allowed``

    def still_holds(self, hidden: np.ndarray, allowed: int) -> bool:
        """Whether solving the region now, with ``hidden`` and ``allowed`` MILPs left,
        would give the same results: it read the same cells hidden, and every MILP it ran
        (or was refused) would be run (or refused) with ``allowed``."""
        if self.milps > allowed or (self.refused and self.allowed != allowed):
            return False
        return bool(np.array_equal(hidden[self.region], self.seen))


def _solve_region(space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                  key: tuple[tuple[int, ...], ...], cells: np.ndarray, need: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray, blocked: np.ndarray | None,
                  allowed: int, exact: bool | np.ndarray, cheapest: bool = True,
                  either_way: np.ndarray | None = None, apart: bool = False) -> _Solved:
    """``_repair`` for one region's ``cells`` (targets), with ``allowed`` MILPs; ``hidden``
    is only read (``_Solved.written``: the cells to hide)."""
    budget = [allowed]
    cells_of = _region_cells(space, key)
    region = _Region(space, values, hidden, cells_of, lower, upper, blocked, budget,
                     cheapest=cheapest, either_way=either_way)
    points: list[tuple[np.ndarray, np.ndarray, int]] = []
    todo = region.targets(cells, need)
    left = np.setdiff1d(cells, todo).tolist()  # outside, published or without room
    if len(todo):
        while len(todo) > 1:
            rewarded = region.apart(todo) if apart else todo
            # The second solve from the soft round's basis only where the rounds are apart (a
            # count table's own suppression, a rate table's numerators' pass): its point is
            # feasible there (the carried targets at their goals, the rest within their
            # rooms), so few pivots remain (985,608 rows, one thread: these solves 39.4 ->
            # 17 s; scale-1 enrollment 78.5 -> 68.9 s). Asked in every part of a rate table
            # (its group sizes and joint rounds too) it made scale-1 chronic absence half
            # again as slow (198.8 -> 302.9 s; at scale 0.2 the same time, where it had been
            # measured).
            got = (region.carry(rewarded, soft=True, warm=apart) if len(rewarded) > 1
                   else None)
            if got is None:
                break
            points.append((*got[:2], int(got[2][0])))
            asked = len(todo)
            todo = todo[~region.carried_mask(todo)]
            gained = asked - len(todo)
            if (gained < SOFT_MIN) if apart else (gained * SOFT_GAIN < asked):
                break  # diminishing returns: one LP per target from here
        region.singles_ahead(todo[~region.carried_mask(todo)])
        for c in todo.tolist():
            if region.carried(c):
                continue
            one = region.carry(np.array([c]), soft=False)
            if one is None and (exact if isinstance(exact, bool) else exact[c]):
                one = region.other_way(c)
            if one is None:
                left.append(c)
            else:
                points.append((*one[:2], c))
    written = np.concatenate(region.written) if region.written else np.zeros(0, np.int64)
    return _Solved(points, left, cells_of, region.seen, written, allowed,
                   allowed - budget[0], region.refused)


def region_goals(space: CellSpace, values: np.ndarray, known_zero: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray, cells: np.ndarray,
                 goal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The labels-only goals of ``cells`` (``model.lazy_goals``) where LPs over each cell's
    whole region decide them without the LP over the whole table: (decided, goal, which of
    the decided the labels alone determine).

    The labels-only model hides every cell but the known zeros; ``lower``/``upper`` are its
    label bounds, ``goal`` the propagated estimate (an upper bound of the exact goal). With
    the cells outside the region at ``values`` (a whole point of the model: the truth), the
    region's best whole-number point is a point of the whole table's model, so its value
    ``low`` is at most the exact maximum; with the relations leaving the region dropped, the
    region's LP maximum ``high`` is at least it (a relaxation). So the goal is the estimate
    when ``low`` reaches it, and ``low`` when ``floor(high)`` is ``low``; otherwise it is left
    undecided. A cell whose goal is its own value is decided with a whole point below its
    value in the region (the labels alone do not determine it), or with the relaxation's
    minimum and maximum both rounding to its value, or its label bounds alone allowing only
    it (they do: ``labels_disclose`` would ask the whole table; scale-1 enrollment: 32 such
    cells, 47 s for that LP). Where it decides, it is the number the whole table's LP gives,
    so ``audit-table`` (which asks the whole table) agrees. ``values``: without the truth
    (``audit-table``), any whole point of the model."""
    free = ~known_zero
    decided = np.zeros(len(cells), dtype=bool)
    determined = np.zeros(len(cells), dtype=bool)
    out = goal[cells].astype(np.float64)
    for key, idx in _by_region(space, cells, region_codes(space)).items():
        region = _region_cells(space, key)
        inner = _Region(space, values, free, region, lower, upper, known_zero, [0])
        outer: _Region | None = None  # the relaxation: built on first use (often never)
        for i in idx:
            c = int(cells[i])
            v = float(values[c])
            if lower[c] >= goal[c] - 1e-6:  # lower <= x <= goal <= lower: only one value
                decided[i] = determined[i] = True
                continue
            low = inner.maximum(c, integer=True)
            if low is None:
                continue
            at = float(goal[c])
            if low < at - 1e-6:
                outer = outer or _relaxed(space, values, free, region, lower, upper, known_zero)
                high = outer.maximum(c, integer=False)
                if high is None or np.floor(high + 1e-6) > low:
                    continue
                at = low
            if at > v + 0.5:
                decided[i], out[i] = True, at
                continue
            # At its own value: does anything but the value itself remain possible?
            least = inner.maximum(c, True, sign=-1.0)
            if least is not None and least < v - 0.5:
                decided[i], out[i] = True, at
                continue
            outer = outer or _relaxed(space, values, free, region, lower, upper, known_zero)
            top = outer.maximum(c, integer=False)
            bottom = None if top is None else outer.maximum(c, integer=False, sign=-1.0)
            if (top is not None and bottom is not None and np.floor(top + 1e-6) <= v
                    and np.ceil(bottom - 1e-6) >= v):
                decided[i] = determined[i] = True
                out[i] = at
    return decided, out, determined


def _relaxed(space: CellSpace, values: np.ndarray, free: np.ndarray, region: np.ndarray,
             lower: np.ndarray, upper: np.ndarray, known_zero: np.ndarray) -> _Region:
    """The region's LP with the relations leaving it dropped (``region_goals``' upper side)."""
    return _Region(space, values, free, region, lower, upper, known_zero, [0], closed=True)


def pinned(space: CellSpace, values: np.ndarray, hidden: np.ndarray, lower: np.ndarray,
           upper: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Which hidden ``cells`` the attacker derives exactly from their whole region alone:
    the LP over the region's hidden cells with every relation whose hidden members are all
    inside (published cells at their values; the others dropped, a relaxation of the whole
    table's model), where the cell's smallest and largest values round to one whole number.
    The whole table allows no more than its relaxation, so such a cell is exactly
    derivable; a cell not pinned here may still be (the caller asks the whole table)."""
    out = np.zeros(len(cells), dtype=bool)
    published = ~hidden
    for key, at in _by_region(space, cells, region_codes(space)).items():
        region = _Region(space, values, hidden, _region_cells(space, key), lower, upper,
                         published, [0], closed=True, held_outside=True)
        for i in at:
            c = int(cells[i])
            top = region.maximum(c, integer=False)
            least = None if top is None else region.maximum(c, integer=False, sign=-1.0)
            out[i] = (least is not None and top is not None
                      and np.floor(top + 1e-6) <= np.ceil(least - 1e-6))
    return out


def bounds_holding(space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                   lower: np.ndarray, upper: np.ndarray, cells: np.ndarray,
                   blocked: np.ndarray | None) -> np.ndarray:
    """For targets no region moves: the cells whose bounds hold them, in each one's whole
    region's LP (every cell of the region free to move, published ones too, within
    ``lower``/``upper``), pushed the way it has room (down when at its upper bound). A
    rate table's label bounds can pin a numerator in every region: a coded "<X%" at its top
    beside uncoded hidden numerators at their "k" ([k, N - k]). Hiding such a cell's group
    size takes its row's label away (``joint``). A mask over the space."""
    out = np.zeros(space.size, dtype=bool)
    for key, at in _by_region(space, cells, region_codes(space)).items():
        region = _Region(space, values, hidden, _region_cells(space, key), lower, upper,
                         blocked, [0])
        for c in cells[at].tolist():
            sign = 1.0 if upper[c] - values[c] >= 1 else -1.0
            out[region.binding(c, sign)] = True
    return out


def _by_region(space: CellSpace, cells: np.ndarray, regions: list[list[tuple[int, ...]]],
               ) -> dict[tuple[tuple[int, ...], ...], list[int]]:
    """``cells`` grouped by their region in ``regions`` (per dimension, per code: the
    region's codes): region key -> positions in ``cells``, in order."""
    coords = np.unravel_index(cells, space.shape)
    groups: dict[tuple[tuple[int, ...], ...], list[int]] = defaultdict(list)
    for i in range(len(cells)):
        groups[tuple(regions[d][int(coords[d][i])] for d in range(len(space.shape)))].append(i)
    return groups


def _region_cells(space: CellSpace, key: tuple[tuple[int, ...], ...]) -> np.ndarray:
    flat = np.zeros(1, dtype=np.int64)
    for d, codes in enumerate(key):
        flat = (flat[:, None] + np.array(codes, dtype=np.int64)[None, :] * space.strides[d]).ravel()
    return np.sort(flat)



class _Slack:
    """Per relation of a region's LP, how far its cells' movements can add up each way
    within their bounds (``_Region._held_by_its_relations``). The movement ``m`` of a cell is
    its up column minus its down column, so ``-room_down <= m <= room_up``; every
    coefficient is 1 or -1, so an entry's part of its relation's sum lies in
    [``least``, ``most``] and a relation's sum in [sum of least, sum of most] (kept as the
    finite parts' sum and how many parts are infinite)."""

    def __init__(self, row: np.ndarray, col: np.ndarray, coef: np.ndarray, n_rows: int,
                 hi: np.ndarray) -> None:
        n = len(hi) // 2
        # Every relation of a CellSpace adds up with 1 and -1; with any other coefficient the
        # parts below would be wrong, so such a model is never said to have no point.
        self.units = bool((np.abs(coef) == 1).all())
        self.top, self.bottom = hi[:n].copy(), -hi[n:]  # room up; room down, negated
        least, most = _parts(coef, self.bottom[col], self.top[col])
        self.sums = (*_finite_sum(row, least, n_rows), *_finite_sum(row, most, n_rows))
        # The entries by cell (each cell's relations) and by relation (each one's cells).
        self.start, self.row, self.coef = _by_column(n, row, col, coef)
        self.row_start, self.row_col, self.row_coef = _by_column(n_rows, col, row, coef)
        self.known: dict[tuple[int, bool, float], bool] = {}  # (cell, up, goal): the answer

    def holds_many(self, ts: np.ndarray, goals: np.ndarray, ups: np.ndarray) -> np.ndarray:
        """For each cell of ``ts``, whether it cannot move by its goal (up, or down: ``ups``),
        by bound propagation: with the cell held between its goal and its bound, each pass
        tightens the bounds of every cell in a relation the last pass's tightened cells are
        in to what the rest of the relation allows (the first pass: the cell's own
        relations), up to CHECK_PASSES passes. True if a relation's sum cannot reach 0 or a
        cell has no value left. A tightening counts only if it is at least a unit (the
        values are whole).
        The cells are propagated side by side, each on its own copy of the bounds and
        relation sums, in chunks of about CHECK_BATCH entries (the values are whole, so the
        float sums are exact in any order): one set of array operations per pass for a
        chunk, where one cell at a time paid for each."""
        out = np.zeros(len(ts), dtype=bool)
        if not self.units:
            return out
        step = max(1, CHECK_BATCH // (len(self.top) + len(self.sums[0])))
        for at in range(0, len(ts), step):
            part = slice(at, at + step)
            out[part] = self._holds_chunk(ts[part].astype(np.int64), goals[part], ups[part])
        return out

    def _holds_chunk(self, ts: np.ndarray, goals: np.ndarray, ups: np.ndarray) -> np.ndarray:
        # Each target k has its own bounds (k * n + cell) and relation sums (k * m + row).
        n, m, many = len(self.top), len(self.sums[0]), len(ts)
        lo, hi = np.tile(self.bottom, many), np.tile(self.top, many)
        sums = tuple(np.tile(x, many) for x in self.sums)
        found = np.zeros(many, dtype=bool)
        live = np.ones(many, dtype=bool)
        k, cols = np.arange(many), ts
        new_lo = np.where(ups, goals, self.bottom[ts])
        new_hi = np.where(ups, self.top[ts], -goals)
        for _ in range(CHECK_PASSES):
            # Move the changed cells' parts in their relations' sums.
            count = self.start[cols + 1] - self.start[cols]
            e = np.repeat(self.start[cols], count) + ramp(count)
            flat = np.repeat(k * n + cols, count)
            r, a = np.repeat(k, count) * m + self.row[e], self.coef[e]
            before = _parts(a, lo[flat], hi[flat])
            after = _parts(a, np.repeat(new_lo, count), np.repeat(new_hi, count))
            lo[k * n + cols], hi[k * n + cols] = new_lo, new_hi
            for j in (0, 1):
                old, now = before[j], after[j]
                np.add.at(sums[2 * j], r, np.where(np.isinf(now), 0.0, now)
                          - np.where(np.isinf(old), 0.0, old))
                np.add.at(sums[2 * j + 1], r, np.isinf(now).astype(np.int64) - np.isinf(old))
            rows = sorted_unique(r)
            bad = (((sums[1][rows] == 0) & (sums[0][rows] > 0.5))
                   | ((sums[3][rows] == 0) & (sums[2][rows] < -0.5)))
            found[rows[bad] // m] = True  # a relation whose sum cannot reach 0
            live &= ~found
            rows = rows[live[rows // m]]
            # Every cell of those relations: what the rest of its relation leaves it.
            count = self.row_start[rows % m + 1] - self.row_start[rows % m]
            e = np.repeat(self.row_start[rows % m], count) + ramp(count)
            a = self.row_coef[e]
            flat = np.repeat(rows // m, count) * n + self.row_col[e]
            least, most = _parts(a, lo[flat], hi[flat])
            rest_least, rest_most = _rest(sums, np.repeat(rows, count), least, most)
            seen, at = np.unique(flat, return_inverse=True)
            tight_lo, tight_hi = lo[seen], hi[seen]
            np.maximum.at(tight_lo, at, np.where(a > 0, -rest_most, rest_least))
            np.minimum.at(tight_hi, at, np.where(a > 0, -rest_least, rest_most))
            up = tight_lo > lo[seen] + 0.5
            down = tight_hi < hi[seen] - 0.5
            moved = up | down
            owner = seen // n
            still = np.zeros(many, dtype=bool)
            still[owner[moved]] = True
            live &= still  # nothing tightened: no more to find for that target
            new_lo = np.where(up, tight_lo, lo[seen])[moved]
            new_hi = np.where(down, tight_hi, hi[seen])[moved]
            owner, cols = owner[moved], seen[moved] % n
            found[owner[new_lo > new_hi + 0.5]] = True  # a cell with no value left
            live &= ~found
            keep = live[owner]
            k, cols, new_lo, new_hi = owner[keep], cols[keep], new_lo[keep], new_hi[keep]
            if not len(k):
                break
        return found


def _by_column(n: int, row: np.ndarray, col: np.ndarray,
               coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A region matrix's entries by column (``col`` in 0..n-1): (start, row, coefficient),
    ``colwise`` with int64 indices (HiGHS's int32 made every propagation pass 20% slower).
    With ``row`` and ``col`` swapped: the entries by relation."""
    start, index, value = colwise(n, row, col, coef)
    return start.astype(np.int64), index.astype(np.int64), value


def _parts(coef: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least and greatest ``coef * m`` for ``m`` in [lo, hi] (``coef`` 1 or -1)."""
    return np.where(coef > 0, lo, -hi), np.where(coef > 0, hi, -lo)


def _rest(sums: tuple[np.ndarray, ...], r: np.ndarray, least: np.ndarray,
          most: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The range of relation ``r``'s sum without one entry's part (its [least, most])."""
    least_sum, least_inf, most_sum, most_inf = sums
    inf_least, inf_most = np.isinf(least), np.isinf(most)
    return (np.where(least_inf[r] - inf_least > 0, -np.inf,
                     least_sum[r] - np.where(inf_least, 0.0, least)),
            np.where(most_inf[r] - inf_most > 0, np.inf,
                     most_sum[r] - np.where(inf_most, 0.0, most)))


def _finite_sum(row: np.ndarray, part: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Per relation: the sum of the finite parts, and how many parts are infinite."""
    inf = np.isinf(part)
    return (np.bincount(row, weights=np.where(inf, 0.0, part), minlength=n_rows),
            np.bincount(row, weights=inf, minlength=n_rows).astype(np.int64))


def free_to_move(space: CellSpace, cells: np.ndarray) -> np.ndarray:
    """Of ``cells``, those a region LP moves at no cost: in a rate space, "not met". It is
    hidden whenever either measure is and moves only with them (its measure relation), so
    their costs already pay for its movement: its own cost counted the same movement twice,
    and among hidden cells (1e-3 per unit) it was most of what the simplex traded off.
    At zero cost the rate-space soft rounds of scale-1 chronic absence took 0.51 of the
    seconds (74% of the iterations) on 90 of them replayed; at 1e-3 for the published ones
    too, 1.06 (``docs/disclosure.md``)."""
    dims = space.spec.dimensions
    if not dims or dims[-1].name != MEASURE_DIM:
        return np.zeros(len(cells), dtype=bool)
    return cells % len(dims[-1].codes) == REST


def region_highs() -> highspy.Highs:
    """A HiGHS object with the region LPs' options (``_Region``; ``bench/region_lps.py``
    replays its LPs under others against these)."""
    h = new_highs()
    h.setOptionValue("solver", "simplex")
    # Presolve off: about 20% faster on these small LPs (497,070 rows: 7.2 s against 8.9 s
    # for 329 LPs); on for regions of 2,000 cells or more, scale-1 discipline's numerator
    # pass went from 153 s to past 600 s on one thread.
    h.setOptionValue("presolve", "off")
    return h


class _Region:
    """One region's LP (every cell moves up or down, each column paying per unit: a hidden
    cell almost nothing, a published one about 1, so the optimum hides few new cells), kept
    between solves (the model is built once; each solve starts from the rest point)."""

    def __init__(self, space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                 region: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 blocked: np.ndarray | None, budget: list[int], closed: bool = False,
                 held_outside: bool = False, cheapest: bool = True,
                 either_way: np.ndarray | None = None) -> None:
        """``closed``: only the relations every member of which is in ``region`` (the others
        dropped, not held): a relaxation of the whole table's model (``region_goals``).
        ``held_outside`` (with ``closed``): a relation is kept too where its members outside
        the region are all published (not ``hidden``), as every point of the whole table's
        model has them at their values.
        ``hidden`` is read once, over ``region`` (``seen``), and never written: the cells
        its points move are hidden in ``hid`` (its own copy) and listed in ``written``, for
        the caller to hide when it takes the region's results (``_repair``)."""
        self.cheapest = cheapest  # see ``local_repair``
        self.written: list[np.ndarray] = []
        self.budget = budget  # MILPs left for the whole repair (one-element list)
        self.refused = False  # a MILP was wanted with none left in the budget
        self.seen = hidden[region]
        if blocked is None:
            cells, self.hid = region, self.seen.copy()
        else:
            keep = self.seen | ~blocked[region]
            cells, self.hid = region[keep], self.seen[keep]
        self.cells = cells
        n = len(cells)
        # Rows: every relation touching a variable, restricted to its variable members (the
        # others keep their true values, so the variables' movements must sum to zero).
        if closed:
            rels, row, col, coef = self._closed_rows(space, hidden, region, held_outside)
        else:
            # The variables' own entries are the matrix: listing every member of their
            # relations and looking each one up (a state total has every district) was 23
            # entries per cell, most of them outside, and most of the region's build.
            owner, entry = space.entries(cells)
            rels, row = np.unique(space.entry_rel[entry], return_inverse=True)
            col, coef = owner, space.coef[entry].astype(np.float64)
        self._matrix = (row, col, coef, len(rels))
        self._slack: _Slack | None = None  # built at the first single-target solve
        self._rows_of: tuple[np.ndarray, np.ndarray] | None = None  # per cell (``apart``)
        self._singles = self._no_point = 0  # single-target solves so far; with no point
        self._ahead = np.zeros(0, dtype=np.int64)  # positions: ``singles_ahead``
        # Columns: up (0..n-1) and down (n..2n-1) per cell.
        v = values[cells].astype(np.float64)  # not the whole space: 18 MB per LP at 1M rows
        self.v = v
        self.room_up = upper[cells] - v
        self.room_down = v - lower[cells]
        self.lo = np.zeros(2 * n)
        self.hi = np.concatenate([self.room_up, self.room_down])
        self.free = free_to_move(space, cells)
        self.cost = np.tile(self._unit_cost(np.arange(n)), 2)
        self.h = region_highs()
        pass_equality_model(self.h, 2 * n, np.concatenate([row, row]),
                            np.concatenate([col, col + n]), np.concatenate([coef, -coef]),
                            np.zeros(len(rels)), self.cost, self.lo, self.hi)
        self.goal = np.zeros(n)
        self.up = np.ones(n, dtype=bool)
        self.reached = np.zeros(n, dtype=bool)
        # Targets a move either way proves (the audits' exact ones: ``local_repair``).
        self.either_way = (np.zeros(n, dtype=bool) if either_way is None
                           else either_way[cells])

    def _unit_cost(self, at: np.ndarray) -> np.ndarray:
        """Per unit moved, of the cells at positions ``at`` (each of their two columns):
        "not met" nothing (``free_to_move``), a hidden cell almost nothing, a published one
        about 1, more for a bigger value."""
        return np.where(self.free[at], 0.0,
                        np.where(self.hid[at], HIDDEN_COST, 1.0 + VALUE_COST * self.v[at]))

    def pos(self, of: np.ndarray) -> np.ndarray:
        # Position in ``cells`` (sorted), -1 if absent: a dense index over the whole space
        # cost a 2.3-million-entry fill per LP at 985,608 rows.
        n = len(self.cells)
        at = np.minimum(np.searchsorted(self.cells, of), n - 1)
        return np.where(self.cells[at] == of, at, -1)

    def _closed_rows(self, space: CellSpace, hidden: np.ndarray, region: np.ndarray,
                     held_outside: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(relations, row, column, coefficient) of ``closed``: only the relations every
        member of which is in ``region`` (with ``held_outside``, or outside it published),
        so every member of each is listed and looked up."""
        rels = sorted_unique(space.entry_rel[space.entries(self.cells)[1]])
        lens = space.ptr[rels + 1] - space.ptr[rels]
        e = np.repeat(space.ptr[rels], lens) + ramp(lens)
        row = np.repeat(np.arange(len(rels)), lens)
        col = self.pos(space.cells[e])
        at = np.minimum(np.searchsorted(region, space.cells[e]), len(region) - 1)
        out = np.zeros(len(rels), dtype=bool)
        leaves = region[at] != space.cells[e]
        if held_outside:
            leaves &= hidden[space.cells[e]]
        np.logical_or.at(out, row, leaves)
        keep = (col >= 0) & ~out[row]
        return rels, row[keep], col[keep], space.coef[e][keep].astype(np.float64)

    def targets(self, targets: np.ndarray, need: np.ndarray) -> np.ndarray:
        """The targets this region can try (inside it, hidden, with room for the goal);
        records each one's goal and direction: upwards where it has room (always, for a
        threshold goal), else down by as much (an exact target at its label's top)."""
        t = self.pos(targets)
        inside = t >= 0
        inside[inside] = self.hid[t[inside]]
        t = t[inside]
        goal = need[self.cells[t]]
        up = goal <= self.room_up[t]
        ok = up | (goal <= self.room_down[t])
        t, goal, up = t[ok], goal[ok], up[ok]
        self.goal[t], self.up[t] = goal, up
        return self.cells[t]

    def apart(self, targets: np.ndarray) -> np.ndarray:
        """Of ``targets`` (cells in the region), in order, each one sharing no relation of
        this region's model with one taken before it: a soft round's targets where they must
        not block each other (``local_repair``'s ``apart``)."""
        if self._rows_of is None:
            row, col, coef, _ = self._matrix
            self._rows_of = _by_column(len(self.cells), row, col, coef)[:2]
        start, rows = self._rows_of
        used = np.zeros(self._matrix[3], dtype=bool)
        keep = np.zeros(len(targets), dtype=bool)
        for i, t in enumerate(self.pos(targets).tolist()):
            mine = rows[start[t]:start[t + 1]]
            if not used[mine].any():
                used[mine] = keep[i] = True
        return targets[keep]

    def hold(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hold ``cells`` (those in the region) at their true values; returns what
        ``release`` needs to undo it."""
        n = len(self.cells)
        t = self.pos(cells)
        t = t[t >= 0]
        cols = np.concatenate([t, t + n]).astype(np.int32)
        old = self.hi[cols].copy()
        if len(cols):
            self.hi[cols] = 0.0
            self.h.changeColsBounds(len(cols), cols, self.lo[cols], self.hi[cols])
            self._slack = None
        return cols, old

    def release(self, held: tuple[np.ndarray, np.ndarray]) -> None:
        cols, old = held
        if len(cols):
            self.hi[cols] = old
            self.h.changeColsBounds(len(cols), cols, self.lo[cols], self.hi[cols])
            self._slack = None

    def other_way(self, cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``carry`` for an ``exact`` target moved the other way (down instead of up, or up
        instead of down), if it has the room."""
        t = self.pos(np.array([cell]))[0]
        if t < 0:
            return None
        room = self.room_down[t] if self.up[t] else self.room_up[t]
        if room < self.goal[t]:
            return None
        self.up[t] = not self.up[t]
        try:
            return self.carry(np.array([cell]), soft=False)
        finally:
            self.up[t] = not self.up[t]

    def carried(self, cell: int) -> bool:
        return bool(self.reached[self.pos(np.array([cell]))[0]])

    def carried_mask(self, cells: np.ndarray) -> np.ndarray:
        return self.reached[self.pos(cells)]

    def carry(self, targets: np.ndarray, soft: bool, warm: bool = False,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The cheapest whole-number movement carrying ``targets`` to their goals: (cells
        moved, their values there, the targets carried), or None. ``soft``: each target is
        rewarded per unit towards its goal (capped there) instead of being held at it, so
        the optimum carries every target that can be carried with the others; a second,
        hard solve (with ``warm``, from the first one's basis) then asks the cheapest
        movement carrying exactly those. It is skipped when the first point is whole and
        carried them all (it is then optimal for the second), or hides no new cell (it moves
        only hidden cells: the second could hide no fewer, and chronic absence's regions of
        5,000+ cells spent 300 ms on each), or without ``cheapest``."""
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
            t, col, other, goal = t[ok], col[ok], other[ok], goal[ok]
            if not _whole(x) or (self.cheapest and not ok.all()
                                 and not self.hid[self._movement(x) != 0.0].all()):
                x = self._solve(col, other, goal, self.hi[col], np.zeros(len(t)), integer=True,
                                warm=warm)
        else:
            single = len(t) == 1
            # A single solve with no point is not run where propagation shows it.
            held = single and self._held_by_its_relations(int(t[0]))
            x = None if held else self._solve(col, other, goal, self.hi[col],
                                              np.zeros(len(t)), integer=True)
            if single:
                self._singles += 1
                self._no_point += x is None
        if x is None:
            return None
        move = self._movement(x)
        moved = np.flatnonzero(move != 0.0)
        # Every target this point carries (not only those asked for) is claimed by it.
        self.reached |= (self.goal > 0) & (
            np.where(self.up, move >= self.goal - SUPPORT_TOL, move <= -self.goal + SUPPORT_TOL)
            | (self.either_way & (np.abs(move) >= self.goal - SUPPORT_TOL)))
        fresh = moved[~self.hid[moved]]
        self.hid[fresh] = True
        if len(fresh):  # now hidden: nearly free for the next targets
            self.written.append(self.cells[fresh])
            cols = np.concatenate([fresh, fresh + n]).astype(np.int32)
            self.cost[cols] = np.tile(self._unit_cost(fresh), 2)
            self.h.changeColsCost(len(cols), cols, self.cost[cols])
        return self.cells[moved], self.v[moved] + move[moved], self.cells[t]

    def _movement(self, x: np.ndarray) -> np.ndarray:
        """Each cell's movement at the point ``x`` (columns), solver noise taken as none."""
        n = len(self.cells)
        move = x[:n] - x[n:]
        move[np.abs(move) <= SUPPORT_TOL] = 0.0  # solver noise: the cell stays
        return move

    def _held_by_its_relations(self, t: int) -> bool:
        """Whether target ``t``'s single solve has no feasible point, shown by propagating
        its goal through the region's relations (``_Slack``). Then the solve is not run: its
        answer, None, is the LP's. Most single solves that find nothing are infeasible
        (scale-1 discipline: 180,000 of 190,000, 300 of the suppressor's 640 s of region
        LPs).

        Sound with room to spare: every value, bound and goal is a whole number and every
        coefficient is 1 or -1, so what propagation finds misses by at least a unit; the
        check asks for more than half a unit, far above the solver's tolerance, so whatever
        it skips the solver would have called infeasible. An infeasible LP runs no MILP and
        uses none of the budget, and each solve's answer depends on its model alone
        (``_run``), so the points, the cells hidden and the patterns are those of the run
        without the check.

        Checked where it pays: in a region of CHECK_CELLS cells or more (an infeasible solve
        there costs milliseconds); in a smaller one only while more than half of its earlier
        single solves had no point (so never the first): there the check costs about half
        an infeasible solve, and in a count table most single solves find a point."""
        if len(self.cells) < CHECK_CELLS and 2 * self._no_point <= self._singles:
            return False
        if self._slack is None:
            self._slack = _Slack(*self._matrix, self.hi)
        known = self._slack.known
        key = (t, bool(self.up[t]), float(self.goal[t]))
        if key not in known:
            # With the single solves still to come (``singles_ahead``), checked together.
            at = np.flatnonzero(self._ahead == t)
            ahead = (self._ahead[at[0] + 1:] if len(at) else self._ahead)[:CHECK_AHEAD - 1]
            ts = np.concatenate([[t], ahead]).astype(np.int64)
            keys = [k for k in zip(ts.tolist(), self.up[ts].tolist(), self.goal[ts].tolist(),
                                   strict=True) if k not in known]
            ts = np.array([k[0] for k in keys], dtype=np.int64)
            got = self._slack.holds_many(ts, self.goal[ts], self.up[ts])
            known.update(zip(keys, got.tolist(), strict=True))
        return known[key]

    def singles_ahead(self, cells: np.ndarray) -> None:
        """The targets (cells) whose single solves come next, in order: their checks are
        made together with the first one asked for (``_held_by_its_relations``)."""
        self._ahead = self.pos(cells)

    def maximum(self, cell: int, integer: bool, sign: float = 1.0) -> float | None:
        """The cell's largest value in this region's model (costs ignored): the LP's, or with
        ``integer`` the best whole-number point's found within MILP_NODES (a lower bound of the
        whole-number maximum); None if there is none (inf: unbounded). ``sign`` -1: the
        smallest instead (the bounds reversed)."""
        n = len(self.cells)
        h = self.h
        with self._pushed(cell, sign) as t:
            self._run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kUnbounded:
                return float("inf") * sign
            if status != highspy.HighsModelStatus.kOptimal:
                return None
            x = np.asarray(h.getSolution().col_value)
            if integer and not _whole(x):
                got = self._milp(gap=None)  # the best whole point, not a near-cheapest one
                if got is None:
                    return None
                x = got
            return float(self.v[t] + x[t] - x[t + n])

    @contextmanager
    def _pushed(self, cell: int, sign: float) -> Iterator[int]:
        """The objective pushing ``cell`` up (``sign`` 1) or down (-1), costs ignored, for
        the ``with`` block; yields its position. The costs are restored after."""
        n = len(self.cells)
        t = int(self.pos(np.array([cell]))[0])
        cost = np.zeros(2 * n)
        cost[t], cost[t + n] = -sign, sign
        cols = np.arange(2 * n, dtype=np.int32)
        self.h.changeColsCost(len(cols), cols, cost)
        try:
            yield t
        finally:
            self.h.changeColsCost(len(cols), cols, self.cost)

    def binding(self, cell: int, sign: float) -> np.ndarray:
        """The region's cells whose bounds hold ``cell`` where it is when pushed up (``sign``
        1) or down (-1) in this region's LP: each moves as far as its bound lets it (its
        column at its room) and would improve the push if it could go further (a negative
        reduced cost). Empty when the cell moves, or when the LP has no optimum."""
        n = len(self.cells)
        h = self.h
        with self._pushed(cell, sign) as t:
            self._run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return np.zeros(0, dtype=np.int64)
            sol = h.getSolution()
            x = np.asarray(sol.col_value)
            if abs(x[t] - x[t + n]) > SUPPORT_TOL:
                return np.zeros(0, dtype=np.int64)
            dual = np.asarray(sol.col_dual)
            held = (x >= self.hi - SUPPORT_TOL) & (dual < -1e-9)
            return sorted_unique(self.cells[np.flatnonzero(held) % n])

    def _run(self) -> None:
        """Solve from the logical basis (the rest point: nothing moves), not from the last
        solve's optimum. The pivots are as many (a target's path from the rest point, not
        the last target's path unwound and the new one taken), but the basis stays mostly
        slacks, so each is half the work: 201,535 rows, 42,000 region solves, 2.1 million
        pivots either way, 61 s warm and 31 s from the rest point.
        The solver's state is cleared first, not only its basis: with ``setBasis()`` alone an
        earlier solve, even an infeasible one, changed which of several tied optima a later
        one found (one infeasible solve more or less changed the pattern of scale-1
        graduation), so skipping a solve (``_held_by_its_relations``) would have changed
        patterns. Now each solve's answer depends on the model alone."""
        self.h.clearSolver()
        run(self.h)

    def _solve(self, col: np.ndarray, other: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               cost: np.ndarray, integer: bool, warm: bool = False) -> np.ndarray | None:
        """Solve with the targets' columns bounded [lo, hi] at ``cost`` and their opposite
        columns at 0; the model is restored afterwards. ``warm``: from the basis the last
        solve left, not from the rest point (``_run``): a soft round's second solve (``carry``),
        whose optimum is near the soft round's. Its answer then depends on that solve too,
        which is itself solved from the rest point, so still on the region's model alone."""
        cols = np.concatenate([col, other]).astype(np.int32)
        col_lo = np.concatenate([lo, np.zeros(len(other))])
        col_hi = np.concatenate([hi, np.zeros(len(other))])
        h = self.h
        h.changeColsBounds(len(cols), cols, col_lo, col_hi)
        h.changeColsCost(len(col), col.astype(np.int32), cost.astype(np.float64))
        try:
            if warm:
                run(h)
            else:
                self._run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            x = np.asarray(h.getSolution().col_value)
            if integer and not _whole(x):
                lo_now, hi_now = self.lo.copy(), self.hi.copy()  # the model's bounds now
                lo_now[cols], hi_now[cols] = col_lo, col_hi
                dived = self._dive(x, lo_now, hi_now)
                if dived is not None:
                    return dived
                if self.budget[0] <= 0:
                    self.refused = True
                    return None
                self.budget[0] -= 1
                return self._milp()  # the model as it is now: the targets held at goal
            return x
        finally:
            h.changeColsBounds(len(cols), cols, self.lo[cols], self.hi[cols])
            h.changeColsCost(len(col), col.astype(np.int32), self.cost[col])

    def _dive(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        """A whole point from the fractional optimum ``x`` of the current model (bounds
        ``lo``/``hi``), by diving: fix the fractional column nearest a whole number there and
        re-solve from the last basis, up to DIVE_STEPS times (AUDIT_DIVE_STEPS without
        ``cheapest``); None if a step has no optimum.
        The bounds are restored after. On 40 regions' MILPs at 201,535 rows it found a whole
        point in 1-4 steps every time, at the LP's own cost (so no worse than the MILP's,
        which stops at MILP_GAP), in 0.7 s for the 40 against 18 s."""
        h = self.h
        fixed: list[int] = []
        try:
            for _ in range(DIVE_STEPS if self.cheapest else AUDIT_DIVE_STEPS):
                frac = np.abs(x - np.round(x))
                f = np.flatnonzero(frac > 1e-6)
                if not len(f):
                    return np.round(x)
                j = int(f[np.argmin(frac[f])])  # the first of the nearest: deterministic
                at = np.array([float(np.round(x[j]))])
                h.changeColsBounds(1, np.array([j], dtype=np.int32), at, at)
                fixed.append(j)
                run(h)
                if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                    return None
                x = np.asarray(h.getSolution().col_value)
            return np.round(x) if _whole(x) else None
        finally:
            if fixed:
                cols = np.array(fixed, dtype=np.int32)
                h.changeColsBounds(len(cols), cols, lo[cols], hi[cols])

    def _milp(self, gap: float | None = MILP_GAP) -> np.ndarray | None:
        """A fractional vertex is no proof about whole numbers: the current model as a MILP
        (small: one region) on a copy (the LP keeps its basis), node-limited; None sends the
        targets on to the LP loop. ``gap``: the relative gap it stops at (None: HiGHS's)."""
        # Any whole-number point carrying the targets is a witness; the cheapest only hides
        # fewer cells. Near-optimal is enough (``gap``): proving the last 0.01% took most of
        # the time. Out of nodes with a point found: still a witness (witness.verify
        # re-checks every point on the final pattern); without one the targets go on.
        return whole_point(self.h.getLp(), gap, MILP_NODES)


def _whole(x: np.ndarray) -> bool:
    return bool(np.abs(x - np.round(x)).max(initial=0.0) <= 1e-6)


class _Rewitness:
    """Region LPs over the hidden cells only (nothing new may be hidden), cached per region
    and kept in step with the cells published since they were built: new witnesses for the
    targets a cell to be published would leave without one (``unhide``)."""

    def __init__(self, space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                 need: np.ndarray, exact: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 budget: list[int], candidate: np.ndarray) -> None:
        self.space, self.values, self.hidden, self.need = space, values, hidden, need
        self.candidate = candidate
        self.exact = exact
        self.lower, self.upper, self.budget = lower, upper, budget
        small, whole = region_codes(space, small=True), region_codes(space)
        # Narrowed first where a dimension is wide (``near_codes``), as in ``local_repair``.
        self.regions = tuple(r for regions in (small, whole)
                             for r in (near_codes(space, hidden, regions), regions)
                             if r is not None)
        self.cache: dict[tuple[tuple[int, ...], ...], tuple[_Region, list[int]]] = {}
        self.published: list[int] = []  # cells published since the start, in order
        self.solves = 0
        # Small patterns: when the regions give no point, an LP over every hidden cell.
        self.whole = int(hidden.sum()) <= UNHIDE_WHOLE_MAX

    def _region(self, key: tuple[tuple[int, ...], ...]) -> _Region:
        got = self.cache.get(key)
        if got is None:
            cells = _region_cells(self.space, key) if key else np.flatnonzero(self.hidden)
            region = _Region(self.space, self.values, self.hidden, cells, self.lower,
                             self.upper, ~self.hidden, self.budget)
            # Points that move cells which may yet be published die with them: moving a
            # candidate costs more than moving a cell that stays hidden (a target).
            n = len(region.cells)
            region.cost[:] = np.tile(np.where(self.candidate[region.cells], CANDIDATE_COST,
                                              HIDDEN_COST), 2)
            cols = np.arange(2 * n, dtype=np.int32)
            region.h.changeColsCost(len(cols), cols, region.cost)
            got = (region, [len(self.published)])
            self.cache[key] = got
        region, seen = got
        if seen[0] < len(self.published):  # cells published since it was built
            region.hold(np.array(self.published[seen[0]:], dtype=np.int64))
            seen[0] = len(self.published)
        return region

    def point(self, target: int, without: int) -> tuple[np.ndarray, np.ndarray] | None:
        """A whole-number point carrying ``target`` to its goal that moves only hidden cells
        and not ``without``: (cells moved, their values there), or None."""
        coords = np.unravel_index(target, self.space.shape)
        keys = list(dict.fromkeys(tuple(regions[d][int(coords[d])] for d in range(len(coords)))
                                  for regions in self.regions))  # a near key may be its tier's
        if self.whole:
            keys.append(())  # every hidden cell: the audit's own LP
        for key in keys:
            region = self._region(key)
            held = region.hold(np.array([without], dtype=np.int64))
            self.solves += 1
            try:
                if not len(region.targets(np.array([target], dtype=np.int64), self.need)):
                    continue
                got = region.carry(np.array([target], dtype=np.int64), soft=False)
                if got is None and self.exact[target]:
                    got = region.other_way(target)
                if got is not None:
                    return got[0], got[1]
            finally:
                region.release(held)
        return None


def witness_index(wit: Witnesses, is_target: np.ndarray,
                  ) -> tuple[list[np.ndarray], defaultdict[int, list[int]], np.ndarray]:
    """(per witness the targets it claims, sorted; per cell the witnesses moving it, in
    order; per cell how many witnesses claim it), for ``unhide``. Built with sorts over all
    the entries at once: a loop over the witnesses was 6 s of the 1M-row table's 20 s pass."""
    moving = np.abs(wit.dx) > SUPPORT_TOL
    moved, mover = _pairs(wit.cell[moving], wit.wid[moving])
    users: defaultdict[int, list[int]] = defaultdict(list)  # ``unhide`` adds witnesses
    if len(moved):
        at = np.flatnonzero(np.diff(moved)) + 1
        users.update(zip(moved[np.r_[0, at]].tolist(),
                         (ws.tolist() for ws in np.split(mover, at)), strict=True))
    target = is_target[wit.claim_cell]
    claimer, claimed = _pairs(wit.claim_wid[target], wit.claim_cell[target])
    claims = np.split(claimed, np.searchsorted(claimer, np.arange(1, wit.n))) if wit.n else []
    return claims, users, np.bincount(claimed, minlength=len(is_target)).astype(np.int64)


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs (a[i], b[i]), sorted by ``a`` then ``b``."""
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]


def unhide(space: CellSpace, values: np.ndarray, hidden: np.ndarray, candidates: np.ndarray,
           targets: np.ndarray, need: np.ndarray, rule: np.ndarray,
           threshold: int | np.ndarray, lower: np.ndarray, upper: np.ndarray,
           wit: Witnesses, valid: np.ndarray,
           max_solves: int) -> tuple[np.ndarray, Witnesses]:
    """Publish hidden ``candidates`` (complementary cells, in the order given) one at a time
    while every target keeps a witness; returns (cells published, the witnesses: each one
    still valid plus the new ones). ``hidden`` is updated in place; ``valid`` marks the
    witnesses of ``wit`` valid on it (``witness.verify``); ``need``, ``rule`` and
    ``threshold`` are the targets' goals as in ``local_repair`` and ``Witnesses``.

    Publishing a cell kills the witnesses moving it; a target left without a live witness
    gets a new one from an LP over the hidden cells of its region (``_Rewitness``: nothing
    new is hidden, the candidate stays at its value). If every such target gets one, the
    cell is published; else it stays hidden (the new witnesses are kept: they hold on the
    pattern as it is). The caller re-checks every witness on the final pattern
    (``witness.verify``) and audits any target without one, so this cannot make a pattern
    pass that would not. Targets that start without a valid witness (proven by the LP audit
    alone, not a stored point) get one first; the hidden components of those that get none
    are left as they are. Stops after ``max_solves`` LP solves: a count, not CPU time, so
    the same table publishes the same cells again on every run (under a CPU-time limit it
    did not: the same work takes more CPU on a loaded machine, so it stopped earlier)."""
    wit = wit.select(valid)
    is_target = np.zeros(space.size, dtype=bool)
    is_target[targets] = True
    # Per witness the targets it claims and whether it still holds; per cell the witnesses
    # moving it; per target how many live witnesses claim it.
    claims, users, support = witness_index(wit, is_target)
    live = [True] * wit.n

    def add(moved: np.ndarray, claimed: np.ndarray) -> None:
        w = len(claims)
        claims.append(claimed)
        live.append(True)
        for c in moved.tolist():
            users[c].append(w)
        support[claimed] += 1

    points: list[tuple[np.ndarray, np.ndarray]] = []
    candidate = np.zeros(space.size, dtype=bool)
    candidate[candidates] = True
    rw = _Rewitness(space, values, hidden, need, rule == EXACT, lower, upper,
                    [MILP_BUDGET // 4], candidate)

    def fresh(target: int, without: int) -> bool:
        """A new witness for ``target`` not moving ``without``; whether one was found."""
        got = rw.point(target, without)
        if got is None:
            return False
        one = Witnesses()
        one.add_points([got], values, rule, threshold)
        claimed = sorted_unique(one.claim_cell[is_target[one.claim_cell]])
        points.append(got)
        add(got[0], claimed)
        return bool(np.isin(target, claimed))

    # Targets proven by the LP audit alone: their proofs are unknown, so their hidden
    # components stay as they are if no stored point can stand in.
    lost = [int(t) for t in targets if support[t] == 0 and not fresh(int(t), -1)]
    pinned = np.zeros(space.size, dtype=bool)
    if lost:
        # Imported here: audit imports this module.
        from datashare.disclosure.audit import components

        cells, labels, _ = components(space, hidden)
        at = np.searchsorted(cells, np.array(lost, dtype=np.int64))
        pinned[cells[np.isin(labels, labels[at])]] = True
    # Hidden cells per relation: publishing a cell that leaves one hidden cell in a
    # relation gives that cell away by subtraction, so it is not tried.
    by_cell, start = space.by_cell
    n_hidden = np.bincount(space.entry_rel[hidden[space.cells]], minlength=space.n_relations)
    published: list[int] = []
    for c in candidates.tolist():
        if rw.solves > max_solves:
            break
        if pinned[c] or not hidden[c]:
            continue
        rels = space.entry_rel[by_cell[start[c]:start[c + 1]]]
        pair = rels[n_hidden[rels] == 2]
        if len(pair):
            members = np.concatenate([space.cells[space.ptr[r]:space.ptr[r + 1]] for r in pair])
            if (hidden[members] & is_target[members]).any():
                continue  # the target's value would follow by subtraction
        dying = [w for w in users.get(c, ()) if live[w]]
        loss: dict[int, int] = defaultdict(int)
        for w in dying:
            for t in claims[w].tolist():
                loss[t] += 1
        ok = True
        for t in sorted(t for t, k in loss.items() if support[t] <= k):
            # A new point found for an earlier target may carry this one too.
            if support[t] <= loss[t] and not fresh(t, c):
                ok = False
                break
        if not ok:
            continue
        for w in dying:
            live[w] = False
            support[claims[w]] -= 1
        hidden[c] = False
        n_hidden[rels] -= 1
        rw.published.append(c)
        published.append(c)
    keep = np.array(live, dtype=bool)
    out = wit.select(keep[:wit.n])
    extra = Witnesses()
    extra.add_points([p for p, k in zip(points, keep[wit.n:], strict=True) if k], values,
                     rule, threshold)
    out.extend(extra)
    return np.array(published, dtype=np.int64), out
