"""Array-level protection: primaries, complementary cover and the audit loop.

Works on dense cell arrays (see ``table.py``); ``api.py`` wraps it for DataFrames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from datashare.disclosure.audit import (
    EXACT,
    NONE,
    THRESHOLD,
    AuditResult,
    Witness,
    audit,
)
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
    Witnesses,
    cube_search,
    grand_totals,
    move_table,
    verify,
)

MAX_REPAIR_ROUNDS = 200
MAX_HOPS = 4
METHODS = ("cubes", "lp")
import os
CLOSE_FIRST = bool(int(os.environ.get("CLOSE_FIRST", "0")))


@dataclass
class Protected:
    cover: Cover
    primary: np.ndarray
    rule: np.ndarray
    audit: AuditResult | None
    repair_rounds: int
    timings: dict[str, float] = field(default_factory=dict)


def protect(
    space: CellSpace,
    values: np.ndarray,
    primary: np.ndarray,
    rule: np.ndarray,
    threshold: int,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    run_audit: bool = True,
    blocked: np.ndarray | None = None,
    method: str = "cubes",
) -> Protected:
    """Cover ``primary`` cells until each has a proof (a witness) that it meets its ``rule``.

    ``method="cubes"`` (default): cheapest balanced hypercubes for every primary at once,
    the LP repair loop only for the primaries without one, then the pattern is pruned to the
    cells the chosen witnesses move. ``method="lp"``: the earlier LP-driven loop (the
    complementary heuristic, then audits and repairs until the audit passes).
    ``run_audit=False`` skips only the final audit.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} ({', '.join(METHODS)})")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    need = np.where(rule == THRESHOLD, np.maximum(threshold - values, 1), 1).astype(np.float64)
    cover = start_cover(primary, need)
    lo = np.zeros(space.size) if lower is None else lower.astype(np.float64)
    hi = np.full(space.size, np.inf) if upper is None else upper.astype(np.float64)
    pending = primary & (rule != NONE)
    wit = Witnesses()
    if method == "cubes":
        if CLOSE_FIRST:
            close_singletons(space, values, cover, blocked, rule == THRESHOLD, threshold)
        left = _cube_cover(space, values, cover, np.flatnonzero(pending), rule, lo, hi, blocked,
                           wit)
        timings["cubes"] = time.perf_counter() - t0
        pending = np.zeros_like(pending)
        pending[left] = True
        t0 = time.perf_counter()
    timings["complementary"] = 0.0
    points: list[Witness] = []
    rounds, t_audit = 0, 0.0
    if pending.any():
        close_singletons(space, values, cover, blocked, rule == THRESHOLD, threshold)
        timings["complementary"] = time.perf_counter() - t0
        rounds, t_audit, t_cover = _lp_repair(space, values, cover, pending, rule, threshold,
                                              lower, upper, lo, hi, blocked, points)
        timings["complementary"] += t_cover
    timings["repair_audits"] = t_audit
    wit.add_points([(p.cells, p.x) for p in points], values, rule, threshold)
    targets = cover.suppressed & (rule != NONE)
    if method == "cubes":
        t4 = time.perf_counter()
        _prune(space, values, cover, primary, targets, rule, threshold, wit, lo, hi)
        targets = cover.suppressed & (rule != NONE)
        timings["prune"] = time.perf_counter() - t4
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
                      only=targets & ~proven)
        final.targets += int(proven.sum())
        final.certified += int((proven & by_cube).sum())
        final.witnessed += int((proven & ~by_cube).sum())
        final.seconds = time.perf_counter() - t3
        timings["audit"] = time.perf_counter() - t3
    return Protected(cover, primary, rule, final if run_audit else None, rounds, timings)


def _cube_cover(space: CellSpace, values: np.ndarray, cover: Cover, targets: np.ndarray,
                rule: np.ndarray, lo: np.ndarray, hi: np.ndarray, blocked: np.ndarray | None,
                wit: Witnesses) -> np.ndarray:
    """Hide a cheapest hypercube around every target, in levels; returns targets left over.

    All targets are searched at once; those whose best cube hides the fewest new cells are
    accepted first (0 first: already proven by what is hidden), then the rest are searched
    again, so later cubes reuse the corners earlier ones hid. Among targets accepted in one
    pass, a new cell is claimed by the largest need first, and a target that would hide a cell
    claimed by another waits for the next pass (where that cell is free). Exact targets may
    move down as well as up.
    """
    moves = move_table(space)
    weight = np.where(grand_totals(space), float(GRAND_CELLS), 1.0)
    exact = rule[targets] == EXACT
    # Search rows: each target up; exact targets also down.
    cells = np.concatenate([targets, targets[exact]])
    orient = np.concatenate([np.ones(len(targets), dtype=np.int8),
                             -np.ones(int(exact.sum()), dtype=np.int8)])
    owner = np.concatenate([np.arange(len(targets)), np.flatnonzero(exact)])
    delta = cover.need[cells]
    # Largest need first, then cell index, for claims (deterministic).
    rank = np.empty(len(targets), dtype=np.int64)
    rank[np.lexsort((targets, -cover.need[targets]))] = np.arange(len(targets))
    open_ = np.ones(len(targets), dtype=bool)
    level = 0.0
    while open_.any():
        rows = np.flatnonzero(open_[owner])
        found = cube_search(space, moves, values, cover.suppressed, cells[rows], delta[rows],
                            orient[rows], lo, hi, weight, blocked)
        # Best orientation per target.
        score = np.where(found.ok, found.cost, np.inf)
        order = np.lexsort((score, owner[rows]))
        first = np.ones(len(order), dtype=bool)
        first[1:] = owner[rows][order][1:] != owner[rows][order][:-1]
        best = order[first]
        best = best[np.isfinite(score[best])]
        if not len(best):
            break
        # Levels only go up: a pass takes every cube at or below the level reached.
        level = max(level, float(found.new[best].min()))
        cand = best[found.new[best] <= level]
        # Corners of the candidates' cubes; the new ones are claimed by the lowest rank.
        sel = np.isin(found.owner, cand)
        c_row, c_cell, c_sign = found.owner[sel], found.cell[sel], found.sign[sel]
        c_rank = rank[owner[rows][c_row]]
        fresh = ~cover.suppressed[c_cell]
        claim = np.full(space.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(claim, c_cell[fresh], c_rank[fresh])
        lost = np.zeros(len(rows), dtype=bool)
        lost[c_row[fresh & (claim[c_cell] != c_rank)]] = True
        take = np.sort(cand[~lost[cand]])
        keep = np.isin(c_row, take)
        c_row, c_cell, c_sign = c_row[keep], c_cell[keep], c_sign[keep]
        t_cell = cells[rows][c_row]
        new = ~cover.suppressed[c_cell]
        cover.suppressed[c_cell[new]] = True
        cover.via[c_cell[new]] = _varying_dims(space, t_cell[new], c_cell[new])
        np.maximum.at(cover.need, c_cell, delta[rows][c_row])
        local = np.searchsorted(take, c_row)
        wit.add(local, c_cell, c_sign * delta[rows][c_row], cells[rows][take], np.arange(len(take)),
                len(take), Witnesses.CUBE)
        open_[owner[rows][take]] = False
    return targets[open_]


def _varying_dims(space: CellSpace, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair, the first dimension in which cells ``a`` and ``b`` differ (a corner's label)."""
    ca = np.stack(np.unravel_index(a, space.shape), axis=1)
    cb = np.stack(np.unravel_index(b, space.shape), axis=1)
    return np.argmax(ca != cb, axis=1).astype(np.int16)


def _prune(space: CellSpace, values: np.ndarray, cover: Cover, primary: np.ndarray,
           targets: np.ndarray, rule: np.ndarray, threshold: int, wit: Witnesses,
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
               rule: np.ndarray, threshold: int, lower: np.ndarray | None,
               upper: np.ndarray | None, lo: np.ndarray, hi: np.ndarray,
               blocked: np.ndarray | None, witnesses: list[Witness]) -> tuple[int, float, float]:
    """Audit ``pending`` cells and cover the failing ones until the audit passes;
    returns (rounds, audit seconds, cover seconds)."""
    t_audit = t_cover = 0.0
    rounds = 0
    hops = 1
    last_failing = np.zeros(0, dtype=np.int64)
    while True:
        t1 = time.perf_counter()
        result = audit(space, values, cover.suppressed, rule, threshold, lower, upper,
                       only=pending, diagnose=False, witnesses=witnesses)
        t_audit += time.perf_counter() - t1
        if result.ok:
            break
        failing = np.array([f.cell for f in result.failures], dtype=np.int64)
        rounds += 1
        t2 = time.perf_counter()
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
                           only=pending, diagnose=True, witnesses=witnesses)
            t_audit += time.perf_counter() - t1
            if result.ok:
                break
            failing = np.array([f.cell for f in result.failures], dtype=np.int64)
            while not added and hops < MAX_HOPS:
                hops += 1
                added = reinforce(space, values, cover, failing, blocked, hops)
            if not added:
                _hide_relations(space, cover, failing)
                if rounds > MAX_REPAIR_ROUNDS:
                    break  # the final audit reports what is still unprotected
        close_singletons(space, values, cover, blocked, rule == THRESHOLD, threshold)
        t_cover += time.perf_counter() - t2
        pending = np.zeros_like(pending)
        pending[failing] = True
    return rounds, t_audit, t_cover


def _hide_relations(space: CellSpace, cover: Cover, failing: np.ndarray) -> None:
    rels = np.unique(space.entry_rel[np.isin(space.cells, failing)])
    sel = np.isin(space.entry_rel, rels)
    cells, dims = space.cells[sel], space.rel_dim[space.entry_rel[sel]]
    new = ~cover.suppressed[cells]
    cover.suppressed[cells[new]] = True
    cover.via[cells[new]] = dims[new]


def count_primaries(values: np.ndarray, present: np.ndarray, min_n: int,
                    zeros_disclosive: bool) -> np.ndarray:
    small = (values > 0) & (values < min_n)
    if zeros_disclosive:
        small |= (values == 0) & present
    return small


def rule_for(primary: np.ndarray, protection: str) -> np.ndarray:
    rule = np.full(len(primary), NONE, dtype=np.int8)
    rule[primary] = THRESHOLD if protection == "threshold" else EXACT
    return rule
