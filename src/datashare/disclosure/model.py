"""The attacker model (version ``ATTACKER_MODEL``): what a reader of a published table knows.

The attacker knows the spec and policy, every published cell, that absent rows are 0, that
counts are whole numbers, and what every ``display`` label says:

* a primary label (``N<10``) means 1..T-1 (0..T-1 when the policy suppresses zeros);
* a complementary label (``Cross ... - N<10``) means 0 or >= T. The engine never chooses a
  cell whose value is 0 as a complementary cell (nor a small one: those are primaries), so
  every complementary cell is truly >= T and the model uses the *sound restriction* ">= T":
  any point feasible under it is feasible under "0 or >= T", so a proof found with it is a
  proof against the attacker's disjunction too; the truth-side audit checks that no
  complementary cell is 0, which is what makes the truth a point of the restricted model;
* rates: a hidden numerator whose denominator N is published is, under the OSPI rule, in
  [0, k-1] (``<X%``), in [N-k+1, N] (``>Y%``), or in [k, N-k] when it is hidden but not
  coded (the public rule would have coded it otherwise); ``met <= tested`` everywhere.
  Numerators and denominators are ONE model: the rate table becomes a count table with an
  extra ``_measure`` dimension whose one partition is ``tested = met + not met``, so the
  non-negativity of "not met" is ``met <= tested`` and every relation of both measures
  binds the same variables.

Protection levels, for every primary cell, on the attacker's *integer* feasible values:
``threshold``: the largest is the label's top (T-1: the attacker cannot show the cell is
smaller than the label says) and the smallest is below it (not exact); ``exact``: more than
one value. A proof is an integer feasible point of this model reaching the goal.
"""

from __future__ import annotations

import numpy as np

from datashare.arrays import sorted_unique
from datashare.disclosure.local import region_goals
from datashare.disclosure.policy import Policy, TopBottom
from datashare.disclosure.rates import HIGH, LOW
from datashare.disclosure.spec import MEASURE_DIM, Dimension, Partition, Spec
from datashare.disclosure.table import CellSpace, build_space, ramp

ATTACKER_MODEL = "labels-v2"


def label_top(policy: Policy) -> int:
    """The largest value a primary label allows (the ``threshold`` goal): T - 1."""
    return policy.min_n - 1


def count_bounds(values_or_none: np.ndarray | None, primary: np.ndarray, hidden: np.ndarray,
                 policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Per cell [lower, upper] the labels give a hidden count cell: primary 1..T-1 (0..T-1
    with zeros suppressed), complementary >= T, published cells unbounded here (the model
    fixes them). ``values_or_none`` (truth side) only sizes the arrays."""
    n = len(primary)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    comp = hidden & ~primary
    lo[comp] = policy.min_n
    lo[primary] = 0 if policy.zeros_disclosive else 1
    hi[primary] = policy.min_n - 1
    del values_or_none
    return lo, hi


def rate_spec(spec: Spec, numerator: str, denominator: str) -> Spec:
    """The spec with the measure dimension (denominator = numerator + rest) appended."""
    rest = f"{denominator}-{numerator}"
    dim = Dimension(MEASURE_DIM, [denominator, numerator, rest],
                    [Partition(denominator, "split", (numerator, rest))])
    return Spec([*spec.dimensions, dim])


def rate_space(spec: Spec, numerator: str, denominator: str) -> CellSpace:
    return build_space(rate_spec(spec, numerator, denominator))


def stack(den: np.ndarray, num: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Three cell arrays of the base space as one array of the rate space (measure last)."""
    return np.stack([den, num, rest], axis=1).ravel()


def numerator_bounds(den: np.ndarray, den_hidden: np.ndarray, code: np.ndarray,
                     rule: TopBottom) -> tuple[np.ndarray, np.ndarray]:
    """What the labels say about a hidden numerator: with N published, its coded range, or
    (hidden but not coded) the range the public rule leaves uncoded; with N hidden, only
    0 <= num (num <= N is the measure relation)."""
    n = den.astype(np.float64)
    lo = np.zeros(len(n))
    hi = n.copy()
    if rule.method == "counts":
        k = rule.k
        lo = np.where(code == HIGH, np.maximum(n - (k - 1), 0), np.where(code == LOW, 0, k))
        hi = np.where(code == LOW, np.minimum(n, k - 1), np.where(code == HIGH, n, n - k))
    elif rule.method == "percent":
        lo_pct = np.floor(rule.high * n / 100) + 1
        hi_pct = np.ceil(rule.low * n / 100) - 1
        lo = np.where(code == HIGH, lo_pct, np.where(code == LOW, 0, np.ceil(rule.low * n / 100)))
        hi = np.where(code == LOW, hi_pct, np.where(code == HIGH, n, np.floor(rule.high * n / 100)))
    lo = np.where(den_hidden, 0.0, lo)
    hi = np.where(den_hidden, np.inf, hi)
    return lo.astype(np.float64), hi.astype(np.float64)


def label_goal(space: CellSpace, primary: np.ndarray, known_zero: np.ndarray,
               policy: Policy) -> np.ndarray:
    """Per cell, an upper bound of the largest value the labels alone allow a primary
    (``label_bounds``' top)."""
    return label_bounds(space, primary, known_zero, policy)[0]


def label_bounds(space: CellSpace, primary: np.ndarray, known_zero: np.ndarray,
                 policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """(top, floor) per cell: the top an upper bound of the largest value the labels alone allow a
    primary (the ``threshold`` goal), by interval propagation over the labels-only model
    (every non-zero cell hidden: a primary in [1, T-1] (0 with zeros suppressed), any other
    non-zero cell >= T, a known zero 0). Per relation ``parent = sum(children)``: the parent
    is at most the children's tops summed and at least their floors summed; a child is at
    most the parent's top minus the other children's floors and at least the parent's floor
    minus their tops. Repeated to a fixed point, down and up every hierarchy and across
    dimensions (e.g. All Students of a school grade whose income groups are both ``N<10`` is
    at most 18; if its Students without Disabilities are a complement (>= 10), Students with
    Disabilities is at most 8). Every bound is implied by the labels, so the top is at least
    the model's maximum (a relaxation); ``refine_goal`` lowers it where it is not reached.
    The floor is the lower bound found the same way (at most the model's minimum): where a
    primary's top is its floor, the labels alone determine it. Computable from the published
    file (labels and zeros are public)."""
    top = np.where(primary, float(policy.min_n - 1), np.inf)
    floor = np.where(primary, 0.0 if policy.zeros_disclosive else 1.0, float(policy.min_n))
    top[known_zero] = 0.0
    floor[known_zero] = 0.0
    # Each pass recomputes only the relations with a member whose bound moved in the pass
    # before: the others give the bounds they gave then, which every cell already holds.
    # The passes are those of recomputing every relation each time, bound for bound (at
    # 1M rows, 448,871 cells moved in the first pass and 128,912 in the second; 4.4 s -> 2.0 s
    # for the eight passes).
    rels: np.ndarray | None = None  # every relation
    for _ in range(64):
        new_top, new_floor = bounds_pass(space, top, floor, rels)
        if (new_floor > new_top).any():
            # The labels contradict each other (e.g. a complement under an "N<10" total):
            # no bound is implied; the audit reports the contradiction.
            break
        moved = np.flatnonzero((new_top != top) | (new_floor != floor))
        if not len(moved):
            break
        top, floor = new_top, new_floor
        rels = sorted_unique(space.entry_rel[space.entries(moved)[1]])
    return (np.where(primary, top, np.where(known_zero, 0.0, np.inf)),
            np.where(known_zero, 0.0, floor))


def bounds_pass(space: CellSpace, top: np.ndarray, floor: np.ndarray,
                rels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One pass of ``label_bounds``' propagation over the relations ``rels`` (None: every
    one): (top, floor) narrowed by each relation's ``parent = sum(children)``."""
    if rels is None:
        lens, parent = np.diff(space.ptr), space.cells[space.ptr[:-1]]
        cells, coef = space.cells, space.coef
    else:
        lens, parent = space.ptr[rels + 1] - space.ptr[rels], space.cells[space.ptr[rels]]
        e = np.repeat(space.ptr[rels], lens) + ramp(lens)
        cells, coef = space.cells[e], space.coef[e]
    ptr = np.cumsum(lens) - lens
    kid = coef < 0
    kt = np.where(kid, top[cells], 0.0)
    kf = np.where(kid, floor[cells], 0.0)
    kids_top = np.add.reduceat(kt, ptr)
    kids_floor = np.add.reduceat(kf, ptr)
    new_top = top.copy()
    new_floor = floor.copy()
    np.minimum.at(new_top, parent, kids_top)
    np.maximum.at(new_floor, parent, kids_floor)
    # A child: the parent's bound minus the other children's (sums include the child).
    p_top = np.repeat(top[parent], lens)
    p_floor = np.repeat(floor[parent], lens)
    child_top = p_top - (np.repeat(kids_floor, lens) - kf)
    with np.errstate(invalid="ignore"):
        others_top = np.repeat(kids_top, lens) - kt  # inf - inf: some other is unbounded
    child_floor = np.where(np.isfinite(others_top), p_floor - others_top, -np.inf)
    np.minimum.at(new_top, cells[kid], child_top[kid])
    np.maximum.at(new_floor, cells[kid], child_floor[kid])
    return np.floor(new_top + 1e-9), np.ceil(new_floor - 1e-9)


# Up to this many cells every primary's goal is refined (and checked for being determined by
# the labels) before protection; above it only the cells the cheap witnesses leave are
# (``lazy_goals``): the labels-only LPs hide every non-zero cell, one component the size of
# the table, so one LP per primary at 45,730 rows would take hours.
REFINE_MAX_CELLS = 20_000


def refine_up_front(space: CellSpace) -> bool:
    return space.size <= REFINE_MAX_CELLS


def refine_goal(space: CellSpace, values: np.ndarray, primary: np.ndarray,
                known_zero: np.ndarray, goal: np.ndarray, policy: Policy, truth: bool,
                only: np.ndarray | None = None) -> np.ndarray:
    """Lower ``label_goal``'s estimate to the labels-only model's exact integer maximum (an
    LP per cell not reaching its estimate; the estimate is an upper bound of it: across
    dimensions the labels can bind more than parent and children do). The labels-only model
    hides every non-zero cell; a primary is 1..top, any other cell >= T. ``only``: the cells
    to check (default every primary)."""
    from datashare.disclosure.audit import NONE, THRESHOLD, audit

    cells = primary if only is None else only & primary
    if not cells.any():
        return goal
    hidden = ~known_zero
    lo = np.where(primary, 0.0 if policy.zeros_disclosive else 1.0, float(policy.min_n))
    lo[known_zero] = 0.0
    hi = np.where(primary, goal, np.inf)
    rule = np.where(cells & (goal > values if truth else cells), THRESHOLD, NONE).astype(np.int8)
    res = audit(space, values, hidden, rule, goal, lo, hi, truth=truth, only=cells)
    out = goal.copy()
    for f in res.failures:
        if np.isfinite(f.high):
            out[f.cell] = min(out[f.cell], np.floor(f.high + 1e-6))
    return out


def _labels_only_bounds(primary: np.ndarray, known_zero: np.ndarray, goal: np.ndarray,
                       policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """The labels-only model's bounds (every non-zero cell hidden): a primary 1..goal (0..goal
    with zeros suppressed), any other cell >= T, a known zero 0."""
    lo = np.where(primary, 0.0 if policy.zeros_disclosive else 1.0, float(policy.min_n))
    lo[known_zero] = 0.0
    hi = np.where(primary, goal, np.inf)
    hi[known_zero] = 0.0
    return lo, hi


def labels_disclose(space: CellSpace, values: np.ndarray, primary: np.ndarray,
                    known_zero: np.ndarray, goal: np.ndarray, policy: Policy,
                    truth: bool, only: np.ndarray | None = None) -> np.ndarray:
    """Primaries the labels alone determine exactly (every non-zero cell hidden, e.g. a
    table of one student: each of its cells is 1): no suppression can protect them, so they
    are reported (``disclosed_by_labels``) instead of failing. ``only``: the cells to check
    (default every primary)."""
    from datashare.disclosure.audit import EXACT, NONE, audit

    out = np.zeros(space.size, dtype=bool)
    cells = primary if only is None else only & primary
    if not cells.any():
        return out
    hidden = ~known_zero
    lo = np.where(primary, 0.0 if policy.zeros_disclosive else 1.0, float(policy.min_n))
    lo[known_zero] = 0.0
    hi = np.where(primary, goal, np.inf)
    rule = np.where(cells, EXACT, NONE).astype(np.int8)
    res = audit(space, values, hidden, rule, goal, lo, hi, truth=truth, only=cells)
    for f in res.failures:
        if np.isfinite(f.low) and np.isfinite(f.high) and f.high - f.low < 0.5:
            out[f.cell] = True
    return out


def goals_up_front(space: CellSpace, values: np.ndarray, primary: np.ndarray,
                   known_zero: np.ndarray, goal: np.ndarray, policy: Policy, truth: bool,
                   refine: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(goals, primaries the labels alone determine) before protection or an audit: up to
    REFINE_MAX_CELLS cells every primary's exact goal (``refine``: the ``threshold`` goal is
    used) and ``labels_disclose``; above it ``goal`` as estimated and none, and
    ``lazy_goals`` is asked later for the cells whose verdict depends on them."""
    if not refine_up_front(space):
        return goal, np.zeros(space.size, dtype=bool)
    if refine:
        goal = refine_goal(space, values, primary, known_zero, goal, policy, truth)
    return goal, labels_disclose(space, values, primary, known_zero, goal, policy, truth)


def lazy_goals(space: CellSpace, values: np.ndarray, primary: np.ndarray,
               known_zero: np.ndarray, goal: np.ndarray, policy: Policy, truth: bool,
               cells: np.ndarray, point: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """For a table too big to refine up front: ``cells``' exact goals (``refine_goal``) and
    which of them the labels alone determine (``labels_disclose``; only a cell whose exact
    goal is its own value can be; without the truth, every cell asked is checked). The
    suppressor asks for the cells its cheap witnesses
    leave, ``audit-table`` for the cells that fail the propagated goal: both get the same
    numbers, the exact labels-only maximum, wherever it can matter (a cell reaching the
    propagated goal reaches the exact one, which is never above it). ``point``: without the
    truth, a whole point of the published table's model (``audit.whole_start``)."""
    only = np.zeros(space.size, dtype=bool)
    only[cells] = True
    only &= primary
    decided_goal = goal.copy()
    lo, hi = _labels_only_bounds(primary, known_zero, goal, policy)
    # Region LPs first (``local.region_goals``): they decide most cells' goals exactly
    # without the LP over the whole table (scale-1 enrollment: one such LP for the targets
    # the local LPs left did not finish in 15 minutes). They hold the cells outside a
    # region at a whole point of the labels-only model: the truth, or without it a point of
    # the published table's model, which is one (the published cells at their values, which
    # the labels-only model only bounds; the hidden ones within the same label bounds; every
    # primary at most its estimate, an upper bound over the labels-only model), checked here.
    from datashare.disclosure.audit import TOL, integral

    base = values if truth else point
    if base is not None and not truth and not (
            integral(base) and (base >= lo - TOL).all() and (base <= hi + TOL).all()):
        base = None
    pinned = np.zeros(space.size, dtype=bool)
    if base is not None:
        ask = np.flatnonzero(only)
        decided, exact, determined_here = region_goals(space, base, known_zero, lo, hi, ask,
                                                       goal)
        decided_goal[ask[decided]] = exact[decided]
        only[ask[decided]] = False
        pinned[ask[determined_here]] = True
    refined = refine_goal(space, values, primary, known_zero, goal, policy, truth, only=only)
    refined = np.where(only, refined, np.minimum(refined, decided_goal))
    at_top = only & (refined <= values) if truth else only
    determined = labels_disclose(space, values, primary, known_zero, refined, policy, truth,
                                 only=at_top) | pinned
    return refined[cells], determined[cells]
