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
    verify_witnesses,
)
from datashare.disclosure.secondary import (
    Cover,
    close_singletons,
    hypercube_cover,
    reinforce,
    start_cover,
)
from datashare.disclosure.table import CellSpace

MAX_REPAIR_ROUNDS = 200
MAX_HOPS = 4


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
) -> Protected:
    """Cover ``primary`` cells until the LP audit proves each meets its ``rule``.

    The repair loop needs the audit to know which cells still fail, so it always runs; with
    ``run_audit=False`` only the final full re-audit is skipped.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    need = np.where(rule == THRESHOLD, np.maximum(threshold - values, 1), 1).astype(np.float64)
    cover = start_cover(primary, need)
    lo = np.zeros(space.size) if lower is None else lower.astype(np.float64)
    hi = np.full(space.size, np.inf) if upper is None else upper.astype(np.float64)
    close_singletons(space, values, cover, blocked, rule == THRESHOLD, threshold)
    timings["complementary"] = time.perf_counter() - t0
    t_audit = 0.0
    pending = primary & (rule != NONE)
    rounds = 0
    hops = 1
    witnesses: list[Witness] = []
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
        timings["complementary"] += time.perf_counter() - t2
        pending = np.zeros_like(pending)
        pending[failing] = True
    timings["repair_audits"] = t_audit
    final: AuditResult | None = None
    if run_audit:
        t3 = time.perf_counter()
        # The final proof: every feasible point that proved a cell during repair is checked
        # against the final pattern (verify_witnesses); only cells without a still-valid point
        # go back to the LPs.
        targets = cover.suppressed & (rule != NONE)
        reused = verify_witnesses(space, values, cover.suppressed, rule, threshold, witnesses,
                                  lower, upper) & targets
        final = audit(space, values, cover.suppressed, rule, threshold, lower, upper,
                      only=targets & ~reused)
        final.targets += int(reused.sum())
        final.witnessed = int(reused.sum())
        final.seconds = time.perf_counter() - t3
        timings["audit"] = time.perf_counter() - t3
    return Protected(cover, primary, rule, final if run_audit else None, rounds, timings)


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
