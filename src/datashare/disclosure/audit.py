"""The LP audit: what an attacker can infer about each suppressed cell from what is published.

For a suppressed cell the feasible values, given every published cell, every relation and
non-negativity (plus any published bounds, e.g. a top/bottom-coded numerator), form an
interval [min, max]. Rules:

* ``threshold``: max >= the policy's minimum N (the cell cannot be proven small); this also
  makes min < max, so the cell is not exact either;
* ``exact``: max > min (the cell cannot be derived exactly).

Scale: only relations that touch suppressed cells matter, and suppressed cells fall into
independent connected components (cells linked by shared relations), solved in batches.
Most cells are certified without a dedicated LP: one solve that pushes every target towards
its goal at once gives a feasible point, and any cell that reaches its goal there is proven
protected (a feasible point is a witness). Only cells left over get their own max/min LP,
which is also how failures get their exact interval. With ``intervals=True`` every
suppressed cell gets its exact [min, max] (two LPs each; for reports on small tables).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from datashare.arrays import sorted_unique
from datashare.disclosure import local as region_lps  # its THREADS, read when used
from datashare.disclosure.blocks import block_repair
from datashare.disclosure.certify import certify
from datashare.disclosure.cores import threads
from datashare.disclosure.errors import DisclosureError
from datashare.disclosure.local import local_repair
from datashare.disclosure.lp import INF, BatchLP, run
from datashare.disclosure.table import CellSpace
from datashare.disclosure.witness import (  # the rules NONE/EXACT/THRESHOLD live there
    EXACT,
    NONE,
    THRESHOLD,
    MoveTable,
    Witnesses,
    evaluate,
    goal_at,
    move_table,
    plan_cubes,
    verify,
)

TOL = 1e-5
INT_TOL = 1e-5  # a proof must be an integer point (counts are whole numbers)
FEAS_TOL = 1e-5  # a stored point must satisfy every relation and bound this closely
LOCAL_HOPS = (2, 4)  # neighbourhood sizes (relations away) tried before the whole component
LOCAL_SHARE = 20  # local LPs first when targets are fewer than 1/LOCAL_SHARE of hidden cells
# The file audit's rounds over a component after the first start from the last round's basis
# (``_audit_batch``); False: each from scratch, as the suppressor's own audit does.
WARM_ROUNDS = True
BATCH_COLS = 40_000  # components are packed into LPs of about this many variables
# ``whole_start`` splits a table below its hierarchy's top above this many hidden cells
# (below it the whole LP takes a second or two), in pieces of about SPLIT_BATCH_COLS cells:
# smaller than BATCH_COLS, so the threads share the work evenly.
SPLIT_MIN = 20_000
SPLIT_BATCH_COLS = 10_000
# A restriction's region LPs (``restricted_proofs``) first run on a spread sample of this
# many targets, and go on to the rest only if the sample proves at least PROBE_SHARE of it.
PROBE_TARGETS = 1_000
PROBE_SHARE = 0.5


@dataclass
class Failure:
    cell: int
    value: int
    low: float
    high: float
    rule: str


@dataclass
class AuditResult:
    suppressed: int
    targets: int
    components: int
    largest_component: int
    lp_solves: int
    seconds: float
    # Targets proven by a whole-number feasible point checked exactly: a stored witness, or
    # (publisher side) the start point and the two pushed from it (``_spread_proofs``).
    witnessed: int = 0
    certified: int = 0  # targets proven by a hypercube of suppressed cells (no LP)
    local: int = 0  # targets proven by an LP over hidden cells near them (see LOCAL_HOPS)
    # Publisher side, ``threshold``: small cells proven not exact by the threshold audit's
    # proof (a whole point at the goal) and the start point below the goal.
    implied: int = 0
    # Publisher side: targets proven by the suppressor's own witnesses, each re-verified as a
    # whole point of the published file's model (``api.audit_table``'s ``hints``).
    hinted: int = 0
    start_seconds: float = 0.0  # publisher side: finding a whole-number feasible point
    # Publisher side: that point (``whole_start``), for a re-audit of the same pattern.
    start_point: np.ndarray | None = field(default=None, repr=False, compare=False)
    # The whole points the region LPs found, each verified exactly (cells moved, their
    # values), for another audit of the same table to re-verify under its own rule.
    points: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, repr=False,
                                                        compare=False)
    failures: list[Failure] = field(default_factory=list)
    intervals: dict[int, tuple[float, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def proof_methods(self) -> dict[str, int]:
        """How each checked small cell was proven: a hypercube of hidden cells, a stored
        (re-verified) witness, an LP over its neighbourhood, or the component LPs (with the
        MILP where an LP optimum was fractional); and how many failed."""
        lps = (self.targets - self.certified - self.witnessed - self.local - self.implied
               - self.hinted - len(self.failures))
        return {"hypercube": self.certified, "stored_witness": self.witnessed,
                "suppressor_witness": self.hinted,
                "local_lp": self.local, "threshold_proof": self.implied,
                "component_lp": max(lps, 0), "failed": len(self.failures)}

    def summary(self) -> dict[str, object]:
        return {
            "suppressed_cells": self.suppressed,
            "protected_cells_checked": self.targets,
            "components": self.components,
            "largest_component": self.largest_component,
            "lp_solves": self.lp_solves,
            "proven_by_stored_points": self.witnessed,
            "proven_by_hypercubes": self.certified,
            "proven_by_local_lps": self.local,
            "proven_by_threshold_proofs": self.implied,
            "proven_by_suppressor_witnesses": self.hinted,
            "seconds": round(self.seconds, 3),
            "failures": len(self.failures),
            "passed": self.ok,
        }


@dataclass
class Witness:
    """A feasible point of an audit LP: values for ``cells`` (suppressed then), truth elsewhere."""

    cells: np.ndarray
    x: np.ndarray


def need_to_move(rule: np.ndarray, goal: float | np.ndarray, values: np.ndarray) -> np.ndarray:
    """How far each target must be able to move: up to its goal (threshold), or by 1."""
    return np.where(rule == THRESHOLD, np.maximum(goal - values, 1), 1).astype(np.float64)


def integral(x: np.ndarray) -> bool:
    """Whether every coordinate is a whole number: only such a point is a proof against an
    attacker who knows counts are integers (an LP point at 8.5 says nothing about 8)."""
    return bool(np.all(np.abs(x - np.round(x)) <= INT_TOL))


def verify_witnesses(
    space: CellSpace,
    values: np.ndarray,
    suppressed: np.ndarray,
    rule: np.ndarray,
    threshold: int | np.ndarray,
    witnesses: list[Witness],
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> np.ndarray:
    """Cells proven by a stored feasible point that is still feasible for ``suppressed``.

    A point found while fewer cells were hidden stays feasible when more are: the newly hidden
    cells keep their true values, so every relation still adds up and every bound holds. This
    is checked here rather than assumed: each point must hide only cells that are suppressed
    now, satisfy every relation and bound (to the LP's tolerance), and reach the goal, which
    makes it a feasible point of the final audit's LP, i.e. the same proof that LP would give.
    """
    proven = np.zeros(space.size, dtype=bool)
    lo = np.zeros(space.size) if lower is None else lower.astype(np.float64)
    hi = np.full(space.size, INF) if upper is None else upper.astype(np.float64)
    base = values.astype(np.float64)
    for w in witnesses:
        if not suppressed[w.cells].all():
            continue
        if (w.x < lo[w.cells] - FEAS_TOL).any() or (w.x > hi[w.cells] + FEAS_TOL).any():
            continue
        if not integral(w.x):
            continue
        point = base.copy()
        point[w.cells] = w.x
        if np.abs(space.relation_sums(point)).max(initial=0.0) > FEAS_TOL:
            continue
        r = rule[w.cells]
        up = w.x >= goal_at(threshold, w.cells) - TOL
        moved = np.abs(w.x - base[w.cells]) >= TOL
        ok = np.where(r == THRESHOLD, up, np.where(r == EXACT, moved, False))
        proven[w.cells[ok]] = True
    return proven


def components(space: CellSpace, suppressed: np.ndarray, skip: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """(suppressed cells, component label of each, number of components); ``skip`` (per
    relation): relations that link nothing (``_split_start``'s cut)."""
    cells = np.flatnonzero(suppressed)
    pos = np.full(space.size, -1, dtype=np.int64)
    pos[cells] = np.arange(len(cells))
    hit = suppressed[space.cells]
    if skip is not None:
        hit &= ~skip[space.entry_rel]
    e_cell = pos[space.cells[hit]]
    e_rel = space.entry_rel[hit]
    same = e_rel[1:] == e_rel[:-1]  # consecutive suppressed members of one relation
    a, b = e_cell[:-1][same], e_cell[1:][same]
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(cells), len(cells)))
    n, labels = connected_components(graph, directed=False)
    return cells, labels, int(n)


def audit(
    space: CellSpace,
    values: np.ndarray,
    suppressed: np.ndarray,
    rule: np.ndarray,
    threshold: int | np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    intervals: bool = False,
    only: np.ndarray | None = None,
    truth: bool = True,
    diagnose: bool = True,
    witnesses: list[Witness] | None = None,
    cubes: bool = False,
    fixable: np.ndarray | None = None,
    start_point: np.ndarray | None = None,
    find_start: bool = True,
    region_proofs: bool = False,
    known_points: list[tuple[np.ndarray, np.ndarray]] | None = None,
    deferrable: np.ndarray | None = None,
) -> AuditResult:
    """Audit ``suppressed`` cells; ``rule`` (per cell: NONE/EXACT/THRESHOLD) says which must hold.

    ``only`` (a cell mask) restricts the targets checked (the engine's repair loop re-checks
    only cells not yet proven; adding suppression never weakens a proof).
    ``diagnose=False`` skips the per-cell LPs: cells the batched rounds could not prove are
    reported as failures without an interval (the engine's repair loop only needs to know
    which cells to cover more; the final audit always diagnoses).
    ``truth=False`` is the publisher-side audit: suppressed values are unknown (``values`` is
    read only at published cells) and a feasible point found by the LP stands in for them.
    ``witnesses`` (a list, with ``truth=True``) collects every feasible point that proved a
    cell, for ``verify_witnesses`` to re-check against a later, larger pattern.
    ``cubes`` (publisher side): before the LPs, look for hypercubes of hidden cells that
    carry each target to its goal from a feasible point near the centre of the published
    table's feasible set (``witness.plan_cubes``): the point plus the cube's movement is a
    feasible point where the target reaches its goal, the proof the LP would give.
    Off by default (see ``api.audit_table``).
    ``region_proofs`` (truth side): the targets the batched LPs leave get the suppressor's
    region and block LPs (each point re-verified) before the per-cell LPs over the whole
    component, as the publisher side always does.
    ``known_points`` (publisher side): whole points of the same published table another
    audit found (its ``result.points``), re-verified here (every relation and bound, from
    this audit's start point) under this audit's rule before any LP. The threshold audit's
    region points move many small cells that sit at their label's top, which is what the
    exact audit must show for them (scale-1 enrollment: 35,809 of its 64,716 targets, in
    0.9 s, against 47.5 s of region LPs for all of them).
    ``deferrable`` (a cell mask; publisher side): cells whose failure the caller judges
    again against their exact goals (``api._regoal_failures``). Those the cheap steps and
    the local LPs leave are reported failing (no interval) instead of going to the LPs over
    the whole component: at scale-1 enrollment those LPs took 80 s of
    a 260 s audit for 33 cells, and all 33 were then settled by their exact goals (the
    labels determine them, or a region LP proves the lower goal). A cell they do not
    settle gets the whole-component LPs in the re-audit, so nothing is proven that was not.
    ``fixable`` (a cell mask; rate tables: the numerators): an LP point that is not a
    whole-number point gets a second chance before it is dropped or a MILP is solved: its
    whole-number ``fixable`` coordinates are held, the other cells re-solved as an LP (targets
    it carried kept at their goals), and the result, if whole, is checked exactly (every
    relation, every bound) and harvested. In the rate space the vertices are half-integral in
    the denominators and "not met" only, and this LP is whole-number for most of them
    (dropout table: 38 of 40), so most cells skip their MILP; without it every cell of a
    rate table fell back to its own LP and MILP.
    """
    start = time.perf_counter()
    publisher_start = regions_early = cubed = False
    publisher = not truth  # ``truth`` becomes True below once a start point stands in
    cells, labels, n_comp = components(space, suppressed)
    target_mask = suppressed & (rule != NONE)
    if only is not None:
        target_mask &= only
    result = AuditResult(
        suppressed=len(cells),
        targets=int(target_mask.sum()),
        components=n_comp,
        largest_component=int(np.bincount(labels).max()) if len(cells) else 0,
        lp_solves=0,
        seconds=0.0,
    )
    if not len(cells):
        result.seconds = time.perf_counter() - start
        return result
    lo = np.zeros(space.size) if lower is None else lower.astype(np.float64)
    hi = np.full(space.size, INF) if upper is None else upper.astype(np.float64)
    if not truth and not intervals and target_mask.any():
        # The publisher's side knows no true values, but any whole-number feasible point of
        # the published table serves as well: "not exact" is two whole points that differ,
        # "not small" one whole point at the goal. With one, the rest is the truth side's
        # audit with that point as the truth: region LPs from it first, then (when many
        # targets are left) two more whole points with the targets pushed up and down,
        # hypercubes, the LPs near what is left, and the component LPs last.
        start_at = time.perf_counter()
        point = start_point if start_point is not None or not find_start else whole_start(
            space, values, suppressed, lo, hi)
        if point is not None:
            result.start_seconds = time.perf_counter() - start_at
            values, truth, publisher_start = point, True, True
            witnesses = None
            # The point itself proves every threshold target it holds at its goal (a
            # vertex puts many small cells at their label's top).
            todo = np.flatnonzero(target_mask)
            at_goal = (rule[todo] == THRESHOLD) & (
                values[todo] >= goal_at(threshold, todo) - TOL)
            target_mask = target_mask.copy()
            target_mask[todo[at_goal]] = False
            result.witnessed += int(at_goal.sum())
            if known_points:
                got = target_mask & _point_proofs(space, point, suppressed, rule, threshold,
                                                  lo, hi, known_points)[0]
                target_mask &= ~got
                result.witnessed += int(got.sum())
            # Then the region LPs from that point (a district's schools, a school's groups,
            # every other hidden cell held at the point): small LPs, each point re-verified
            # exactly. Statewide the hidden cells form one component, and every LP over it
            # is an interior-point solve of minutes (201,535 rows: 143,600 hidden cells,
            # ~80 s each; the rounds, the pushed points and the re-audit made 630 s), where
            # the regions proved every target of the exact audit (70,412) in 26 s. In a
            # rate space (``fixable`` given: the numerators) a region LP often needs its
            # MILP or a block LP, so there, with many targets, the pushed points come first
            # and the regions after the rounds (5% rate table, 6,545 rows: 21.5 s, against
            # 184 s with the regions first; dropout at scale 0.1: 89-99 s, against over
            # 480 s). With few left (the count spaces proved the rest first:
            # ``api._audit_after``) the regions come first there too: chronic absence at
            # scale 0.1, 3,940 of 3,954 group sizes in 130 s, where the pushed points (an LP
            # over the whole rate space) proved 2,334 and the re-audit the rest.
            todo = np.flatnonzero(target_mask)
            regions_early = fixable is None or len(todo) * LOCAL_SHARE < len(cells)
            if regions_early:
                # Hypercubes before them: no LP, and they take the easy targets the regions'
                # soft LPs spent most on (scale-1 enrollment: 26,662 of 85,073 threshold
                # targets in 5 s; the regions' LPs for the rest took 78 s instead of 98).
                done = _cube_proofs(space, point, suppressed, rule, threshold, lo, hi, todo,
                                    both_ways=True)
                target_mask[todo[done]] = False
                result.certified, cubed = int(done.sum()), True
                todo = todo[~done]
                if len(todo):
                    got, found = _region_proofs(space, point, suppressed, rule, threshold, lo,
                                                hi, todo, file_audit=True)
                    result.points += found
                    target_mask[todo[got[todo]]] = False
                    result.local += int(got.sum())
            todo = np.flatnonzero(target_mask)
            if len(todo) * LOCAL_SHARE >= len(cells) or not regions_early:
                # Many left (or a rate space, before its regions): two more whole points,
                # every target pushed up, then down: a threshold target at its goal in one
                # is proven, an exact one that differs between two is not exact. (Few left
                # go to the LPs near them below.)
                proven = _spread_proofs(space, suppressed, cells, labels, lo, hi, point, rule,
                                        threshold, todo)
                target_mask[proven] = False
                result.witnessed += len(proven)
            if fixable is None:
                # A fractional LP point gets its whole-number repair (see ``fixable``).
                fixable = np.ones(space.size, dtype=bool)
    if truth and not intervals and not cubed:
        # Cheap certificates first: a hypercube of suppressed cells that carries a target to
        # its goal is a feasible point of the LP below; only the rest need the solver.
        todo = np.flatnonzero(target_mask)
        done = _cube_proofs(space, values, suppressed, rule, threshold, lo, hi, todo,
                            both_ways=publisher_start)
        target_mask = target_mask.copy()
        target_mask[todo[done]] = False
        result.certified = int(done.sum())
    if truth and not intervals and 0 < target_mask.sum() * LOCAL_SHARE < len(cells):
        # Few targets in a big component (the repair loop's re-checks): first an LP over the
        # hidden cells a few relations away from them, every other hidden cell held at its
        # true value. Its feasible points are feasible points of the whole component, so a
        # cell it proves is proven; the rest go to the whole component below.
        target_mask = target_mask.copy()
        for hops in LOCAL_HOPS:
            todo = np.flatnonzero(target_mask)
            if not len(todo):
                break
            near = _neighbourhood(space, suppressed, todo, hops)
            if len(near) * 2 > len(cells):
                # Not local any more: its rounds (each an LP over most of the component,
                # going on while they prove 2% of what is left) cost what the component's
                # own rounds below do (rate table at scale 0.1: ~10 LPs of 3.5 s).
                break
            inside = np.zeros(space.size, dtype=bool)
            inside[near] = True
            outside = space.relation_sums(np.where(inside, 0, values))
            proven = _audit_batch(space, values, outside, near, rule, threshold, lo, hi,
                                  target_mask, False, True, False, result, witnesses,
                                  prove_only=True, fixable=fixable)
            target_mask[proven] = False
            result.local += len(proven)
    if deferrable is not None and publisher_start:
        # Whatever the cheap steps and the local LPs left, many targets or few (with many,
        # the local LPs are skipped): the LPs over the whole component cost most where they
        # are left the most (assessment participation at scale 0.1: 10,531 group sizes left,
        # 381 s of LP rounds, against 18 s when 9,844 were left and deferred).
        late = np.flatnonzero(target_mask & deferrable)
        for c in late.tolist():
            result.failures.append(Failure(c, int(values[c]), float("nan"), float("nan"),
                                           "threshold" if rule[c] == THRESHOLD else "exact"))
        target_mask[late] = False
    # Only components holding a target (or every component, for full intervals) need an LP.
    wanted = target_mask[cells] if not intervals else np.ones(len(cells), dtype=bool)
    comps_needed = sorted_unique(labels[wanted])
    need = np.zeros(n_comp, dtype=bool)
    need[comps_needed] = True
    keep = need[labels]
    cells, labels = cells[keep], labels[keep]
    order = np.argsort(labels, kind="stable")
    cells, labels = cells[order], labels[order]
    # The published part of every relation, computed once: sum(coef * published value).
    pub_sums = space.relation_sums(np.where(suppressed, 0, values))
    cube_ctx = None
    if cubes and not truth and not intervals and target_mask.any():
        cube_ctx = (move_table(space), suppressed)
    for batch in _batches(labels):
        _audit_batch(
            space, values, pub_sums, cells[batch], rule, threshold, lo, hi,
            target_mask, intervals, truth, diagnose, result,
            witnesses if truth else None, cube_ctx=cube_ctx, fixable=fixable,
            # (The publisher side may have run its region LPs above, from the same point.)
            regions=suppressed if region_proofs or (publisher_start and not regions_early)
            else None, warm=WARM_ROUNDS and publisher, file_audit=publisher_start,
        )
    result.failures.sort(key=lambda f: f.cell)
    result.seconds = time.perf_counter() - start
    return result


# The MILP for a whole starting point, when repairs fail: past this many branch-and-bound
# nodes the audit goes on without one (a node count, not seconds: the same verdict on every
# run, whatever the load).
WHOLE_START_NODES = 1_000


def whole_start(space: CellSpace, values: np.ndarray, suppressed: np.ndarray,
                lower: np.ndarray | None = None,
                upper: np.ndarray | None = None) -> np.ndarray | None:
    """A whole-number feasible point of the published table: ``values`` at published cells,
    whole numbers at the hidden ones, every relation and bound satisfied exactly (checked in
    integers here, never trusted from the solver); None if none was found within
    WHOLE_START_NODES branch-and-bound nodes. One
    point serves several audits of the same pattern (``audit(start_point=...)``).

    Per batch of components: an LP vertex, which on these tables is mostly whole; its
    fractional cells re-solved with the whole ones held (``_whole_point``), then with the
    hidden cells near them freed too; a MILP over the batch last. A big table is first
    split below the top of its hierarchy (``_split_start``), the whole LP only its
    fallback."""
    lo = np.zeros(space.size) if lower is None else lower.astype(np.float64)
    hi = np.full(space.size, INF) if upper is None else upper.astype(np.float64)
    if int(suppressed.sum()) > SPLIT_MIN:
        split = _split_start(space, values, suppressed, lo, hi)
        if split is not None:
            return split
    cells, labels, _ = components(space, suppressed)
    if not len(cells):
        return None
    point = np.where(suppressed, 0, values).astype(np.int64)
    pub_sums = space.relation_sums(point)
    for batch in _component_batches(cells, labels):
        got = _whole_batch(space, pub_sums, batch, lo, hi, suppressed)
        if got is None:
            return None
        point[got[0]] = got[1]
    return point


def _split_start(space: CellSpace, values: np.ndarray, suppressed: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """``whole_start`` in pieces: the hidden cells at the top of the hierarchy (the state's)
    left out, every relation holding one of them dropped, the rest falls apart into one
    component per district (its schools and itself), each solved on its own, in up to
    ``local.THREADS`` threads (those with a core free: ``cores.threads``; HiGHS lets go of
    the GIL); then each hidden top cell is the sum its relation along the hierarchy gives
    it. The point is checked against every relation and bound in integers; None (the caller
    solves the whole LP) when the table has no hierarchy three levels deep, a piece has no
    whole point, or the check fails (a hidden state cell labelled below the threshold that
    the districts' sum overshoots, say).

    Why it is sound to drop those relations: each holds exactly one hidden top cell as its
    total (the state's cell, its children the districts'), or only top cells (the state's
    own groups and grades). Setting each hidden top cell to the sum of its children makes
    the first kind hold; the second then holds because it is the sum over the districts of
    the same relation at the district level, which the pieces keep. A published top cell's
    relation along the hierarchy is kept, and links the districts it sums (one piece).
    The check stands behind the argument anyway. At 985,608 rows: 34.0 -> 9.4-10.3 s (two
    threads; 15.7 s in one), 703 pieces."""
    hier = _hierarchy(space)
    if hier is None:
        return None
    d, roots = hier
    top = np.zeros(space.size, dtype=bool)
    top.reshape(space.shape)[(slice(None),) * d + (roots,)] = True
    top &= suppressed
    if not top.any():
        return None
    cut = np.zeros(space.n_relations, dtype=bool)
    cut[space.entry_rel[top[space.cells]]] = True
    inner = suppressed & ~top
    cells, labels, n = components(space, inner, skip=cut)
    if n < 2:
        return None
    point = np.where(suppressed, 0, values).astype(np.int64)
    pub_sums = space.relation_sums(point)

    def piece(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return _whole_batch(space, pub_sums, batch, lo, hi, inner, cut=cut)

    batches = list(_component_batches(cells, labels, SPLIT_BATCH_COLS))
    with (threads(min(region_lps.THREADS, len(batches))) as n,
          ThreadPoolExecutor(n, thread_name_prefix="start-lp") as pool):
        pieces = list(pool.map(piece, batches))
    for got in pieces:
        if got is None:
            return None
        point[got[0]] = got[1]
    # Each hidden top cell: the total of a relation along the hierarchy, from its children.
    rels = np.flatnonzero(cut & (space.rel_dim == d))
    total = space.cells[space.ptr[rels]]
    rels, total = rels[top[total]], total[top[total]]
    point[total] = 0
    point[total] = -space.relation_sums(point)[rels]
    if (point[suppressed] < np.ceil(lo[suppressed] - INT_TOL)).any() or (
            point[suppressed] > np.floor(hi[suppressed] + INT_TOL)).any():
        return None
    return point if not space.relation_sums(point).any() else None


def _hierarchy(space: CellSpace) -> tuple[int, list[int]] | None:
    """The first dimension with a hierarchy at least three levels deep (a state, its
    districts, their schools), and its top codes (those without a parent); None without."""
    for d, dim in enumerate(space.spec.dimensions):
        parents, children = dim.links()
        roots = [c for c in range(len(dim.codes)) if not parents[c] and children[c]]
        if any(children[k] for r in roots for k in children[r]):
            return d, roots
    return None


def refit_start(space: CellSpace, suppressed: np.ndarray, point: np.ndarray,
                lower: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """``point`` (a whole point of the published table, ``whole_start``) moved into
    narrower bounds: the hidden cells a few relations from those outside them re-solved,
    every other hidden cell held, the result checked in integers as ``whole_start``'s is;
    None if no such point was found there (the caller then looks for a new one). The
    re-audit against exact goals narrows a few bounds; a new point at ~1M rows is an LP
    over a 700,000-cell component (178 s)."""
    bad = np.flatnonzero(suppressed & ((point < lower - TOL) | (point > upper + TOL)))
    if not len(bad):
        return point
    for hops in LOCAL_HOPS:
        near = _neighbourhood(space, suppressed, bad, hops)
        inside = np.zeros(space.size, dtype=bool)
        inside[near] = True
        held = space.relation_sums(np.where(inside, 0, point))  # the rest held at the point
        try:
            got = _whole_batch(space, held, near, lower, upper, suppressed)
        except DisclosureError:
            continue  # infeasible with the rest held there: a wider neighbourhood
        if got is not None:
            out = point.copy()
            out[got[0]] = got[1]
            return out
    return None


def restricted_proofs(space: CellSpace, point: np.ndarray, suppressed: np.ndarray,
                      rule: np.ndarray, threshold: int | np.ndarray, lo: np.ndarray,
                      hi: np.ndarray) -> np.ndarray:
    """The targets (``rule``) proven by whole points of ``space`` near the whole feasible
    ``point``, without a per-cell LP: the point itself (a threshold target at its goal),
    hypercubes both ways, for the exact targets the two pushed points (an exact target that
    differs between two whole points), then the region LPs (each point re-verified; with
    many targets, only if a sample of them shows they pay: PROBE_TARGETS). The
    rest are left unproven, not failed: a caller auditing a restriction of a larger model
    (``joint.count_space_proofs``: one measure of a rate table moving with the others held)
    sends them to that model's own audit.

    The order is measured (chronic absence at scale 0.1): the pushed points prove 52,016 of
    85,192 numerators in 19 s, where the region LPs took 114 s for all of them; for
    threshold targets the regions come first (the pushed points then prove none). The block
    regions are left out: they proved 0 to 51 targets more at twice the time. So are the
    cross regions (through the state into the biggest other district): at scale-1 chronic
    absence they proved none of the 13,369 group sizes the whole regions left, in 35 s,
    where the rate-space audit's whole regions then proved every one."""
    proven = np.zeros(space.size, dtype=bool)
    todo = np.flatnonzero(suppressed & (rule != NONE))
    if not len(todo):
        return proven
    at_goal = (rule[todo] == THRESHOLD) & (point[todo] >= goal_at(threshold, todo) - TOL)
    proven[todo[at_goal]] = True
    todo = todo[~at_goal]
    if len(todo):
        done = _cube_proofs(space, point, suppressed, rule, threshold, lo, hi, todo,
                            both_ways=True)
        proven[todo[done]] = True
        todo = todo[~done]
    exact = todo[rule[todo] == EXACT]
    if len(exact):
        cells, labels, _ = components(space, suppressed)
        proven[_spread_proofs(space, suppressed, cells, labels, lo, hi, point, rule,
                              threshold, exact)] = True
        todo = todo[~proven[todo]]
    if len(todo) > 2 * PROBE_TARGETS:
        # A sample first: where the restriction has little room (a near-100% rate's group
        # sizes cannot go down with the numerators held), the region LPs prove few and cost
        # most (assessment participation at scale 0.1: 1,800 of 23,810 in 90 s); the
        # rate-space audit does better with those. Spread over the targets (they come in
        # cell order: organization, group, grade), so one district does not decide.
        sample = todo[np.linspace(0, len(todo) - 1, PROBE_TARGETS).astype(np.int64)]
        got, _ = _region_proofs(space, point, suppressed, rule, threshold, lo, hi, sample,
                                blocks=False, cross=False)
        proven |= got
        if got[sample].sum() < PROBE_SHARE * len(sample):
            return proven
        todo = np.setdiff1d(todo, sample, assume_unique=True)
    if len(todo):
        got, _ = _region_proofs(space, point, suppressed, rule, threshold, lo, hi, todo,
                                blocks=False, cross=False)
        proven |= got
    return proven


def _component_batches(cells: np.ndarray, labels: np.ndarray,
                       size: int | None = None) -> Iterator[np.ndarray]:
    """The hidden ``cells`` (component ``labels``) packed into batches of whole components
    (``_batches``, of about ``size`` cells: BATCH_COLS by default), each batch's cells
    sorted."""
    order = np.argsort(labels, kind="stable")
    cells, labels = cells[order], labels[order]
    for batch in _batches(labels, size or BATCH_COLS):
        yield np.sort(cells[batch])


def _spread_proofs(space: CellSpace, suppressed: np.ndarray, cells: np.ndarray,
                   labels: np.ndarray, lo: np.ndarray, hi: np.ndarray, point: np.ndarray,
                   rule: np.ndarray, threshold: int | np.ndarray,
                   todo: np.ndarray) -> np.ndarray:
    """The ``todo`` targets proven by two more whole-number feasible points, the targets
    pushed up (each capped at its goal, so one cannot take all the room) and down: a
    threshold target at its goal in one, an exact one whose value differs from ``point``'s
    (two whole points that differ). ``cells``/``labels``: the hidden cells' components.
    Per component batch, a batch without a whole point keeps ``point``'s values
    (components are independent), so each is a whole point."""
    if not len(todo):
        return todo
    wanted = np.zeros(space.size, dtype=bool)
    wanted[todo] = True
    keep = np.isin(labels, sorted_unique(labels[wanted[cells]]))
    goal = np.zeros(space.size)
    goal[todo] = np.where(rule[todo] == THRESHOLD, goal_at(threshold, todo), point[todo] + 1)
    pub_sums = space.relation_sums(np.where(suppressed, 0, point))  # published: as published
    proven = np.zeros(space.size, dtype=bool)
    for sign in (1.0, -1.0):
        other = point.copy()
        for at in _component_batches(cells[keep], labels[keep]):
            # Down: only the exact targets (a threshold target gains nothing below).
            push = wanted[at] if sign > 0 else wanted[at] & (rule[at] == EXACT)
            if not push.any():
                continue
            got = _whole_batch(space, pub_sums, at, lo, hi, suppressed, objective=(
                np.flatnonzero(push), sign, goal[at]))
            if got is not None:
                other[got[0]] = got[1]
        thr = rule[todo] == THRESHOLD
        proven[todo] |= np.where(thr, other[todo] >= goal[todo] - TOL, other[todo] != point[todo])
    return np.flatnonzero(proven)


def _whole_batch(space: CellSpace, pub_sums: np.ndarray, cells: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray, suppressed: np.ndarray,
                 objective: tuple[np.ndarray, float, np.ndarray] | None = None,
                 lean: bool = True, cut: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """A whole-number feasible point of one batch of components; ``objective`` (positions
    in ``cells``, a sign, caps per cell): the point that pushes those cells that way, up
    each to its cap, down each to its lower bound; None without one (no MILP for these).

    ``lean``: the LPs leave out the relations the others imply (``CellSpace.implied``); the
    point found is still checked against every relation (and found again with all of them,
    should that check ever fail). A rate space's group-size relations are a third of its
    rows, and redundant rows slow the interior point method: the start LP of scale-1
    chronic absence (979,613 hidden cells) took 180 s without them, against 429 s.

    ``cut`` (per relation): relations left out altogether, as if absent (``_split_start``'s
    pieces); there a piece without a point gives None, where a whole table without one is
    an error (it does not add up)."""
    skip = cut
    if lean:
        skip = space.implied if cut is None else space.implied | cut
    triplets = _triplets(space, pub_sums, cells, skip=skip)
    rows, cols, coef, rhs = triplets
    lo_b, hi_b = np.ceil(lo[cells] - INT_TOL), np.floor(hi[cells] + INT_TOL)

    def found(point: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if lean and not _exact(_triplets(space, pub_sums, cells, skip=cut), point, lo_b,
                               hi_b):
            return _whole_batch(space, pub_sums, cells, lo, hi, suppressed, objective,
                                lean=False, cut=cut)
        return cells, point.astype(np.int64)

    model = BatchLP(len(cells), rows, cols, coef, rhs, lo_b, hi_b)
    model.skip_dependent_rows()
    if objective is None:
        status, _, x = model.maximize(np.zeros(0, dtype=np.int32), np.zeros(0))
    else:
        at, sign, cap = objective
        if sign > 0:
            model.set_bounds(at, np.minimum(model.lower[at], cap[at]),
                             np.minimum(model.upper[at], cap[at]))
        status, _, x = model.maximize(at.astype(np.int32), np.full(len(at), sign))
        if sign > 0:
            model.reset_bounds(at)
        if status != "optimal":
            return None
    if status != "optimal":
        if cut is not None:
            return None  # the whole LP says why
        raise DisclosureError(f"the published table is infeasible ({status}): it does not add up")
    whole = np.abs(x - np.round(x)) <= INT_TOL
    if whole.all():
        point = np.round(x)
        if _exact(triplets, point, lo_b, hi_b):
            return found(point)
    # Hold the whole cells, re-solve the fractional ones; then free the hidden cells around
    # them too (a cycle of halves needs its whole neighbours to move).
    for hops in (0, 1, 2):
        if hops == 0:
            fix = whole
        else:
            near = _neighbourhood(space, suppressed, cells[~whole], hops)
            fix = ~np.isin(cells, near)
        got = _whole_point(triplets, x, fix, lo_b, hi_b)
        if got is not None:
            return found(got)
    if objective is not None:
        return None  # a further point only saves LPs: not worth a MILP
    status, _, x = model.maximize(np.zeros(0, dtype=np.int32), np.zeros(0), integer=True,
                                  nodes=WHOLE_START_NODES)
    if status == "optimal" and integral(x):
        point = np.round(x)
        if _exact(triplets, point, lo_b, hi_b):
            return found(point)
    return None


def _cube_proofs(space: CellSpace, values: np.ndarray, suppressed: np.ndarray,
                 rule: np.ndarray, threshold: int | np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 todo: np.ndarray, both_ways: bool) -> np.ndarray:
    """Which ``todo`` targets a hypercube of hidden cells carries from ``values`` to their
    goal: a threshold target up to it, an exact one up by 1 (a whole-number point: with
    whole bounds any room above 0 is at least 1, so this is the same test, sound for
    fractional bounds too) and, ``both_ways``, down by 1 (from a vertex an exact target is
    as often at its top as at its bottom; the same search on the negated point, as
    movements are linear)."""
    move = np.where(rule[todo] == THRESHOLD,
                    np.maximum(goal_at(threshold, todo) - values[todo].astype(np.float64), 0.0),
                    1.0)
    done = certify(space, values, suppressed, todo, move, lo, hi)
    if both_ways:
        down = ~done & (rule[todo] == EXACT)
        done[down] = certify(space, -values, suppressed, todo[down], move[down], -hi, -lo)
    return done


def _region_proofs(space: CellSpace, values: np.ndarray, suppressed: np.ndarray,
                   rule: np.ndarray, threshold: int | np.ndarray, lo: np.ndarray,
                   hi: np.ndarray, todo: np.ndarray, blocks: bool = True, cross: bool = True,
                   file_audit: bool = False,
                   ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """(Targets proven, the points that passed) by a region LP's whole-number point
    (``local.local_repair`` with every published cell blocked, so only hidden cells move,
    its cross regions only with ``cross``, exact targets tried both ways and the regions
    through the district with room only with ``file_audit``; then, ``blocks``,
    ``blocks.block_repair``), each point re-verified exactly as the engine's witnesses are
    (``witness.verify``)."""
    need = np.zeros(space.size)
    need[todo] = need_to_move(rule[todo], goal_at(threshold, todo), values[todo])
    hidden = suppressed.copy()  # local_repair hides what it moves: nothing published here
    # The file audit's soft rounds reward targets apart (no two in one relation), as a
    # count table's suppression does: rounds over every target stall, each holding the
    # others back, and leave most to single solves (the 985,608-row file, one thread: 12,664
    # single solves and 115.0 s, against 1,872 and 88.8 s apart; scale-0.2 rate tables'
    # file audits within their noise). Not the suppressor's own audit, whose proofs choose
    # its pattern, nor a rate table's count spaces (``restricted_proofs``: no faster).
    points, left = local_repair(space, values, hidden, todo, need, lo, hi, ~suppressed,
                                small_first=False, cheapest=False, either_way=rule == EXACT,
                                cross=cross, file_audit=file_audit, apart=file_audit)
    if len(left) and blocks:
        # The suppressor's block regions too (rate numerators whose movement must reach other
        # districts: ``blocks``); without them each such cell went to an LP over the whole
        # component.
        more, _ = block_repair(space, values, hidden, left, need, lo, hi, ~suppressed,
                               exact=rule == EXACT)
        points += more
    if (hidden != suppressed).any():
        raise AssertionError("a region LP moved a published cell")
    proven, found = _point_proofs(space, values, suppressed, rule, threshold, lo, hi,
                                  [(c, x) for c, x, _ in points])
    out = np.zeros(space.size, dtype=bool)
    out[todo] = proven[todo]
    return out, found


def _point_proofs(space: CellSpace, values: np.ndarray, suppressed: np.ndarray,
                  rule: np.ndarray, threshold: int | np.ndarray, lo: np.ndarray,
                  hi: np.ndarray, points: list[tuple[np.ndarray, np.ndarray]],
                  ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """(Cells proven under ``rule``, the points that passed) by whole points given as (cells
    moved, their values) from ``values``, each checked exactly as the engine's witnesses are
    (``witness.verify``: hidden cells only, whole moves, bounds, every relation touching
    them; sparse, where ``verify_witnesses`` sums the whole table per point)."""
    wit = Witnesses()
    wit.add_points(points, values, rule, threshold)
    proven, valid = verify(space, values, suppressed, rule, threshold, wit, lo, hi)
    return proven, [p for p, ok in zip(points, valid.tolist(), strict=True) if ok]


def _exact(triplets: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
           point: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Whether a whole-number point satisfies every row and bound exactly (whole numbers:
    these float64 sums are exact)."""
    rows, cols, coef, rhs = triplets
    if (point < lo).any() or (point > hi).any():
        return False
    sums = np.bincount(rows, weights=coef * point[cols], minlength=len(rhs))
    return bool((sums == rhs).all())


def _cube_certified(space: CellSpace, values: np.ndarray, cells: np.ndarray, v: np.ndarray,
                    targets: np.ndarray, r: np.ndarray, threshold: int | np.ndarray, lo: np.ndarray,
                    hi: np.ndarray, moves: MoveTable, suppressed: np.ndarray) -> np.ndarray:
    """Which targets (positions in ``cells``) a cube of hidden cells carries to their goal
    from the feasible point ``v``; exact targets may move either way by 1."""
    point = values.astype(np.float64)
    point[cells] = v
    t_cells = cells[targets]
    up = r[targets] == THRESHOLD
    need = np.where(up, np.maximum(goal_at(threshold, t_cells) - v[targets], 0.0), 1.0)
    # Rows: every target upwards, exact targets also downwards.
    rows_cell = np.concatenate([t_cells, t_cells[~up]])
    rows_need = np.concatenate([need, need[~up]])
    orient = np.concatenate([np.ones(len(t_cells), dtype=np.int8),
                             -np.ones(int((~up).sum()), dtype=np.int8)])
    owner = np.concatenate([np.arange(len(t_cells)), np.flatnonzero(~up)])
    weight = np.ones(space.size)
    plan = plan_cubes(space, moves, point, suppressed, rows_cell, rows_need + TOL, orient, lo,
                      hi, weight, only_hidden=True)
    _, score, _ = evaluate(plan, np.arange(len(rows_cell)), suppressed, weight, point,
                           only_hidden=True)
    ok = np.zeros(len(t_cells), dtype=bool)
    ok[owner[np.isfinite(score)]] = True
    return ok


def _neighbourhood(space: CellSpace, suppressed: np.ndarray, start: np.ndarray,
                   hops: int) -> np.ndarray:
    """Hidden cells reachable from ``start`` through at most ``hops`` shared relations."""
    reached = np.zeros(space.size, dtype=bool)
    reached[start] = True
    hidden_entry = suppressed[space.cells]
    for _ in range(hops):
        rels = np.zeros(space.n_relations, dtype=bool)
        rels[space.entry_rel[reached[space.cells]]] = True
        grow = space.cells[rels[space.entry_rel] & hidden_entry]
        if reached[grow].all():
            break
        reached[grow] = True
    return np.flatnonzero(reached)


def _batches(labels: np.ndarray, size: int = BATCH_COLS) -> list[slice]:
    """Cut the label-sorted cells into slices of whole components, about ``size`` each."""
    bounds = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(labels)]])
    out: list[slice] = []
    s = 0
    for e in ends:
        if e - s >= size:
            out.append(slice(s, int(e)))
            s = int(e)
    if s < len(labels):
        out.append(slice(s, len(labels)))
    del starts
    return out


def _triplets(space: CellSpace, pub_sums: np.ndarray, cells: np.ndarray,
              skip: np.ndarray | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, coefficient, right-hand side) of a batch's equality rows; ``skip`` (per
    relation): rows left out (``CellSpace.implied``)."""
    in_batch = np.zeros(space.size, dtype=bool)
    in_batch[cells] = True
    hit = in_batch[space.cells]
    if skip is not None:
        hit &= ~skip[space.entry_rel]
    e_cells = space.cells[hit]
    e_coef = space.coef[hit]
    rel_ids, rows = np.unique(space.entry_rel[hit], return_inverse=True)
    cols = np.searchsorted(cells, e_cells)
    # Right-hand side from the published members only: sum(coef * x_suppressed) equals
    # minus the published part, so the model never reads a suppressed value.
    rhs = -pub_sums[rel_ids].astype(np.float64)
    return rows.ravel(), cols, e_coef.astype(np.float64), rhs


def _build(space: CellSpace, pub_sums: np.ndarray, cells: np.ndarray,
           lo: np.ndarray, hi: np.ndarray) -> BatchLP:
    rows, cols, coef, rhs = _triplets(space, pub_sums, cells)
    return BatchLP(len(cells), rows, cols, coef, rhs, lo[cells], hi[cells])


FIX_MILP_NODES = 200  # the re-solve's MILP when its LP is not whole either (nodes, not time)


def _milp_can_prove(rule: int, sign: float, value: float, at: float, goal: float) -> bool:
    """Whether a cell's MILP (max of ``sign`` * x) could prove what its fractional LP
    optimum ``value`` did not: the MILP's optimum is at most the LP's. A threshold cell needs
    a whole point at its goal (its smallest value proves nothing); an exact one a whole
    point a unit away from ``at``, its value in the batch's whole point."""
    if rule == THRESHOLD:
        return sign > 0 and value >= goal - TOL
    return value >= sign * at + 1 - TOL


def _whole_point(triplets: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                 x: np.ndarray, fix: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 ) -> np.ndarray | None:
    """A whole-number point near the fractional LP point ``x`` of a batch (positions in
    the batch): the ``fix`` positions (whole in ``x``) held, the others re-solved under
    ``lo``/``hi`` (the batch's bounds, narrowed by the caller to keep targets at their
    goals); None unless the result is whole and satisfies every row and bound EXACTLY (the
    rounded point is checked in integers, never trusted from the solver)."""
    rows, cols, coef, rhs = triplets
    free = ~fix
    if not free.any():
        return None
    held = np.round(x)
    fixed_part = np.bincount(rows, weights=np.where(fix[cols], coef * held[cols], 0.0),
                             minlength=len(rhs))
    pos = np.cumsum(free) - 1
    use = free[cols]
    sub_rows, row_ids = np.unique(rows[use], return_inverse=True)
    model = BatchLP(int(free.sum()), row_ids.ravel(), pos[cols[use]], coef[use],
                    rhs[sub_rows] - fixed_part[sub_rows], lo[free], hi[free])
    status, _, y = model.maximize(np.zeros(0, dtype=np.int32), np.zeros(0))
    if status != "optimal":
        return None
    if not integral(y):
        model.h.changeColsIntegrality(model.n, np.arange(model.n, dtype=np.int32),
                                      np.full(model.n, highspy.HighsVarType.kInteger))
        model.h.setOptionValue("mip_max_nodes", FIX_MILP_NODES)
        run(model.h)
        if model.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        y = np.asarray(model.h.getSolution().col_value)
        if not integral(y):
            return None
    point = held.copy()
    point[free] = np.round(y)
    return point if _exact(triplets, point, lo, hi) else None


def _audit_batch(
    space: CellSpace,
    values: np.ndarray,
    pub_sums: np.ndarray,
    cells: np.ndarray,
    rule: np.ndarray,
    threshold: int | np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    target_mask: np.ndarray,
    intervals: bool,
    truth: bool,
    diagnose: bool,
    result: AuditResult,
    witnesses: list[Witness] | None = None,
    prove_only: bool = False,
    cube_ctx: tuple[MoveTable, np.ndarray] | None = None,
    fixable: np.ndarray | None = None,
    regions: np.ndarray | None = None,
    warm: bool = False,
    file_audit: bool = False,
) -> np.ndarray:
    """Audit one batch; returns the target cells proven. ``prove_only`` (an LP over part of
    a component, the rest held at true values): look for proofs, report no failures.
    ``warm``: rounds after the first start from the last round's basis (``WARM_ROUNDS``).
    ``file_audit``: the region LPs as the file audit runs them (``_region_proofs``)."""
    cells = np.sort(cells)
    model = _build(space, pub_sums, cells, lo, hi)
    if truth:
        v = values[cells].astype(np.float64)
    else:
        model.crossover(cube_ctx is None)
        status, _, v = model.maximize(np.zeros(0, dtype=np.int32), np.zeros(0))
        model.crossover(True)
        if status != "optimal":
            raise DisclosureError(f"the published table is infeasible ({status}): it does not add up")
    r = rule[cells]
    targets = np.flatnonzero(target_mask[cells])
    # Goal per target: threshold cells (true value below T) must be able to reach T, which also
    # makes min < max; exact cells must move off a feasible value (the truth), up or down.
    goal = np.where(r == THRESHOLD, goal_at(threshold, cells), v + 1)
    proven = np.zeros(len(cells), dtype=bool)
    # Cubes and local LPs move from ``v``: a proof about whole numbers only if ``v`` is whole
    # (the central point ``cubes=True`` asks for rarely is; then the LPs below decide).
    if cube_ctx is not None and len(targets) and integral(v):
        proven[targets[_cube_certified(space, values, cells, v, targets, r, threshold, lo, hi,
                                       *cube_ctx)]] = True
        result.certified += int(proven.sum())
        # The few left: LPs over the hidden cells near them, every other hidden cell held
        # at the feasible point (as the engine's local LPs hold them at the truth), before
        # the whole component. 46k rows: 339 cells left after the cubes.
        point = values.astype(np.float64)
        point[cells] = v
        for hops in LOCAL_HOPS:
            todo = targets[~proven[targets]]
            if not (0 < len(todo) * LOCAL_SHARE < len(cells)):
                break
            near = _neighbourhood(space, cube_ctx[1], cells[todo], hops)
            inside = np.zeros(space.size, dtype=bool)
            inside[near] = True
            outside = space.relation_sums(np.where(inside, 0, point))
            mask = np.zeros(space.size, dtype=bool)
            mask[cells[todo]] = True
            got = _audit_batch(space, point, outside, near, rule, threshold, lo, hi, mask,
                               False, True, False, result, None, prove_only=True)
            proven[np.searchsorted(cells, got)] = True
            result.local += len(got)

    fix_cells = None if fixable is None or intervals else fixable[cells]
    triplets = _triplets(space, pub_sums, cells) if fix_cells is not None else None
    batch_mask = np.zeros(space.size, dtype=bool)
    batch_mask[cells] = True  # the batch's hidden cells (whole components)
    base_whole = integral(v)

    def repaired(x: np.ndarray) -> np.ndarray | None:
        """``_whole_point`` of a fractional ``x``, keeping the unproven targets it carried
        on their side of the goal (only from a whole-number base: "moved" needs it)."""
        if fix_cells is None or triplets is None or not base_whole:
            return None
        t = targets[~proven[targets]]
        thr = r[t] == THRESHOLD
        reach_up = np.where(thr, x[t] >= goal[t] - TOL, x[t] >= v[t] + 1 - TOL)
        reach_down = ~thr & (x[t] <= v[t] - 1 + TOL)
        if not (reach_up | reach_down).any():
            return None
        lo_b, hi_b = model.lower.copy(), model.upper.copy()
        up_t, down_t = t[reach_up], t[reach_down]
        lo_b[up_t] = np.maximum(lo_b[up_t], np.where(r[up_t] == THRESHOLD, goal[up_t],
                                                     v[up_t] + 1))
        hi_b[down_t] = np.minimum(hi_b[down_t], v[down_t] - 1)
        # Targets held at a whole value are already on their side (bounds above).
        whole = np.abs(x - np.round(x)) <= INT_TOL
        fix = fix_cells & whole
        got = _whole_point(triplets, x, fix, lo_b, hi_b)
        for hops in (1, 2):
            if got is not None:
                break
            # A cycle of halves needs its whole neighbours to move too (as ``whole_start``):
            # without them the cell's MILP over the whole component ran (46k rows: 25 s each).
            near = _neighbourhood(space, batch_mask, cells[~whole], hops)
            got = _whole_point(triplets, x, fix & ~np.isin(cells, near), lo_b, hi_b)
        return got

    ref = np.where(np.abs(v - np.round(v)) <= INT_TOL, v, np.nan)

    def harvest(x: np.ndarray) -> None:
        if len(x) and not integral(x):
            got = repaired(x)
            if got is None:
                return  # a fractional point proves nothing about whole numbers
            x = got
        if not len(x):
            return
        up = x[targets] >= goal[targets] - TOL
        # Not exact = two whole points that differ in the cell. The first point ``v`` is
        # whole on the truth side (the true values) but may be fractional on the
        # publisher's: then the first whole point seen is the reference.
        seen = ref[targets]
        moved = np.where(np.isnan(seen), False, np.abs(x[targets] - seen) >= TOL)
        ref[targets] = np.where(np.isnan(seen), x[targets], seen)
        ok = np.where(r[targets] == THRESHOLD, up, moved)
        if witnesses is not None and (ok & ~proven[targets]).any():
            witnesses.append(Witness(cells, x.copy()))
        proven[targets[ok]] = True

    def rounds() -> None:
        # Rounds of "push every unproven target at once", capped at the goal so the objective
        # is bounded and one cell cannot soak up all the slack; repeat while rounds keep proving
        # a good share of what is left (targets compete for the same slack, so each round frees
        # some), then flip exact cells downwards.
        for _ in range(30):
            todo = targets[~proven[targets]]
            if not len(todo):
                break
            model.set_bounds(todo, np.minimum(model.lower[todo], goal[todo]),
                             np.minimum(model.upper[todo], goal[todo]))
            _, _, x = model.maximize(todo, np.ones(len(todo)))
            model.reset_bounds(todo)
            if warm:
                # The next rounds change only the targets left (their caps and weights):
                # primal simplex from this round's basis, not interior point from scratch.
                # Scale-1 dropout's re-audit of 108 group sizes against their exact goals:
                # rounds over a 263,309-cell component of 16 s each, then 8.5, 6.1, 5.7 s
                # and whole points (no repair MILPs): 126.5 -> 38.7 s, the same verdicts.
                # Only the file audit: the suppressor's own audit chooses its pattern.
                model.prefer_warm_start()
            harvest(x)
            gained = int(proven[todo].sum())
            # With per-cell LPs to follow, stop at diminishing returns (warm-started single-cell
            # solves are cheaper then). Without them, whatever stays unproven is treated as failing
            # and gets a repair hypercube plus a cheap local re-audit, so stop once a round proves
            # under 2% of what is left: on the 24k bench the tail of ~1-cell-per-percent rounds cost
            # 3 s of 20 for 1.2% fewer secondary cells (5% stopped at 13.6 s but +6.9% cells).
            floor = len(todo) // 4 if diagnose or intervals else len(todo) // 50
            if gained < max(1, floor):
                break

    def by_regions() -> bool:
        """The suppressor's region LPs (a district's schools, a school's groups) around each
        target left, from the same whole point; whether any was proven."""
        assert regions is not None
        left = targets[~proven[targets]]
        got, found = _region_proofs(space, values, regions, rule, threshold, lo, hi,
                                    cells[left], file_audit=file_audit)
        result.points += found
        proven[left[got[cells[left]]]] = True
        result.local += int(got.sum())
        return bool(got.any())

    use_regions = regions is not None and base_whole and not intervals and not prove_only
    # Few targets in a big component (the derivable check's 38 of 143,773 hidden cells):
    # the region LPs first, as one round over the component cost 44 s there.
    regions_first = use_regions and len(targets) * LOCAL_SHARE < len(cells)
    if regions_first and len(targets):
        by_regions()
    rounds()
    if prove_only:
        result.lp_solves += model.solves
        return cells[targets[proven[targets]]]
    todo = targets[~proven[targets]]
    todo = todo[r[todo] == EXACT]
    if len(todo):
        model.set_bounds(todo, np.maximum(model.lower[todo], v[todo] - 1), model.upper[todo])
        _, _, x = model.maximize(todo, -np.ones(len(todo)))
        model.reset_bounds(todo)
        harvest(x)
    if use_regions and not regions_first and (~proven[targets]).any() and by_regions():
        rounds()  # fewer targets compete for the slack now
    # What is left gets its own LPs, which also give failures their exact interval.
    singles = targets[~proven[targets]]
    if not diagnose and not intervals:
        for i in singles:
            result.failures.append(Failure(int(cells[i]), int(v[i]), float("nan"), float("nan"),
                                           "threshold" if r[i] == THRESHOLD else "exact"))
        result.lp_solves += model.solves
        return cells[targets[proven[targets]]]
    every = np.arange(len(cells)) if intervals else singles
    if len(every):
        model.prefer_warm_start()

    def extreme(i: int, sign: float) -> tuple[str, float]:
        """The cell's largest (sign 1) or minus its smallest (-1) value: the LP, and where its
        optimum is fractional the MILP, unless a whole point near it already proved the cell."""
        one = np.array([i])
        status, value, x = model.maximize(one, np.full(1, sign))
        if status == "optimal" and not integral(x):
            harvest(x)  # with ``fixable``: a whole point near it may prove the cell
            if not intervals and proven[i]:
                return status, value
            if not intervals and not _milp_can_prove(r[i], sign, value, v[i], goal[i]):
                # The whole-number optimum is no better than the LP's: the verdict stands,
                # and the failure reports the LP's bound rounded inwards (whole numbers).
                return status, float(np.floor(value + INT_TOL))
            status, value, x = model.maximize(one, np.full(1, sign), integer=True)
        harvest(x)
        return status, value

    for i in every:
        if proven[i] and not intervals:
            continue  # proven meanwhile by another cell's solution
        s_hi, hi_val = extreme(i, 1.0)
        if s_hi == "unbounded":
            proven[i] = True  # max is infinite and a feasible (true) value exists
        elif s_hi != "optimal":
            proven[i] = False  # a solver failure never counts as proof
        if proven[i] and not intervals:
            continue
        _, neg_lo = extreme(i, -1.0)
        lo_val = -neg_lo
        if s_hi not in ("optimal", "unbounded"):
            proven[i] = False
        if intervals:
            result.intervals[int(cells[i])] = (lo_val, hi_val)
        if target_mask[cells[i]] and not proven[i]:
            result.failures.append(
                Failure(int(cells[i]), int(v[i]), lo_val, hi_val,
                        "threshold" if r[i] == THRESHOLD else "exact")
            )
    result.lp_solves += model.solves
    return cells[targets[proven[targets]]]
