"""Array-level protection: primaries, then either cube witnesses for every small cell at once
(``method="cubes"``) or the complementary heuristic and the LP audit/repair loop
(``method="lp"``); the final audit re-checks every witness against the final pattern.

Works on dense cell arrays (see ``table.py``); ``api.py`` wraps it for DataFrames.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from datashare.arrays import sorted_unique
from datashare.disclosure.audit import (
    EXACT,
    NONE,
    THRESHOLD,
    AuditResult,
    Witness,
    audit,
    need_to_move,
)
from datashare.disclosure.local import local_repair, pinned, unhide
from datashare.disclosure.secondary import (
    Cover,
    close_singletons,
    hypercube_cover,
    reinforce,
    start_cover,
)
from datashare.disclosure.table import CellSpace
from datashare.disclosure.witness import (
    GRAND_CELLS,
    KEEP,
    CubePlan,
    MoveTable,
    Witnesses,
    corner_index,
    corners_of,
    evaluate,
    grand_totals,
    move_table,
    plan_cubes,
    popularity,
    touched,
    verify,
)

TOL_INT = 1e-5
MAX_REPAIR_ROUNDS = 30  # was 200; under the label bounds a goal the rest of the table cannot give stays failing, and 200 rounds of whole-component LPs took minutes
MAX_HOPS = 4
METHODS = ("auto", "cubes", "lp")
# "auto" runs both methods up to this many primaries and keeps the pattern with fewer hidden
# cells (each takes under a second there); above it, cubes only (10,506 rows, 3,597
# primaries, before issue 12: 0.4 s and 3,764 cells against 6.1 s and 3,664). Before the
# label bounds the LP loop hid fewer cells on small tables (the 1,462-row worked example:
# 411 against 538); under them the cubes and local LPs often hide fewer (2026-12-03, 402
# rows, gender and income, threshold: 149 against 241), the LP loop sometimes (536 rows,
# race, exact: 48 against 55).
AUTO_LP_MAX = 1000
POPULAR = 10.0  # tie-break between equally many new cells: value / (1 + POPULAR * sharers)
# Cubes hiding more new cells than this are left to the local LPs (local.py), which hide
# fewer cells for them; the local LPs also replaced a second, wider cube search (removed).
# Secondary cells at 10,506 / 45,730 / 497,070 rows: no cap and wide searches 4,185 / 17,175
# / 192,200; no wide search 4,125 / 16,861 / 190,396; cap 4: 3,853 / 16,478; 5: 3,718 /
# 15,768 / 193,731; 6: 3,764 / 16,058 / 189,997; 8: 3,951 / 16,456 / 189,998.
MAX_CUBE_LEVEL = 6
REROUTE_PASSES = 10
# The unhide pass's limit in LP solves (a count, so the same table publishes the same cells
# on every run; it stops where it is, still sound): 3 per target, but past UNHIDE_MIN_SOLVES
# only UNHIDE_SHARE per target and UNHIDE_MAX_SOLVES in all, sized to stay near the CPU
# time of the CPU-time limit it replaces (protection's own, 5-60 s): 10,506 rows, 1,079
# solves, 129 cells published again (96-104 in ~11 s CPU before); 45,730 rows, 3,000
# solves in 31 s CPU, 348 cells. Successes thin out as it goes (4,369 rows, threshold: 94
# cells published in the first 1,000 solves, 19 between 10,000 and 11,000; 533 in 12,300
# solves, 66 s CPU).
UNHIDE_SOLVES_PER_TARGET = 3
UNHIDE_MIN_SOLVES = 500
UNHIDE_SHARE = 0.3
UNHIDE_MAX_SOLVES = 3000


@dataclass
class Protected:
    cover: Cover
    primary: np.ndarray
    rule: np.ndarray
    audit: AuditResult | None
    repair_rounds: int
    timings: dict[str, float] = field(default_factory=dict)
    method: str = "lp"
    cubed: int = 0  # targets given a cube witness
    lp_targets: int = 0  # targets left to the LP repair loop
    local_targets: int = 0  # targets given a local LP witness (local.py)
    grand_total_published: bool = True
    derivable_published: int = 0  # hidden cells found exactly derivable and published
    # The witnesses behind the proof (cubes and LP points), for a caller that widens the
    # pattern and re-verifies them (joint.py's rounds) instead of searching again.
    witnesses: Witnesses | None = None
    by_labels: np.ndarray | None = None  # targets ``regoal`` found determined by the labels
    unhidden: int = 0  # complementary cells published again by ``local.unhide``


# Given targets no cheap witness protects: (their exact goals, which of them the labels alone
# determine). Lets a caller compute expensive goals only for the few cells that need them.
Regoal = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
# Witness points for targets (``local.local_repair``'s signature and contract).
Repair = Callable[[CellSpace, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                   np.ndarray, np.ndarray | None],
                  tuple[list[tuple[np.ndarray, np.ndarray, int]], np.ndarray]]


def protect(
    space: CellSpace,
    values: np.ndarray,
    primary: np.ndarray,
    rule: np.ndarray,
    threshold: int | np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    run_audit: bool = True,
    blocked: np.ndarray | None = None,
    method: str = "auto",
    keep_grand_total: bool = True,
    fixable: np.ndarray | None = None,
    regoal: Regoal | None = None,
    unhide_cells: bool = True,
    wide: Repair | None = None,
    lp_loop: bool = True,
    apart: bool = False,
    small_first: bool = True,
) -> Protected:
    """Cover ``primary`` cells until each has a proof (a witness) that it meets its ``rule``.

    ``method="cubes"``: cheapest balanced hypercubes for every primary at once,
    the LP repair loop only for the primaries without one, then the pattern is pruned to the
    cells the chosen witnesses move. ``method="lp"``: the earlier LP-driven loop (the
    complementary heuristic, then audits and repairs until the audit passes): fewer cells,
    much slower on big tables. ``"auto"`` (default): "lp" up to AUTO_LP_MAX primaries.
    ``run_audit=False`` skips only the final audit.
    ``keep_grand_total`` (default): the grand total (every dimension at its root) is never
    chosen while a smaller cell will do, in either method; only the LP loop's last resort
    (hiding every cell of a failing cell's relations, when nothing else is left) may hide it,
    on tables where nothing else can protect a cell. ``False``: it is not blocked, but a cube
    with it counts as GRAND_CELLS new cells (more than MAX_CUBE_LEVEL, so no cube takes it);
    the local LPs may then move it like any published cell (paying per unit, so rarely), and
    the LP method treats it like any other cell.
    ``fixable``: passed to every audit (``audit.audit``): cells whose whole values a
    fractional LP point may keep while the rest is re-solved (rate tables: the numerators).
    ``regoal``: called once with the targets the cubes and local LPs leave (before the LP
    loop) when ``threshold`` is only an upper bound of the goal (``model.label_goal`` on a
    table too big to refine every cell up front); their goals are lowered to what it returns
    and the cells it says the labels determine are dropped (``by_labels``).
    ``wide`` (cube method): a second repair with ``local.local_repair``'s contract, asked
    for the targets the local LPs leave before the LP loop (rate numerators:
    ``blocks.block_repair``, regions that cross to other districts).
    ``lp_loop=False`` (cube method): the targets the cubes and LPs leave stay unproven
    (``lp_targets`` counts them) for a caller with a wider model to prove them (rate
    numerators: the joint rounds, where group sizes may move too).
    ``apart`` (cube method): the local LPs' soft rounds each over targets apart
    (``local.local_repair``'s ``apart``; a count table's own suppression, a rate table's
    numerators' pass).
    ``small_first=False`` (cube method): the local LPs go straight to the whole regions
    (``local.local_repair``'s ``small_first``; a rate table's numerators' pass).
    ``unhide_cells`` (default): before the final audit, complementary cells are published
    one at a time while every target keeps a witness (``local.unhide``); the final audit
    checks the result as any other pattern. Its work is a number of LP solves
    (``unhide_budget``), never a time.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} ({', '.join(METHODS)})")
    if method == "auto":
        # With ``regoal`` the LP method would ask it for every target: cubes only.
        small = int((primary & (rule != NONE)).sum()) <= AUTO_LP_MAX
        if not small or regoal is not None:
            method = "cubes"
        else:
            # Both, and the pattern with fewer failures, then fewer hidden cells, is kept:
            # under the label bounds neither wins everywhere (see AUTO_LP_MAX).
            runs = [protect(space, values, primary, rule, threshold, lower, upper, run_audit,
                            blocked, m, keep_grand_total, fixable, regoal, unhide_cells,
                            wide, lp_loop, apart, small_first)
                    for m in ("lp", "cubes")]
            return min(runs, key=_pattern_cost)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    grand = grand_totals(space)
    # Cells that may never be hidden as complements (absent or zero: a zero complement would
    # make its label's ">= T" false), kept apart from the grand total for the last resort.
    never = np.zeros(space.size, dtype=bool) if blocked is None else blocked.copy()
    if keep_grand_total:
        # Issue 4: never suppress a grand total when a smaller cell will do.
        blocked = grand if blocked is None else blocked | grand
    need = need_to_move(rule, threshold, values)
    cover = start_cover(primary, need)
    lo = np.zeros(space.size) if lower is None else lower.astype(np.float64)
    hi = np.full(space.size, np.inf) if upper is None else upper.astype(np.float64)
    pending = primary & (rule != NONE)
    n_targets = int(pending.sum())
    wit = Witnesses()
    n_local = 0
    repair: Repair = functools.partial(local_repair, apart=apart, small_first=small_first)
    if method == "cubes":
        moves = move_table(space)
        left = _cube_cover(space, values, cover, np.flatnonzero(pending), rule, lo, hi, blocked,
                           wit, moves, max_level=MAX_CUBE_LEVEL)
        timings["cubes"] = time.perf_counter() - t0
        if len(left):
            t0 = time.perf_counter()
            stuck = len(left)
            left = _local_cover(space, values, cover, left, need, rule, threshold, lo, hi,
                                blocked, wit, repair)
            n_local = stuck - len(left)
            timings["local_lps"] = time.perf_counter() - t0
        if len(left) and wide is not None:
            t0 = time.perf_counter()
            stuck = len(left)
            left = _local_cover(space, values, cover, left, need, rule, threshold, lo, hi,
                                blocked, wit, repair=wide)
            n_local += stuck - len(left)
            timings["wide_lps"] = time.perf_counter() - t0
        pending = np.zeros_like(pending)
        pending[left] = True
        t0 = time.perf_counter()
    by_labels = np.zeros(space.size, dtype=bool)
    if regoal is not None and pending.any():
        t0 = time.perf_counter()
        rule, threshold, left = _regoal(regoal, pending, values, rule, threshold, need, hi,
                                        by_labels)
        upper = hi  # the lowered goals bound their cells in every later LP, as in audit-table
        if method == "cubes" and len(left):
            stuck = len(left)
            left = _local_cover(space, values, cover, left, need, rule, threshold, lo, hi,
                                blocked, wit, repair)
            n_local += stuck - len(left)
        pending = np.zeros_like(pending)
        pending[left] = True
        timings["regoal"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    n_lp = int(pending.sum())
    timings["complementary"] = 0.0
    points: list[Witness] = []
    rounds, t_audit = 0, 0.0
    if pending.any() and lp_loop:
        close_singletons(space, values, cover, blocked, rule == THRESHOLD,
                         _scalar(threshold))
        timings["complementary"] = time.perf_counter() - t0
        rounds, t_audit, t_cover = _lp_repair(space, values, cover, pending, rule, threshold,
                                              lower, upper, lo, hi, blocked, points, never,
                                              fixable=fixable)
        timings["complementary"] += t_cover
    timings["repair_audits"] = t_audit
    wit.add_points([(p.cells, p.x) for p in points], values, rule, threshold)
    targets = cover.suppressed & (rule != NONE)
    if method == "cubes":
        t4 = time.perf_counter()
        # Without the LP loop the targets left have no witness: prune around the others.
        _prune(space, values, cover, primary, targets if lp_loop else targets & ~pending,
               rule, threshold, wit, lo, hi)
        targets = cover.suppressed & (rule != NONE)
        timings["prune"] = time.perf_counter() - t4
    unhidden = 0
    if unhide_cells:
        t6 = time.perf_counter()
        unhidden, wit = _unhide(space, values, cover, primary, targets, need, rule, threshold,
                                wit, lo, hi)
        timings["unhide"] = time.perf_counter() - t6
    final: AuditResult | None = None
    if run_audit:
        t3 = time.perf_counter()
        # The final proof: every witness is re-checked against the final pattern (it must
        # move only cells still hidden, sum to zero in every relation it touches, keep its
        # bounds and carry its cell to the goal); only cells without a valid witness go to
        # the LPs.
        proven, _ = verify(space, values, cover.suppressed, rule, threshold, wit, lo, hi)
        proven &= targets
        by_cube = np.zeros(space.size, dtype=bool)
        cube_ids = np.flatnonzero(wit.kind == Witnesses.CUBE)
        by_cube[wit.claim_cell[np.isin(wit.claim_wid, cube_ids)]] = True
        final = audit(space, values, cover.suppressed, rule, threshold, lower, upper,
                      only=targets & ~proven, fixable=fixable)
        final.targets += int(proven.sum())
        final.certified += int((proven & by_cube).sum())
        final.witnessed += int((proven & ~by_cube).sum())
        final.seconds = time.perf_counter() - t3
        timings["audit"] = time.perf_counter() - t3
        t5 = time.perf_counter()
        derivable = _publish_derivable(space, values, cover, targets | primary, wit, rule,
                                       threshold, lower, upper, lo, hi, fixable=fixable)
        timings["derivable"] = time.perf_counter() - t5
    else:
        derivable = 0
    return Protected(cover, primary, rule, final if run_audit else None, rounds, timings,
                     method, n_targets - n_lp - n_local - int(by_labels.sum()), n_lp, n_local,
                     not bool(cover.suppressed[grand].any()), derivable, witnesses=wit,
                     by_labels=by_labels, unhidden=unhidden)


def _pattern_cost(prot: Protected) -> tuple[int, int]:
    """(audit failures, hidden cells): the better of two patterns is the smaller."""
    failures = len(prot.audit.failures) if prot.audit is not None else 0
    return failures, int(prot.cover.suppressed.sum())


def _unhide(space: CellSpace, values: np.ndarray, cover: Cover, primary: np.ndarray,
            targets: np.ndarray, need: np.ndarray, rule: np.ndarray,
            threshold: int | np.ndarray, wit: Witnesses, lo: np.ndarray,
            hi: np.ndarray) -> tuple[int, Witnesses]:
    """Publish complementary cells that no target needs (``local.unhide``), those moved by
    the fewest witnesses first, then the largest. Returns (how many were published, the
    witnesses: those left valid and the new ones)."""
    cand = cover.suppressed & ~primary & (rule == NONE)
    if not cand.any() or not targets.any():
        return 0, wit
    _, valid = verify(space, values, cover.suppressed, rule, threshold, wit, lo, hi)
    rows = valid[wit.wid] & (np.abs(wit.dx) > 0)
    used = np.bincount(sorted_unique(wit.wid[rows] * space.size + wit.cell[rows]) % space.size,
                       minlength=space.size)
    cells = np.flatnonzero(cand)
    order = cells[np.lexsort((cells, -values[cells], used[cells]))]
    gone, new = unhide(space, values, cover.suppressed, order, np.flatnonzero(targets), need,
                       rule, threshold, lo, hi, wit, valid, unhide_budget(int(targets.sum())))
    cover.via[gone] = -1
    return len(gone), new


def unhide_budget(targets: int) -> int:
    """The unhide pass's LP solves for a pattern with ``targets`` targets."""
    return min(UNHIDE_SOLVES_PER_TARGET * targets,
               max(UNHIDE_MIN_SOLVES, int(UNHIDE_SHARE * targets)), UNHIDE_MAX_SOLVES)


def _regoal(regoal: Regoal, pending: np.ndarray, values: np.ndarray, rule: np.ndarray,
            threshold: int | np.ndarray, need: np.ndarray, hi: np.ndarray,
            by_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower the goals of the ``pending`` targets to ``regoal``'s; (rule, goals, targets
    left). ``need``, ``hi`` and ``by_labels`` are updated in place; ``rule`` and the goals are
    copies (the caller's arrays stay as they were)."""
    cells = np.flatnonzero(pending)
    goal, determined = regoal(cells)
    rule = rule.copy()
    goals = (np.full(len(values), float(threshold)) if not isinstance(threshold, np.ndarray)
             else threshold.astype(np.float64, copy=True))
    goals[cells] = np.minimum(goals[cells], goal)
    hi[cells] = np.minimum(hi[cells], goals[cells])
    rule[cells[determined]] = NONE
    by_labels[cells[determined]] = True
    # Already at the (lower) goal: it only must not be exact (as ``rule_for`` does).
    at_top = (rule[cells] == THRESHOLD) & (values[cells] >= goals[cells])
    rule[cells[at_top]] = EXACT
    need[cells] = need_to_move(rule[cells], goals[cells], values[cells])
    return rule, goals, cells[~determined]


def _publish_derivable(space: CellSpace, values: np.ndarray, cover: Cover,
                       targets: np.ndarray, wit: Witnesses, rule: np.ndarray, threshold: int | np.ndarray,
                       lower: np.ndarray | None, upper: np.ndarray | None, lo: np.ndarray,
                       hi: np.ndarray, fixable: np.ndarray | None = None) -> int:
    """Publish every hidden non-target cell the attacker can derive exactly (hiding it
    protects nothing). ``targets`` includes every primary: a small cell stays hidden under
    its label even when the labels alone determine it (``disclosed_by_labels``, rule NONE);
    publishing its value as a non-primary cell made the publisher-side model read it as
    ">= T" and fail as infeasible (the seed-7 enrollment table). A cell some valid witness moves is not exact (the witness is a second
    feasible value); the others get the LP (with the MILP for fractional optima). Publishing
    a cell whose every feasible integer value is its true value leaves the attacker's
    feasible set as it was, so every proof stands. Returns how many were published."""
    _, valid = verify(space, values, cover.suppressed, rule, threshold, wit, lo, hi)
    moved = np.zeros(space.size, dtype=bool)
    if wit.n:
        ok = valid[wit.wid] & (np.abs(wit.dx) >= 1 - TOL_INT)
        moved[wit.cell[ok]] = True
    cand = cover.suppressed & ~targets & ~moved
    if not cand.any():
        return 0
    # Most derivable cells are pinned within their region (a relaxation of the whole table):
    # two small LPs each instead of two over the whole component (200k-row count table:
    # 448 LP solves over 143,773 hidden cells, 386 s of its 531).
    at = np.flatnonzero(cand)
    pin = pinned(space, values, cover.suppressed, lo, hi, at)
    exact = at[pin].tolist()
    cand[at[pin]] = False
    if cand.any():
        check = np.where(cand, EXACT, NONE).astype(np.int8)
        # Region LPs before the per-cell MILPs over the whole component (200k rows: 38 cells
        # left there took 351 s).
        res = audit(space, values, cover.suppressed, check, threshold, lower, upper, only=cand,
                    fixable=fixable, region_proofs=True)
        exact += [f.cell for f in res.failures
                  if np.isfinite(f.low) and np.isfinite(f.high)
                  and np.floor(f.high + TOL_INT) <= np.ceil(f.low - TOL_INT)]
    if exact:
        cells = np.array(exact, dtype=np.int64)
        cover.suppressed[cells] = False
        cover.via[cells] = -1
    return len(exact)


def _cube_cover(space: CellSpace, values: np.ndarray, cover: Cover, targets: np.ndarray,
                rule: np.ndarray, lo: np.ndarray, hi: np.ndarray, blocked: np.ndarray | None,
                wit: Witnesses, moves: MoveTable, keep: int = KEEP,
                max_level: float = np.inf) -> np.ndarray:
    """Hide a cheapest hypercube around every target, in levels; returns targets left over
    (those without a cube, or whose cheapest cube hides more than ``max_level`` new cells).

    All targets are scored at once; those whose best cube hides the fewest new cells are
    accepted first (0 first: already proven by what is hidden), then only the targets whose
    candidate cubes touch a newly hidden cell are scored again, so later cubes reuse the
    corners earlier ones hid. Among targets accepted in one pass, a new cell is claimed by the
    largest need first, and a target that would hide a cell claimed by another waits for the
    next pass (where that cell is hidden). Exact targets may move down as well as up.
    """
    weight = np.where(grand_totals(space), float(GRAND_CELLS), 1.0)
    val = values.astype(np.float64)
    before = cover.suppressed.copy()
    exact = rule[targets] == EXACT
    # Search rows: each target up; exact targets also down.
    cells = np.concatenate([targets, targets[exact]])
    orient = np.concatenate([np.ones(len(targets), dtype=np.int8),
                             -np.ones(int(exact.sum()), dtype=np.int8)])
    owner = np.concatenate([np.arange(len(targets)), np.flatnonzero(exact)])
    delta = cover.need[cells]
    plan = plan_cubes(space, moves, values, cover.suppressed, cells, delta, orient, lo, hi,
                      weight, blocked, keep=keep)
    # Ties between cubes hiding as many new cells go to cells more cubes could use (8k bench:
    # 3,790 -> 3,762 secondary cells).
    val = val / (1.0 + POPULAR * popularity(plan, space.size, cover.suppressed))
    # Largest need first, then cell index, for claims (deterministic).
    rank = np.empty(len(targets), dtype=np.int64)
    rank[np.lexsort((targets, -cover.need[targets]))] = np.arange(len(targets))
    row_rank = rank[owner]
    open_ = np.ones(len(cells), dtype=bool)
    new, score, combo = evaluate(plan, np.arange(len(cells)), cover.suppressed, weight, val)
    level = 0.0
    index = corner_index(plan, space.size, cover.suppressed)
    chosen = np.full(len(cells), -1, dtype=np.int64)
    while open_.any():
        # With keep_grand_total=False, a cube hiding a grand total counts as GRAND_CELLS new
        # cells, so it is taken last (never, with max_level); by default the grand total is
        # blocked, and the cells left without a cube get local LPs (_local_cover).
        rows = np.flatnonzero(open_ & np.isfinite(new))
        if not len(rows):
            break
        # Best orientation per target.
        order = rows[np.lexsort((score[rows], owner[rows]))]
        first = np.ones(len(order), dtype=bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        best = order[first]
        # Levels only go up: a pass takes every cube at or below the level reached.
        level = max(level, float(new[best].min()))
        if level > max_level:
            break  # the rest get local LPs
        cand = best[new[best] <= level]
        c_row, c_cell, c_sign = corners_of(plan, cand, combo[cand])
        fresh = ~cover.suppressed[c_cell]
        claim = np.full(space.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(claim, c_cell[fresh], row_rank[c_row[fresh]])
        lost = np.zeros(len(cells), dtype=bool)
        lost[c_row[fresh & (claim[c_cell] != row_rank[c_row])]] = True
        take = np.sort(cand[~lost[cand]])
        mine = np.isin(c_row, take)
        c_row, c_cell, c_sign = c_row[mine], c_cell[mine], c_sign[mine]
        added = c_cell[~cover.suppressed[c_cell]]
        cover.suppressed[added] = True
        t_cell = cells[c_row]
        fresh = np.isin(c_cell, added)
        cover.via[c_cell[fresh]] = _varying_dims(space, t_cell[fresh], c_cell[fresh])
        np.maximum.at(cover.need, c_cell, delta[c_row])
        chosen[take] = combo[take]
        done = np.zeros(len(targets), dtype=bool)
        done[owner[take]] = True
        open_ &= ~done[owner]
        if len(added):
            redo = touched(index, sorted_unique(added))
            redo = redo[open_[redo]]
            if len(redo):
                new[redo], score[redo], combo[redo] = evaluate(plan, redo, cover.suppressed,
                                                               weight, val)
    taken = np.flatnonzero(chosen >= 0)
    fixed = before.copy()  # primaries and earlier cubes' cells: never published here
    fixed[wit.cell] = True
    cur = corners_of(plan, taken, chosen[taken])
    cur = _reroute(space, plan, cur, cover, fixed, weight, val)
    c_row, c_cell, c_sign = cur
    wit.add(np.searchsorted(taken, c_row), c_cell, c_sign * delta[c_row], cells[taken],
            np.arange(len(taken)), len(taken), Witnesses.CUBE)
    # Publish what no chosen cube moves any more (the LP fallback then starts from the cubes).
    used = before.copy()
    used[c_cell] = True
    cover.via[cover.suppressed & ~used] = -1
    cover.suppressed &= used
    left = np.zeros(len(targets), dtype=bool)
    left[owner[open_]] = True
    done_any = np.zeros(len(targets), dtype=bool)
    done_any[owner[~open_]] = True
    return targets[left & ~done_any]


def _local_cover(space: CellSpace, values: np.ndarray, cover: Cover, targets: np.ndarray,
                 need: np.ndarray, rule: np.ndarray, threshold: int | np.ndarray, lo: np.ndarray,
                 hi: np.ndarray, blocked: np.ndarray | None, wit: Witnesses,
                 repair: Repair = local_repair) -> np.ndarray:
    """Local LP witnesses for the targets no cube protects; returns the targets left over.

    ``need`` is each target's own goal (``cover.need`` may since have been raised by cubes
    moving the target as a corner, which would ask the LP for more than the rule does).
    """
    before = cover.suppressed.copy()
    points, left = repair(space, values, cover.suppressed, targets, need, lo, hi, blocked)
    for cells, x, target in points:
        fresh = cells[~before[cells]]
        cover.via[fresh] = _varying_dims(space, np.full(len(fresh), target), fresh)
        cover.need[cells] = np.maximum(cover.need[cells], np.abs(x - values[cells]))
    wit.add_points([(c, x) for c, x, _ in points], values, rule, threshold)
    return left


def _reroute(space: CellSpace, plan: CubePlan, cur: tuple[np.ndarray, np.ndarray, np.ndarray],
             cover: Cover, fixed: np.ndarray, weight: np.ndarray,
             val: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move cubes off cells only they use, onto fewer new cells or cells hidden anyway.

    ``cur`` holds the chosen cubes' corners as flat (row, cell, sign) rows; ``plan`` offers
    each row's candidate cubes. A cell moved by one cube only is that cube's own; a cube with
    own cells takes the candidate that hides fewer new cells than it owns, counting its own
    cells as not hidden (primaries, shared cells and other cubes' own cells are free). Moves
    that would take another moving cube's own cell wait, so every accepted move publishes
    more cells than it hides and the union shrinks. Returns the new ``cur``.
    """
    hidden = cover.suppressed
    r, c, sg = cur
    for _ in range(REROUTE_PASSES):
        usage = np.bincount(c, minlength=space.size)
        lone = (usage[c] == 1) & ~fixed[c]
        owner = np.full(space.size, -1, dtype=np.int64)
        owner[c[lone]] = r[lone]
        rows, at = np.unique(r[lone], return_inverse=True)
        rows_ok = rows[plan.row_group[rows] >= 0]
        if not len(rows_ok):
            break
        owned = np.bincount(at.ravel(), weights=weight[c[lone]], minlength=len(rows))
        owned = owned[plan.row_group[rows] >= 0]
        rows = rows_ok
        new, score, combo = evaluate(plan, rows, hidden, weight, val, owner=owner)
        ok = np.isfinite(score) & (new < owned)
        rows, combo = rows[ok], combo[ok]
        if not len(rows):
            break
        moving = np.zeros(len(plan.cells), dtype=bool)
        moving[rows] = True
        nr, nc, ns = corners_of(plan, rows, combo)
        clash = np.zeros(len(plan.cells), dtype=bool)
        other = owner[nc]
        clash[nr[(other >= 0) & (other != nr) & moving[np.maximum(other, 0)]]] = True
        go = ~clash[rows]
        if not go.any():
            break
        switch = np.zeros(len(plan.cells), dtype=bool)
        switch[rows[go]] = True
        mine = switch[nr]
        nr, nc, ns = nr[mine], nc[mine], ns[mine]
        stay = ~switch[r]
        r, c, sg = (np.concatenate([r[stay], nr]), np.concatenate([c[stay], nc]),
                    np.concatenate([sg[stay], ns]))
        fresh = ~hidden[nc]
        hidden[nc[fresh]] = True
        cover.via[nc[fresh]] = _varying_dims(space, plan.cells[nr[fresh]], nc[fresh])
        keep = np.zeros(space.size, dtype=bool)
        keep[c] = True
        gone = (owner >= 0) & ~keep
        hidden[gone] = False
        cover.via[gone] = -1
    order = np.argsort(r, kind="stable")
    return r[order], c[order], sg[order]


def _varying_dims(space: CellSpace, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair, the first dimension in which cells ``a`` and ``b`` differ (a corner's label)."""
    ca = np.stack(np.unravel_index(a, space.shape), axis=1)
    cb = np.stack(np.unravel_index(b, space.shape), axis=1)
    return np.argmax(ca != cb, axis=1).astype(np.int16)


def _prune(space: CellSpace, values: np.ndarray, cover: Cover, primary: np.ndarray,
           targets: np.ndarray, rule: np.ndarray, threshold: int | np.ndarray, wit: Witnesses,
           lo: np.ndarray, hi: np.ndarray) -> None:
    """Publish every hidden cell that no chosen witness moves.

    One witness per target (a cube if it has one, else the smallest LP point claiming it);
    each stays valid when every cell it moves stays hidden, so the others can be shown. Only
    done when every target has a witness valid on the current pattern.
    """
    proven, valid = verify(space, values, cover.suppressed, rule, threshold, wit, lo, hi)
    if not proven[targets].all():
        return
    size = np.bincount(wit.wid, minlength=wit.n)
    ok = valid[wit.claim_wid] & targets[wit.claim_cell]
    cc, cw = wit.claim_cell[ok], wit.claim_wid[ok]
    order = np.lexsort((cw, size[cw], wit.kind[cw], cc))
    first = np.ones(len(order), dtype=bool)
    first[1:] = cc[order][1:] != cc[order][:-1]
    chosen = np.zeros(wit.n, dtype=bool)
    chosen[cw[order][first]] = True
    keep = primary.copy()
    keep[wit.cell[chosen[wit.wid]]] = True
    gone = cover.suppressed & ~keep
    cover.suppressed[gone] = False
    cover.via[gone] = -1
    pruned = wit.select(chosen)
    wit.wid, wit.cell, wit.dx = pruned.wid, pruned.cell, pruned.dx
    wit.claim_cell, wit.claim_wid, wit.kind, wit.n = (pruned.claim_cell, pruned.claim_wid,
                                                       pruned.kind, pruned.n)


def _lp_repair(space: CellSpace, values: np.ndarray, cover: Cover, pending: np.ndarray,
               rule: np.ndarray, threshold: int | np.ndarray, lower: np.ndarray | None,
               upper: np.ndarray | None, lo: np.ndarray, hi: np.ndarray,
               blocked: np.ndarray | None, witnesses: list[Witness],
               never: np.ndarray, fixable: np.ndarray | None = None,
               ) -> tuple[int, float, float]:
    """Audit ``pending`` cells and cover the failing ones until the audit passes;
    returns (rounds, audit seconds, cover seconds)."""
    t_audit = t_cover = 0.0
    rounds = 0
    hops = 1
    last_failing = np.zeros(0, dtype=np.int64)
    while True:
        t1 = time.perf_counter()
        result = audit(space, values, cover.suppressed, rule, threshold, lower, upper,
                       only=pending, diagnose=False, witnesses=witnesses, fixable=fixable)
        t_audit += time.perf_counter() - t1
        if result.ok:
            break
        failing = np.array([f.cell for f in result.failures], dtype=np.int64)
        rounds += 1
        t2 = time.perf_counter()
        hidden_before = int(cover.suppressed.sum())
        # A whole hypercube per failing cell first (the next audit certifies it without an
        # LP); the cells without one get the cheapest neighbour, as before.
        added, rest = hypercube_cover(space, values, cover, failing, lo, hi, blocked)
        added += reinforce(space, values, cover, rest, blocked, hops)
        # A cell that failed last round too gets a second cell at once: one at a time, a few
        # stubborn cells kept the loop (and a whole-component LP per round) going.
        again = rest[np.isin(rest, last_failing)]
        if added and len(again):
            added += reinforce(space, values, cover, again, blocked, hops)
        last_failing = failing
        if not added:
            # Nothing left to hide next to them: either the batched rounds merely failed to
            # prove them (ask the per-cell LPs), or the slack is further away (widen).
            t1 = time.perf_counter()
            result = audit(space, values, cover.suppressed, rule, threshold, lower, upper,
                           only=pending, diagnose=True, witnesses=witnesses,
                           fixable=fixable)
            t_audit += time.perf_counter() - t1
            if result.ok:
                break
            failing = np.array([f.cell for f in result.failures], dtype=np.int64)
            while not added and hops < MAX_HOPS:
                hops += 1
                added = reinforce(space, values, cover, failing, blocked, hops)
            if not added:
                _hide_relations(space, cover, failing, never)
                if rounds > MAX_REPAIR_ROUNDS:
                    break  # the final audit reports what is still unprotected
        close_singletons(space, values, cover, blocked, rule == THRESHOLD,
                         _scalar(threshold))
        t_cover += time.perf_counter() - t2
        if int(cover.suppressed.sum()) == hidden_before:
            # Nothing more could be hidden (the cover only grows): the next audit would see
            # the same pattern and fail the same cells, round after round up to the cap (a
            # rate table in the property tests re-audited one pattern 30 times, 20 s each
            # time it happened). The final audit reports what is still unprotected.
            break
        pending = np.zeros_like(pending)
        pending[failing] = True
    return rounds, t_audit, t_cover


def _hide_relations(space: CellSpace, cover: Cover, failing: np.ndarray,
                    never: np.ndarray) -> None:
    """Last resort: hide every member of a failing cell's relations (the grand total too),
    but never an absent or zero cell."""
    rels = sorted_unique(space.entry_rel[np.isin(space.cells, failing)])
    sel = np.isin(space.entry_rel, rels)
    cells, dims = space.cells[sel], space.rel_dim[space.entry_rel[sel]]
    new = ~cover.suppressed[cells] & ~never[cells]
    cover.suppressed[cells[new]] = True
    cover.via[cells[new]] = dims[new]


def count_primaries(values: np.ndarray, present: np.ndarray, min_n: int,
                    zeros_disclosive: bool) -> np.ndarray:
    small = (values > 0) & (values < min_n)
    if zeros_disclosive:
        small |= (values == 0) & present
    return small


def _scalar(threshold: int | np.ndarray) -> int:
    """One number for the complementary heuristic (a per-cell goal's largest finite value)."""
    if isinstance(threshold, np.ndarray):
        finite = threshold[np.isfinite(threshold)]
        return int(finite.max()) if len(finite) else 0
    return int(threshold)


def rule_for(primary: np.ndarray, protection: str, values: np.ndarray | None = None,
             top: int | np.ndarray | None = None) -> np.ndarray:
    """NONE / THRESHOLD / EXACT per cell. With ``values`` and ``top`` (the label's largest
    value, T - 1): a threshold cell already at ``top`` only needs not to be exact (its label
    already allows the top; it must be able to move below it)."""
    rule = np.full(len(primary), NONE, dtype=np.int8)
    rule[primary] = THRESHOLD if protection == "threshold" else EXACT
    if values is not None and top is not None:
        rule[(rule == THRESHOLD) & (values >= top)] = EXACT
    return rule
