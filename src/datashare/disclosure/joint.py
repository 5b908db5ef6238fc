"""Rate tables in ONE attacker model: numerators and denominators together (issue 12).

A rate table (numerator ``met``, denominator ``tested``) is audited and protected in the
*rate space* (``model.rate_space``): the count table's cell space with a ``_measure``
dimension whose one relation is ``tested = met + not met``. So every relation of both
measures binds the same variables, and ``not met >= 0`` is ``met <= tested``. What the labels
say bounds each hidden cell (``rate_bounds``):

* a denominator: primary (``N<10``) 1..T-1; complementary >= T (sound: the engine never hides
  a zero denominator as a complement, checked on the truth side);
* a numerator whose denominator is published: its coded range (``<X%``: 0..k-1; ``>Y%``:
  N-k+1..N) or, hidden but not coded, k..N-k (the public rule would have coded it); with
  the denominator hidden, only 0 <= met <= tested;
* "not met": hidden whenever either measure is, >= 0.

Targets: primary denominators (``threshold`` or ``exact``), every numerator hidden because
its denominator is hidden or its rate is coded (``exact``: never a single value), and, on
the publisher side, every other hidden numerator (a hidden cell that is exact protects
nothing). Array-level, like ``engine.py``; ``api.py`` wraps it for DataFrames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from datashare.disclosure import rates
from datashare.disclosure.audit import (
    EXACT,
    NONE,
    THRESHOLD,
    AuditResult,
    Failure,
    audit,
    restricted_proofs,
    whole_start,
)
from datashare.disclosure.blocks import block_repair
from datashare.disclosure.engine import Protected, protect
from datashare.disclosure.errors import DisclosureError
from datashare.disclosure.local import bounds_holding
from datashare.disclosure.lp import equality_model, whole_point
from datashare.disclosure.model import numerator_bounds, rate_space, stack
from datashare.disclosure.policy import Policy
from datashare.disclosure.spec import DEN, NUM, REST, Spec
from datashare.disclosure.table import CellSpace
from datashare.disclosure.witness import Witnesses, grand_totals, verify

# The count engine's method in the rate space, for ``auto``: the LP method. Its batched and
# per-cell LP points are repaired to whole numbers (``audit.audit(fixable=...)``), while the
# cube method's local LPs in the rate space are slow (discipline, demo sample: 59 s CPU for
# 2,217 targets, ~100 ms per warm-started solve). Measured CPU, suppress: discipline 86 s
# (cubes) -> 58 s (lp); dropout 7.4 -> 8.4 s, with 683 hidden denominators instead of 685.
JOINT_METHOD = {"auto": "lp"}
MAX_ROUNDS = 6  # joint protection rounds (each may hide denominators, whose rows then open)
# Witnesses of the group sizes that no multiple lifts get a small MILP each (``_split``):
# at scale-1 chronic absence 9,867 of 127,704, holding ~19,000 of the group sizes' proofs.
SPLIT_MAX = 50_000
NUM_GRAND_FIRST = False  # keep the numerators' grand total published in a first attempt (costs a second run when it fails)


def at(measure: int, n: int) -> np.ndarray:
    """Rate-space indices of one measure's cells (the measure is the last, fastest axis)."""
    return np.arange(n, dtype=np.int64) * 3 + measure


def numerators(n: int) -> np.ndarray:
    """The numerator cells of a rate space of ``n`` base cells, as a mask: the LPs' vertices
    in this space are half-integral in the denominators and "not met" only, so a fractional
    point keeps its whole numerators and re-solves the rest (``audit.audit``'s ``fixable``)."""
    mask = np.zeros(3 * n, dtype=bool)
    mask[at(NUM, n)] = True
    return mask


def rest_hidden(den_hidden: np.ndarray, num_hidden: np.ndarray) -> np.ndarray:
    """"Not met" is never published: it is known exactly when both measures are."""
    return den_hidden | num_hidden


def rate_bounds(den: np.ndarray, den_hidden: np.ndarray, den_primary: np.ndarray,
                code: np.ndarray, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Per rate-space cell, what the labels say of it if it is hidden (see the module doc).

    ``den`` is read only where it is published (the numerator's coded range needs N) and,
    on the truth side, to leave zero denominators unbounded below (they are never hidden
    as complements)."""
    n = len(den)
    d_lo = np.where(den_primary, 0.0 if policy.zeros_disclosive else 1.0, float(policy.min_n))
    d_hi = np.where(den_primary, float(policy.min_n - 1), np.inf)
    d_lo[~den_primary & ~den_hidden & (den == 0)] = 0.0
    n_lo, n_hi = numerator_bounds(den, den_hidden, code, policy.top_bottom)
    zero = ~den_hidden & (den == 0)
    n_lo[zero], n_hi[zero] = 0.0, 0.0
    n_lo = np.maximum(n_lo, 0.0)
    lo = stack(d_lo, n_lo, np.zeros(n))
    hi = stack(d_hi, n_hi, np.full(n, np.inf))
    return lo, hi


@dataclass
class RateModel:
    """One rate table in the rate space: values, hidden cells, targets and label bounds."""

    space: CellSpace
    values: np.ndarray
    hidden: np.ndarray
    rule: np.ndarray
    goal: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    extra_exact: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def build(rspace: CellSpace, num: np.ndarray,
          den: np.ndarray, num_hidden: np.ndarray, den_hidden: np.ndarray,
          den_primary: np.ndarray, den_rule: np.ndarray, den_goal: np.ndarray,
          code: np.ndarray, policy: Policy) -> RateModel:
    """The rate model of a pattern. ``den_rule``: NONE/EXACT/THRESHOLD per base cell for the
    denominators; numerators hidden with their denominator or under a coded rate are EXACT
    targets; other hidden numerators are ``extra_exact`` (checked, not protected for)."""
    n = len(den)
    values = stack(den, num, den - num)
    hidden = stack(den_hidden, num_hidden, rest_hidden(den_hidden, num_hidden))
    num_target = num_hidden & (den_hidden | (code > 0))
    rule = stack(np.where(den_hidden, den_rule, NONE),
                 np.where(num_target, EXACT, NONE), np.full(n, NONE)).astype(np.int8)
    goal = stack(den_goal.astype(np.float64), np.full(n, np.inf), np.full(n, np.inf))
    lo, hi = rate_bounds(den, den_hidden, den_primary, code, policy)
    extra = stack(np.zeros(n, dtype=bool), num_hidden & ~num_target, np.zeros(n, dtype=bool))
    return RateModel(rspace, values, hidden, rule, goal, lo, hi, extra)


@dataclass
class JointProtected:
    den_hidden: np.ndarray
    num_hidden: np.ndarray
    code: np.ndarray
    via: np.ndarray  # per rate-space cell: the dimension that made it complementary, or -1
    model: RateModel
    audit: AuditResult | None
    rounds: int
    stats: dict[str, object]
    timings: dict[str, float]
    # Every round's witnesses (movements from the true values in ``model.space``): the
    # proof the publisher's audit of the published file re-verifies (``api.Proof``).
    witnesses: Witnesses = field(default_factory=Witnesses)


def code_for(num: np.ndarray, den: np.ndarray, den_hidden: np.ndarray,
             policy: Policy) -> np.ndarray:
    """The public coding rule, applied only where the group size is published."""
    return rates.coding(num, den, policy.top_bottom, eligible=(den >= policy.min_n) & ~den_hidden)


def lift_denominators(w: Witnesses, num: np.ndarray, den: np.ndarray,
                      space: CellSpace | None = None) -> Witnesses:
    """The denominators' witnesses (movements of hidden group sizes, balanced in every
    relation) as rate-space movements. A witness moving group sizes by ``dx`` = g * a
    (g the gcd of its moves) moves the numerators by k * a and "not met" by (g - k) * a for
    one whole k in 0..g: both are multiples of a balanced movement, so balanced, and whole.
    The largest k keeping every numerator and every "not met" >= 0 is taken (k >= 1 moves
    every numerator with its group size: proves both, and the numerator is not exact); a
    witness with no such k is dropped (the rounds search for its targets). Only k = g (all
    by numerators) and k = 0 (all by "not met") were tried before: at scale-1 chronic
    absence that left 25,172 targets to the rate-space rounds. With ``space``, a witness no
    multiple fits gets its own split (``_split``: a small MILP over its cells; up to
    SPLIT_MAX of them). The moved cells are hidden denominators, whose numerators and "not
    met" are hidden too, with no bound but >= 0; the rounds re-verify every movement against
    their model anyway."""
    if not w.n:
        return Witnesses()
    num, den = np.rint(num).astype(np.int64), np.rint(den).astype(np.int64)
    # One row per (witness, cell): a witness may list a cell more than once.
    key = w.wid * len(den) + w.cell
    uk, inv = np.unique(key, return_inverse=True)
    dx = np.rint(np.bincount(inv.ravel(), weights=w.dx, minlength=len(uk))).astype(np.int64)
    move = dx != 0
    uk, dx = uk[move], dx[move]
    wid, cell = uk // len(den), uk % len(den)
    if not len(wid):
        return Witnesses()
    starts = np.flatnonzero(np.r_[True, wid[1:] != wid[:-1]])  # rows are sorted by witness
    ends = np.r_[starts[1:], len(wid)]
    g = np.gcd.reduceat(np.abs(dx), starts)
    owner = np.repeat(np.arange(len(starts)), ends - starts)
    a = dx // g[owner]
    # A row moving down by |a| per unit of k: k * |a| <= met, (g - k) * |a| <= not met.
    down = a < 0
    step = np.abs(a)
    big = np.iinfo(np.int64).max
    k_hi = np.minimum.reduceat(np.where(down, num[cell] // step, big), starts)
    k_lo = np.maximum.reduceat(np.where(down, g[owner] - (den[cell] - num[cell]) // step, 0),
                               starts)
    k = np.minimum(k_hi, g)
    scaled = k >= np.maximum(k_lo, 0)
    y = k[owner] * a
    keep = scaled.copy()
    if space is not None:
        # No multiple fits (rows that need different shares): a split of its own per witness.
        for i in np.flatnonzero(~scaled)[:SPLIT_MAX].tolist():
            at = slice(starts[i], ends[i])
            got = _split(space, cell[at], dx[at], num, den)
            if got is not None:
                y[at], keep[i] = got, True
    rows = keep[owner]
    new_id = np.cumsum(keep) - 1
    r_own = new_id[owner[rows]]
    c, d, y = cell[rows], dx[rows], y[rows]
    r_wid = np.concatenate([r_own, r_own, r_own])
    r_cell = np.concatenate([c * 3 + DEN, c * 3 + NUM, c * 3 + REST])
    r_dx = np.concatenate([d, y, d - y])
    nonzero = r_dx != 0
    r_wid, r_cell, r_dx = r_wid[nonzero], r_cell[nonzero], r_dx[nonzero]
    claim = r_cell % 3 != REST  # "not met" is never a target
    out = Witnesses()
    out.add(r_wid, r_cell, r_dx.astype(np.float64), r_cell[claim], r_wid[claim],
            int(keep.sum()), Witnesses.LP)
    return out


def _split(space: CellSpace, cells: np.ndarray, dx: np.ndarray, num: np.ndarray,
           den: np.ndarray) -> np.ndarray | None:
    """Whole numerator moves ``y`` over one witness's ``cells`` (its group sizes move by
    ``dx``), balanced in every relation touching them with every other cell held, each met
    and "not met" staying >= 0 (-met <= y <= not met + dx); as far as they go in the group
    sizes' direction. None if there is none within the node limit (``lp.whole_point``)."""
    col, entry = space.entries(cells)
    rels, row = np.unique(space.entry_rel[entry], return_inverse=True)
    lower = -num[cells].astype(np.float64)
    upper = (den[cells] - num[cells] + dx).astype(np.float64)
    lp = equality_model(len(cells), row.ravel(), col, space.coef[entry].astype(np.float64),
                        np.zeros(len(rels)), -np.sign(dx).astype(np.float64), lower, upper)
    y = whole_point(lp)
    return None if y is None else y.astype(np.int64)


def _numerator_pass(space: CellSpace, num: np.ndarray, den: np.ndarray,
                    num_h: np.ndarray, den_h: np.ndarray, code: np.ndarray,
                    present: np.ndarray, todo: np.ndarray, policy: Policy,
                    keep_grand_total: bool) -> tuple[Witnesses, np.ndarray, np.ndarray]:
    """Numerator targets (``todo``: EXACT, base cells) protected in the numerators' own
    count space by the count engine's cubes and local LPs, with group sizes held: a movement
    ``dx`` of numerators is the rate-space movement (met + dx, not met - dx), valid when each
    moved numerator stays within what its label says (coded range, [k, N-k] if hidden but
    not coded, >= 0 with N hidden) and not above its group size. Returns (the rate-space
    witnesses, the numerators it hides as complements, their ``via``). Only numerators with
    a published, uncoded, non-zero group size may be hidden: the attacker's bound for them,
    [k, N-k], holds for the truth."""
    lo, hi = numerator_bounds(den, den_h, code, policy.top_bottom)
    lo = np.maximum(lo, 0.0)
    hi = np.minimum(hi, den.astype(np.float64))
    rule = np.where(todo, EXACT, NONE).astype(np.int8)
    blocked = ~present | (~den_h & (den == 0))
    # Its local LPs' soft rounds over targets apart (``local.local_repair``), as a count
    # table's: as fast, and 3,475 fewer values hidden over five scale-1 tables
    # (docs/disclosure.md, *A rate table's numerators' pass over targets apart*). The group
    # sizes and the joint rounds keep theirs: with rounds apart there too, scale-0.2 chronic
    # absence ran away.
    # Straight to the whole regions, not the small ones first: a numerator moved by a unit
    # needs another to move against it, and in the small region (the cell's parent, its
    # siblings without children) those are mostly held published or at 0. Scale-1
    # discipline's small tier carried about 1,700 of the 94,000 targets it was given (soft
    # rounds 781 of 22,769 asked, single solves 919 points), and this pass took 209.7 ->
    # 138.4 s without it; the whole table 0.82 of its time (chronic absence 0.95,
    # proficiency 0.96) for 0.05-0.16% more cells hidden (docs/disclosure.md, *The
    # numerators' pass without the small regions*).
    prot = protect(space, num, num_h, rule, int(policy.min_n), lo, hi, run_audit=False,
                   blocked=blocked, method="cubes", keep_grand_total=keep_grand_total,
                   unhide_cells=False, wide=partial(block_repair, exact=True), lp_loop=False,
                   apart=True, small_first=False)
    new = prot.cover.suppressed & ~num_h
    w = prot.witnesses if prot.witnesses is not None else Witnesses()
    out = Witnesses()
    if w.n:
        r_wid = np.concatenate([w.wid, w.wid])
        r_cell = np.concatenate([w.cell * 3 + NUM, w.cell * 3 + REST])
        r_dx = np.concatenate([w.dx, -w.dx])
        out.add(r_wid, r_cell, r_dx, w.claim_cell * 3 + NUM, w.claim_wid, w.n, Witnesses.LP)
    return out, new, prot.cover.via


def protect_rates(space: CellSpace, base: Spec, numerator: str, denominator: str,
                  num: np.ndarray, den: np.ndarray, present: np.ndarray,
                  den_primary: np.ndarray, den_rule: np.ndarray, den_goal: np.ndarray,
                  den_hidden: np.ndarray, policy: Policy, *, run_audit: bool, method: str,
                  keep_grand_total: bool,
                  den_witnesses: Witnesses | None = None) -> JointProtected:
    """Joint protection, starting from a denominator pattern (the count engine's, under the
    denominators' own label model): the count engine's ``protect`` on the rate space, every
    cell hidden so far held hidden, targets as in ``build``. A round that hides a new
    denominator hides its numerator too (the row's rate is then not shown, so its coded range
    is no longer published: the bounds only loosen, so every proof found stands) and the next
    round protects that numerator. The numerators' grand total is first kept published, then
    allowed if the audit fails (under coded ranges it can be the only protection)."""
    t0 = time.perf_counter()
    first = _joint(space, base, numerator, denominator, num, den, present, den_primary,
                   den_rule, den_goal, den_hidden, policy, run_audit=run_audit, method=method,
                   keep_grand_total=keep_grand_total, keep_num_grand=NUM_GRAND_FIRST and keep_grand_total,
                   den_witnesses=den_witnesses)
    out = first
    if keep_grand_total and first.audit is not None and not first.audit.ok:
        again = _joint(space, base, numerator, denominator, num, den, present, den_primary,
                       den_rule, den_goal, den_hidden, policy, run_audit=run_audit,
                       method="lp", keep_grand_total=True, keep_num_grand=False)
        if again.audit is not None and len(again.audit.failures) < len(first.audit.failures):
            out = again
    if keep_grand_total and out.audit is not None and not out.audit.ok:
        # Under the labels a published grand total can force a cell (18 over two "N<10"
        # groups makes both 9), as for counts: then the grand total may be a complement.
        third = _joint(space, base, numerator, denominator, num, den, present, den_primary,
                       den_rule, den_goal, den_hidden, policy, run_audit=run_audit,
                       method="lp", keep_grand_total=False, keep_num_grand=False)
        if third.audit is not None and len(third.audit.failures) < len(out.audit.failures):
            out = third
    out.timings["joint_total"] = time.perf_counter() - t0
    return out


def _joint(space: CellSpace, base: Spec, numerator: str, denominator: str, num: np.ndarray,
           den: np.ndarray, present: np.ndarray, den_primary: np.ndarray,
           den_rule: np.ndarray, den_goal: np.ndarray, den_hidden: np.ndarray,
           policy: Policy, *, run_audit: bool, method: str, keep_grand_total: bool,
           keep_num_grand: bool, den_witnesses: Witnesses | None = None) -> JointProtected:
    n = len(den)
    rspace = rate_space(base, numerator, denominator)
    den_h = den_hidden.copy()
    code = code_for(num, den, den_h, policy)
    num_h = den_h | (code > 0)
    via = np.full(3 * n, -1, dtype=np.int16)
    timings: dict[str, float] = {"joint_protect": 0.0}
    rounds = 0
    last: Protected | None = None
    settled = False
    gone = np.zeros(n, dtype=bool)
    found = {"cube_witnesses": 0, "local_lp_witnesses": 0, "lp_repair_targets": 0,
             "repair_rounds": 0, "rows_opened": 0}  # over every round
    fixable = numerators(n)
    # Every round's witnesses: a later round only hides more and loosens bounds (a hidden
    # denominator's row loses its coded range), so they usually still hold; each is
    # re-verified against the round's model and the cells it proves are not searched again
    # (dropout table: the second round cost as much as the first, for one new denominator).
    prior = Witnesses()
    asked = np.zeros(3 * n, dtype=bool)  # the last round's targets (its audit covers them)
    if den_witnesses is not None:
        # Before the rounds: the denominators' own witnesses lifted to the rate space and the
        # numerator targets protected in the numerators' count space (``_numerator_pass``),
        # so the rounds (whole-component LPs) see only what these leave. Dropout at scale 0.1
        # (29,569 rows): the rounds alone had not finished after 350 s CPU.
        t1 = time.perf_counter()
        prior.extend(lift_denominators(den_witnesses, num, den, space))
        model = build(rspace, num, den, num_h, den_h, den_primary, den_rule, den_goal, code,
                      policy)
        done, _ = verify(model.space, model.values, model.hidden, model.rule, model.goal,
                         prior, model.lo, model.hi)
        todo = (model.rule[at(NUM, n)] != NONE) & ~done[at(NUM, n)]
        timings["lift"] = time.perf_counter() - t1
        if todo.any():
            t1 = time.perf_counter()
            by_num, new_num, num_via = _numerator_pass(space, num, den, num_h, den_h, code,
                                                       present, todo, policy,
                                                       keep_grand_total)
            prior.extend(by_num)
            num_h = num_h | new_num
            via[at(NUM, n)[new_num]] = num_via[new_num]
            timings["numerator_pass"] = time.perf_counter() - t1
    few = den_witnesses is not None and method == "auto"
    for round_ in range(MAX_ROUNDS):
        rounds += 1
        model = build(rspace, num, den, num_h, den_h, den_primary,
                      den_rule, den_goal, code, policy)
        blocked = _blocked(model, den, present, den_primary, keep_num_grand)
        t1 = time.perf_counter()
        rule = model.rule.copy()
        if prior.n:
            done, _ = verify(model.space, model.values, model.hidden, model.rule, model.goal,
                             prior, model.lo, model.hi)
            rule[done] = NONE
        # After the numerator pass few targets are left: cubes, local LPs and block LPs in
        # the rate space (group sizes may move too) before the LP loop over the component.
        # First without the loop: a target none of them moves is often held by its
        # neighbours' label bounds, which no cell hidden under this round's bounds loosens
        # (the loop hid 1,600 cells over 12 rounds at scale-0.1 dropout and proved none of
        # its 47); their rows' group sizes are hidden instead and the next round has the
        # looser bounds. The last round always runs the loop.
        opened = np.zeros(n, dtype=bool)
        if few and round_ < MAX_ROUNDS - 1:
            probe = protect(model.space, model.values, model.hidden, rule, model.goal,
                            model.lo, model.hi, run_audit=False, blocked=blocked,
                            method="cubes", keep_grand_total=keep_grand_total,
                            fixable=fixable, unhide_cells=False, lp_loop=False,
                            wide=partial(block_repair, exact=rule == EXACT))
            unproven = _unproven(probe, model, rule)
            if unproven.any():
                opened = _open_rows(model, probe, unproven, blocked, den_h, keep_grand_total)
            if opened.any():
                timings["joint_protect"] += time.perf_counter() - t1
                num_h, den_h, gone = _absorb(probe, model, num_h, den_h, via, prior, found)
                den_h |= opened
                num_h |= den_h
                found["rows_opened"] += int(opened.sum())
                code = np.where(den_h, 0, code).astype(np.int8)
                continue
        asked = model.hidden & (rule != NONE)
        # Its final audit re-checks its own witnesses (no LP for a cell that has one); the
        # round's model is the final one when it hides no new denominator (below).
        prot = protect(model.space, model.values, model.hidden, rule, model.goal,
                       model.lo, model.hi, run_audit=run_audit, blocked=blocked,
                       method="cubes" if few else JOINT_METHOD.get(method, method),
                       keep_grand_total=keep_grand_total, fixable=fixable, unhide_cells=False,
                       wide=partial(block_repair, exact=rule == EXACT) if few else None)
        timings["joint_protect"] += time.perf_counter() - t1
        last = prot
        before = den_h.copy()
        num_h, den_h, gone = _absorb(prot, model, num_h, den_h, via, prior, found)
        if not (den_h & ~before).any():
            settled = True
            break  # numerators only: the bounds are those the round was protected under
        code = np.where(den_h, 0, code).astype(np.int8)
    model = build(rspace, num, den, num_h, den_h, den_primary,
                  den_rule, den_goal, code, policy)
    result: AuditResult | None = None
    derivable = int(gone.sum())
    if run_audit and not (settled and last is not None and last.audit is not None):
        t2 = time.perf_counter()  # rounds ran out: this pattern was never audited whole
        result = audit(model.space, model.values, model.hidden, model.rule, model.goal,
                       model.lo, model.hi, fixable=fixable)
        result.failures += _zero_complements(model, den, den_primary)
        timings["audit"] = time.perf_counter() - t2
    elif run_audit and last is not None and last.audit is not None:
        # The last round's model is this one but for cells hidden here that the engine
        # published (they keep their true values: every proof stands), so its audit is
        # this table's audit.
        result = last.audit
        t2 = time.perf_counter()
        _cover_earlier(model, prior, asked, result, fixable)
        result.failures += _zero_complements(model, den, den_primary)
        timings["audit"] = last.timings.get("audit", 0.0) + time.perf_counter() - t2
    grand = grand_totals(space)
    stats: dict[str, object] = {
        "method": last.method if last else method,
        "joint_rounds": rounds,
        **found,
        "derivable_published": derivable,
        "numerator_grand_total_published": not bool(num_h[grand].any()),
        "denominator_grand_total_published": not bool(den_h[grand].any()),
    }
    return JointProtected(den_h, num_h, code, via, model, result, rounds, stats, timings,
                          prior)


def _absorb(prot: Protected, model: RateModel, num_h: np.ndarray, den_h: np.ndarray,
            via: np.ndarray, prior: Witnesses, found: dict[str, int],
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A round's pattern and witnesses into the joint state: (numerators hidden, group sizes
    hidden, hidden numerators the engine published as derivable)."""
    n = len(den_h)
    for k, got_k in (("cube_witnesses", prot.cubed), ("local_lp_witnesses", prot.local_targets),
                     ("lp_repair_targets", prot.lp_targets),
                     ("repair_rounds", prot.repair_rounds)):
        found[k] += got_k
    if prot.witnesses is not None:
        prior.extend(prot.witnesses)
    got = prot.cover.suppressed
    fresh = got & ~model.hidden & (prot.cover.via >= 0)
    via[fresh] = prot.cover.via[fresh]
    new_den = got[at(DEN, n)] & ~den_h
    new_num = got[at(NUM, n)] & ~num_h
    den_h = den_h | new_den
    # The engine publishes hidden non-target cells it finds exactly derivable: for a
    # complementary numerator (group size published, rate not coded) that is sound and
    # kept; a denominator stays hidden (its row's coding would be published) and so
    # does the numerator of a hidden denominator (hiding more never weakens a proof).
    gone = model.hidden[at(NUM, n)] & ~got[at(NUM, n)] & ~den_h
    num_h = (num_h & ~gone) | new_num | den_h
    return num_h, den_h, gone


def _unproven(prot: Protected, model: RateModel, rule: np.ndarray) -> np.ndarray:
    """The round's targets its own witnesses do not prove (``rule`` has no target an earlier
    round's witness proves: each still holds with more cells hidden)."""
    hidden = prot.cover.suppressed
    targets = hidden & (rule != NONE)
    if prot.witnesses is not None and prot.witnesses.n:
        proven, _ = verify(model.space, model.values, hidden, rule, model.goal,
                           prot.witnesses, model.lo, model.hi)
        targets &= ~proven
    return targets


def _open_rows(model: RateModel, probe: Protected, unproven: np.ndarray, blocked: np.ndarray,
               den_h: np.ndarray, keep_grand_total: bool) -> np.ndarray:
    """Group sizes to hide so the label bounds holding the probe's ``unproven`` numerators
    go: per target, the numerators whose bounds hold it in its region's LP
    (``local.bounds_holding``) with a bound their row's label sets (a coded range, or
    [k, N - k]: not the 0 every count has); their published group sizes, never a zero or
    absent one (a complement's label says >= T) nor, with ``keep_grand_total``, the grand
    total's. A mask over the base cells."""
    n = len(den_h)
    targets = np.flatnonzero(unproven)
    targets = targets[targets % 3 == NUM]
    if not len(targets):
        return np.zeros(n, dtype=bool)
    held = bounds_holding(model.space, model.values, probe.cover.suppressed, model.lo,
                          model.hi, targets, blocked)
    cells = np.flatnonzero(held)
    cells = cells[cells % 3 == NUM]
    v, lo, hi = model.values[cells], model.lo[cells], model.hi[cells]
    at_label = ((v >= hi - 1e-9) & (hi < np.inf)) | ((v <= lo + 1e-9) & (lo > 0))
    rows = cells[at_label] // 3
    ok = ~den_h[rows] & ~blocked[rows * 3 + DEN]
    if keep_grand_total:
        ok &= ~grand_totals(model.space)[rows * 3 + DEN]
    out = np.zeros(n, dtype=bool)
    out[rows[ok]] = True
    return out


def _cover_earlier(model: RateModel, prior: Witnesses, asked: np.ndarray,
                   result: AuditResult, fixable: np.ndarray) -> None:
    """The last round's audit covers the targets it was asked for; the others (proven by an
    earlier round's witness) are proven here by those witnesses, re-verified against the
    final model, and any that no longer hold get the audit's LPs. Merged into ``result``."""
    targets = model.hidden & (model.rule != NONE) & ~asked
    if not targets.any():
        return
    proven, _ = verify(model.space, model.values, model.hidden, model.rule, model.goal, prior,
                       model.lo, model.hi)
    proven &= targets
    result.targets += int(proven.sum())
    result.witnessed += int(proven.sum())
    rest = targets & ~proven
    if rest.any():
        more = audit(model.space, model.values, model.hidden, model.rule, model.goal,
                     model.lo, model.hi, only=rest, fixable=fixable)
        result.targets += more.targets
        result.certified += more.certified
        result.local += more.local
        result.witnessed += more.witnessed
        result.lp_solves += more.lp_solves
        result.failures = sorted(result.failures + more.failures, key=lambda f: f.cell)


def _blocked(model: RateModel, den: np.ndarray, present: np.ndarray, den_primary: np.ndarray,
             keep_num_grand: bool) -> np.ndarray:
    """Cells the joint rounds may never hide as complements: absent combinations (known
    zeros, every measure), zero denominators (a complement's label says >= T), and, first,
    the numerators' grand total. Numerators that could be hidden as complements are uncoded
    ones, truly >= k, so the bounds stay true."""
    n = len(den)
    absent = ~present
    grand = grand_totals(model.space)
    blocked = stack(absent | ((den == 0) & ~den_primary), absent, absent)
    if keep_num_grand:
        base_grand = np.flatnonzero(grand[at(DEN, n)])
        blocked[at(NUM, n)[base_grand]] = True
    return blocked


def _zero_complements(model: RateModel, den: np.ndarray, den_primary: np.ndarray) -> list[Failure]:
    """The restriction ">= T" for complementary denominators is sound only if none is 0."""
    n = len(den)
    cells = at(DEN, n)
    bad = model.hidden[cells] & ~den_primary & (den < 1)
    return [Failure(int(c), 0, 0.0, 0.0, "zero complementary cell") for c in cells[bad]]


def _publish_derivable(model: RateModel, num_h: np.ndarray) -> int:
    """Publish hidden numerators that are complements (group size published, rate not coded)
    and that the attacker derives exactly anyway: hiding them protects nothing, and their
    value is what the attacker already has, so every proof stands. (An exactly derivable
    complementary denominator is kept hidden: publishing it would publish its row's coding,
    a new bound on its numerator.)"""
    cand = model.extra_exact & model.hidden
    if not cand.any():
        return 0
    check = np.where(cand, EXACT, NONE).astype(np.int8)
    res = audit(model.space, model.values, model.hidden, check, model.goal, model.lo, model.hi,
                only=cand)
    exact = [f.cell for f in res.failures if np.isfinite(f.low) and np.isfinite(f.high)
             and np.floor(f.high + 1e-5) <= np.ceil(f.low - 1e-5)]
    for c in exact:
        num_h[c // 3] = False
    return len(exact)


def _moving_bounds(model: RateModel, measure: int, held_lo: np.ndarray | float,
                   held_hi: np.ndarray | float, partner: int = REST,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of one measure (DEN or NUM) moving with ``partner`` ("not met"; for the
    group sizes also the numerators) while the third lies in [``held_lo``, ``held_hi``]: its
    own label bounds, narrowed so that the partner keeps its own."""
    n = len(model.lo) // 3
    own, rest = at(measure, n), at(partner, n)
    lo, hi = model.lo, model.hi
    if measure == DEN:  # tested = the partner + the held measure
        return (np.maximum(lo[own], held_lo + lo[rest]),
                np.minimum(hi[own], held_hi + hi[rest]))
    assert partner == REST  # met = tested - not met
    return np.maximum(lo[own], held_lo - hi[rest]), np.minimum(hi[own], held_hi - lo[rest])


def staged_start(base: CellSpace, model: RateModel) -> np.ndarray | None:
    """A whole feasible point of a published rate table, found in the count space: the
    group sizes first (``audit.whole_start`` over the denominators, each hidden one within
    what its numerator and "not met" allow), then the numerators with those group sizes
    held (each within its label's range and ``not met = N - met`` within its own), "not met"
    the difference. Every relation and bound is checked in integers over the rate space.
    None where the group sizes chosen first leave no whole numerators, or the check fails:
    the caller then solves the rate space whole (scale-1 chronic absence: one interior-point
    LP over 979,613 hidden cells, 180 s without the implied rows). Whether the group sizes'
    vertex leaves room is luck: at scale 1 it did not with every row (19,829 conflicting
    cells) and did without the implied ones (12.5 s)."""
    n = base.size
    d_at, n_at = at(DEN, n), at(NUM, n)
    lo, hi, values, hidden = model.lo, model.hi, model.values, model.hidden
    try:
        d = whole_start(base, values[d_at], hidden[d_at],
                        *_moving_bounds(model, DEN, lo[n_at], hi[n_at]))
        if d is None:
            return None
        d = np.where(hidden[d_at], d, np.rint(values[d_at])).astype(np.int64)
        m = whole_start(base, values[n_at], hidden[n_at], *_moving_bounds(model, NUM, d, d))
    except DisclosureError:
        return None  # no numerators fit those group sizes (or no group sizes at all)
    if m is None:
        return None
    m = np.where(hidden[n_at], m, np.rint(values[n_at])).astype(np.int64)
    point = stack(d, m, d - m)
    free = hidden | (point == np.rint(values))
    ok = (free.all() and not np.any(model.space.relation_sums(point))
          and bool(np.all(point[hidden] >= lo[hidden] - 1e-9))
          and bool(np.all(point[hidden] <= hi[hidden] + 1e-9)))
    return point if ok else None


def count_space_proofs(base: CellSpace, model: RateModel, point: np.ndarray,
                       rule: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Rate-space targets (``rule``, ``goal``) proven in the count space from the whole
    feasible ``point``: the group sizes moving with "not met" (numerators held), then the
    numerators moving against "not met" (group sizes held). Each is a restriction of the
    rate model, not a relaxation: a whole point of one, with the held measure at ``point``
    and "not met" the difference, satisfies every relation of the rate space (both moving
    measures' relations are balanced cell for cell, and ``tested = met + not met`` holds
    per cell) and every bound (the moving measure's bounds are narrowed to keep "not met"
    within its own: ``_moving_bounds``). So a target proven there is proven in the rate
    model; the rest go to the rate-space audit (``audit.restricted_proofs``).

    The group sizes the first restriction leaves then move with their numerators, "not met"
    held (a third restriction, by the same argument: both moving measures' relations are
    balanced cell for cell, and a group size moves only where its numerator is hidden too,
    within both measures' bounds). Near 100% "not met" has no room to move with a group
    size (scale-1 assessment participation: the first restriction's sample proved 104 of
    1,000, and the group sizes went to the rate-space LPs and the re-judgement, over 380 s
    for one of its three subjects)."""
    n = base.size
    proven = np.zeros(3 * n, dtype=bool)
    for moving, held in ((DEN, NUM), (NUM, DEN)):
        own = at(moving, n)
        if (rule[own] != NONE).any():
            other = point[at(held, n)].astype(np.float64)
            proven[own] = restricted_proofs(base, point[own], model.hidden[own], rule[own],
                                            goal[own], *_moving_bounds(model, moving, other,
                                                                       other))
    own = at(DEN, n)
    left = (rule[own] != NONE) & ~proven[own]
    if left.any():
        proven[own] |= with_numerators(base, model, point,
                                       np.where(left, rule[own], NONE).astype(np.int8),
                                       goal[own])
    return proven


def with_numerators(base: CellSpace, model: RateModel, point: np.ndarray, rule: np.ndarray,
                    goal: np.ndarray) -> np.ndarray:
    """The group-size targets (``rule``, ``goal``: over the base space) proven from the whole
    feasible ``point`` with the group sizes moving with their numerators and "not met" held
    (``count_space_proofs``' third restriction): a group size moves only where its numerator
    is hidden too, within both measures' bounds."""
    n = base.size
    own, num = at(DEN, n), at(NUM, n)
    rest = point[at(REST, n)].astype(np.float64)
    return restricted_proofs(base, point[own], model.hidden[own] & model.hidden[num], rule,
                             goal, *_moving_bounds(model, DEN, rest, rest, partner=NUM))


def publisher_model(base: Spec, numerator: str, denominator: str, num: np.ndarray,
                    den: np.ndarray, num_hidden: np.ndarray, den_hidden: np.ndarray,
                    den_primary: np.ndarray, den_rule: np.ndarray, den_goal: np.ndarray,
                    code: np.ndarray, policy: Policy, labelled: bool) -> RateModel:
    """The model ``audit-table`` builds from a published file: labels give the primaries,
    codes and complements; without labels (another tool's pattern) a hidden cell is only
    >= 0 and a numerator <= its published N."""
    model = build(rate_space(base, numerator, denominator), num, den, num_hidden, den_hidden,
                  den_primary, den_rule, den_goal, code, policy)
    if not labelled:
        n = len(den)
        n_hi = np.where(den_hidden, np.inf, den.astype(np.float64))
        model.lo = np.zeros(3 * n)
        model.hi = stack(np.full(n, np.inf), n_hi, np.full(n, np.inf))
    return model


__all__ = ["DEN", "NUM", "REST", "THRESHOLD", "JointProtected", "RateModel", "at", "build",
           "code_for", "protect_rates", "publisher_model", "rate_bounds"]
