"""Library API: suppress and audit a pandas (or Arrow) table in memory.

``suppress_table`` returns every input row and column, suppressed measures as missing values,
plus ``suppression`` (``""``, ``primary``, ``complementary``, ``top_bottom``) and ``display``
(what the agency publishes). ``audit_table`` takes such a published table and proves, from
the published cells only, that every primary cell meets the protection rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datashare.disclosure import joint, rates
from datashare.disclosure.audit import (
    EXACT,
    NONE,
    THRESHOLD,
    AuditResult,
    Failure,
    audit,
    refit_start,
    whole_start,
)
from datashare.disclosure.cores import on_a_core
from datashare.disclosure.engine import (
    METHODS,
    Protected,
    Regoal,
    count_primaries,
    protect,
    rule_for,
)
from datashare.disclosure.errors import DisclosureError
from datashare.disclosure.lp import SOLVER
from datashare.disclosure.model import (
    ATTACKER_MODEL,
    count_bounds,
    goals_up_front,
    label_bounds,
    label_goal,
    lazy_goals,
    refine_up_front,
)
from datashare.disclosure.policy import Policy, load_policy
from datashare.disclosure.spec import Spec, load_spec, parse_spec
from datashare.disclosure.table import (
    CellSpace,
    build_space,
    check_consistent,
    dense,
    locate_rows,
    measure,
)
from datashare.disclosure.witness import Witnesses, moves, reaches

PROTECTIONS = ("threshold", "exact")
# The version of the rules that choose a pattern: the same table, policy, options and
# ENGINE_VERSION give the byte-identical pattern on every run, whatever the machine's load
# (no solve or pass stops on a clock: see ``lp``). Bump it with every change that can change
# a pattern, so a re-publication (a corrected release, a rebuilt portal version) can tell
# whether re-running reproduces what was published: two patterns of the same numbers can be
# combined against the small cells. ATTACKER_MODEL is what the proof assumes the reader
# knows, a different thing: it changes only when the proof does.
ENGINE_VERSION = "2026-12-07.4"  # .1: work limits, not time; .2: near and cross regions;
# .3: rate numerators by block regions (blocks.py); .4: rate rows opened where neighbours'
# label bounds hold a numerator (joint._open_rows); 2026-12-04.1: an audit LP after a MILP
# starts from the LP's basis (another vertex can prove other cells, so a pattern may differ);
# 2026-12-04.2: a region's fractional optimum is dived to a whole point before its MILP;
# .3: region LPs start from the rest point (another optimum where several tie); .4: group
# sizes' witnesses lifted to rate tables with split shares (joint.lift_denominators);
# 2026-12-05.1: each region solve starts from a cleared solver (``local._Region._run``: its
# answer no longer depends on the solves before it, which picked among tied optima), so
# infeasible single solves can be skipped (``local._Slack``) without changing a pattern;
# 2026-12-06.2: a soft round's whole point that hides no new cell is its witness, with no
# second solve for the cheapest (``local._Region.carry``); .3: a count table's soft rounds
# each over targets no two of which share a relation (``local._Region.apart``); .4: a soft
# round's second solve starts from the soft round's basis (another optimum where several tie);
# .5: only in a count table's own suppression (a rate table's patterns are .3's again);
# 2026-12-07.1: a rate table's numerators' pass rounds over targets apart too (.3 and .4 there);
# .2: a tier's regions are solved in an interleaved order (``local._spread``); .3: a rate
# space's "not met" moves at no cost in region LPs (``local.free_to_move``: other optima);
# .4: a rate table's numerators' pass skips the small regions (``engine.protect``'s
# ``small_first``)
RATE_KEY = "{numerator}/{denominator}"  # the one audit of a rate table, in TableAudit.results
NO_LABELS = "structure-only"  # a pattern without labels: relations, >= 0, integers
STATUS_COLUMN = "suppression"
DISPLAY_COLUMN = "display"


@dataclass
class TableAudit:
    """Audit of a whole table: one LP audit per protected measure."""

    space: CellSpace  # a rate table's: the rate space (model.rate_space), measure last
    results: dict[str, AuditResult]
    # Per audit, the attacker model it used: ATTACKER_MODEL, or NO_LABELS for a pattern
    # without a ``suppression`` column (nothing known of a hidden cell but the structure).
    models: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results.values())

    def failures(self) -> list[dict[str, Any]]:
        out = []
        for measure_name, result in self.results.items():
            for f in result.failures:
                out.append(_failure_row(self.space, measure_name, f))
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "passed": self.ok,
            "measures": {k: {**r.summary(),
                             "attacker_model": self.models.get(k, ATTACKER_MODEL)}
                         for k, r in self.results.items()},
            "failures": self.failures()[:100],
        }


@dataclass
class Proof:
    """The suppressor's proof of a table: the true values and the witnesses (whole-number
    movements from them), in the space ``audit_table`` audits (a rate table's: the rate
    space). The publisher's audit of the published file re-verifies them against the model
    it reads from that file (``audit_table``'s ``hints``) before it searches for its own.
    It holds every hidden cell's true value: kept in memory only, never written."""

    values: np.ndarray = field(repr=False)
    witnesses: Witnesses = field(repr=False)


@dataclass
class SuppressionResult:
    table: pd.DataFrame
    audit: TableAudit | None
    report: dict[str, Any] = field(default_factory=dict)
    proof: Proof | None = field(default=None, repr=False)


def _failure_row(space: CellSpace, measure_name: str, f: Failure) -> dict[str, Any]:
    return {
        "measure": measure_name,
        **space.key(f.cell),
        "min": f.low,
        "max": None if not np.isfinite(f.high) else f.high,
        "rule": f.rule,
    }


def _as_frame(table: Any) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table
    if hasattr(table, "to_pandas"):  # pyarrow.Table
        return table.to_pandas()
    raise DisclosureError("table must be a pandas DataFrame or an Arrow table")


def _as_spec(spec: Spec | dict[str, Any] | str | Path) -> Spec:
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_spec(spec)


def _as_policy(policy: Policy | str) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


def _measures(count: str | None, numerator: str | None, denominator: str | None) -> str:
    if count and not (numerator or denominator):
        return "count"
    if numerator and denominator and not count:
        return "rate"
    raise DisclosureError("give either a count column, or both a numerator and a denominator")


@on_a_core
def suppress_table(
    table: Any,
    spec: Spec | dict[str, Any] | str | Path,
    *,
    count: str | None = None,
    numerator: str | None = None,
    denominator: str | None = None,
    policy: Policy | str = "ospi",
    protection: str = "threshold",
    seed: int = 0,
    fuzzy: bool | None = None,
    run_audit: bool = True,
    method: str = "auto",
    keep_grand_total: bool = True,
) -> SuppressionResult:
    """Apply the policy's primary, complementary and top/bottom suppression to a table.

    ``keep_grand_total`` (default): the grand total is hidden only when nothing smaller can
    protect a small cell; the report's ``grand_total_published`` says whether it was.
    """
    t0 = time.perf_counter()
    if protection not in PROTECTIONS:
        raise DisclosureError(f"unknown protection {protection!r} (threshold or exact)")
    if method not in METHODS:
        raise DisclosureError(f"unknown method {method!r} ({' or '.join(METHODS)})")
    kind = _measures(count, numerator, denominator)
    pol = _as_policy(policy)
    frame = _as_frame(table)
    space = build_space(_as_spec(spec))
    flat = locate_rows(space, frame)
    present = np.zeros(space.size, dtype=bool)
    present[flat] = True
    timings: dict[str, float] = {}
    stats: dict[str, Any] = {}
    audit_space = space
    if kind == "count":
        assert count is not None
        values = dense(space, flat, measure(frame, count))
        check_consistent(space, values, count)
        timings["load"] = time.perf_counter() - t0
        out, audits, prot_timings, proof = _suppress_counts(
            space, frame, flat, values, present, pol, count, protection, run_audit, method,
            keep_grand_total, stats)
    else:
        assert numerator is not None and denominator is not None
        num_rows = measure(frame, numerator)
        den_rows = measure(frame, denominator)
        over = num_rows > den_rows
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise DisclosureError(
                f"{numerator} {num_rows[i]} is above {denominator} {den_rows[i]} for "
                f"{space.describe(int(flat[i]))}"
            )
        den = dense(space, flat, den_rows)
        num = dense(space, flat, num_rows)
        check_consistent(space, den, denominator)
        check_consistent(space, num, numerator)
        timings["load"] = time.perf_counter() - t0
        use_fuzzy = pol.top_bottom.fuzzy if fuzzy is None else fuzzy
        out, audits, prot_timings, audit_space, proof = _suppress_rates(
            space, frame, flat, num, den, present, pol, numerator, denominator, protection,
            seed, use_fuzzy, run_audit, method, keep_grand_total, stats)
    timings.update(prot_timings)
    timings["total"] = time.perf_counter() - t0
    table_audit = (TableAudit(audit_space, audits, {k: ATTACKER_MODEL for k in audits})
                   if run_audit else None)
    statuses = out[STATUS_COLUMN].replace("", "published").value_counts()
    report: dict[str, Any] = {
        "attacker_model": ATTACKER_MODEL,
        "engine_version": ENGINE_VERSION,
        "solver": SOLVER,
        "policy": pol.name,
        "protection": protection,
        "rows": len(frame),
        "cells_by_status": {str(k): int(v) for k, v in statuses.items()},
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "grand_total_published": all(m["grand_total_published"] for m in stats.values()),
        "protection_method": stats,
        "audit": table_audit.summary() if table_audit else None,
    }
    report.update(_loss(out, frame, [m for m in (count, numerator, denominator) if m]))
    report["proof_methods"] = ({k: r.proof_methods() for k, r in table_audit.results.items()}
                               if table_audit else None)
    return SuppressionResult(out, table_audit, report, proof)


def _loss(out: pd.DataFrame, frame: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Information loss: per measure, the cells hidden (primary and complementary) and the
    complementary cells and their total true value (what protection cost beyond the small
    cells themselves)."""
    status = out[STATUS_COLUMN].to_numpy()
    hidden: dict[str, int] = {}
    loss: dict[str, Any] = {}
    for col in columns:
        gone = out[col].isna().to_numpy()
        comp = gone & (status != "primary")
        hidden[col] = int(gone.sum())
        loss[col] = {"complementary_cells": int(comp.sum()),
                     "complementary_value": int(frame.loc[comp, col].astype("int64").sum())}
    return {"cells_hidden": hidden, "information_loss": loss}


def _method_stats(prot: Protected) -> dict[str, Any]:
    """Which method ran; how many small cells a cube, a local LP or the LP loop protected;
    whether the grand total stayed published; how many complementary cells the unhide pass
    published again."""
    return {"method": prot.method, "cube_witnesses": prot.cubed,
            "local_lp_witnesses": prot.local_targets, "lp_repair_targets": prot.lp_targets,
            "repair_rounds": prot.repair_rounds,
            "grand_total_published": prot.grand_total_published,
            "derivable_published": prot.derivable_published,
            "complements_published_again": prot.unhidden}


def _labels(space: CellSpace, pol: Policy, via: np.ndarray) -> np.ndarray:
    names = np.array([pol.complementary_label(d.name) for d in space.spec.dimensions] +
                     [pol.complementary_default], dtype=object)
    return names[np.where(via >= 0, via, len(names) - 1)]


def _engine_bounds(values: np.ndarray, primary: np.ndarray,
                   pol: Policy) -> tuple[np.ndarray, np.ndarray]:
    """The label bounds every cell would get if hidden (attacker model, ``model.py``):
    primaries their label's range, any other non-zero cell (>= T: it is not small) the
    complementary label's ">= T". Zero cells are never complements (blocked)."""
    lo, hi = count_bounds(None, primary, np.ones(len(values), dtype=bool), pol)
    lo[(values == 0) & ~primary] = 0.0
    return lo, hi


def _protect(space: CellSpace, values: np.ndarray, primary: np.ndarray, rule: np.ndarray,
             top: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, run_audit: bool,
             blocked: np.ndarray, method: str, keep_grand_total: bool,
             regoal: Regoal | None = None, apart: bool = False) -> Protected:
    """``engine.protect``; if its audit fails with the grand total kept, again with the grand
    total allowed. Under the labels a published grand total can force a cell: 18 published
    over two "N<10" groups makes both 9. (Without labels it was never needed for counts.)
    ``apart``: the local LPs' soft rounds over targets apart (``local.local_repair``), asked
    only for a count table: there it is faster and hides fewer cells, while a rate table's
    group sizes with it made the numerators' rounds slower (scale-0.05 chronic absence 1.6x
    the CPU)."""
    prot = protect(space, values, primary, rule, top, lo, hi, run_audit=run_audit,
                   blocked=blocked, method=method, keep_grand_total=keep_grand_total,
                   regoal=regoal, apart=apart)
    if keep_grand_total and prot.audit is not None and not prot.audit.ok:
        # The LP method would ask ``regoal`` for every target at once: too slow where it is set.
        again = protect(space, values, primary, rule, top, lo, hi, run_audit=run_audit,
                        blocked=blocked, method="lp" if regoal is None else "cubes",
                        keep_grand_total=False, regoal=regoal, apart=apart)
        if again.audit is not None and len(again.audit.failures) < len(prot.audit.failures):
            return again
    return prot


def _zero_complement_failures(values: np.ndarray, hidden: np.ndarray, primary: np.ndarray,
                              result: AuditResult | None) -> None:
    """The restriction ">= T" for complementary cells is sound only if none is 0: check."""
    if result is None:
        return
    for c in np.flatnonzero(hidden & ~primary & (values < 1)).tolist():
        result.failures.append(Failure(int(c), 0, 0.0, 0.0, "zero complementary cell"))


def _suppress_counts(
    space: CellSpace, frame: pd.DataFrame, flat: np.ndarray, values: np.ndarray,
    present: np.ndarray, pol: Policy, count: str, protection: str, run_audit: bool,
    method: str, keep_grand_total: bool, stats: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, AuditResult], dict[str, float], Proof | None]:
    primary = count_primaries(values, present, pol.min_n, pol.zeros_disclosive)
    zero = (values == 0) & ~primary
    estimate = label_goal(space, primary, zero, pol)
    top, by_labels = goals_up_front(space, values, primary, zero, estimate, pol, True,
                                    refine=protection == "threshold")
    regoal: Regoal | None = None
    if not refine_up_front(space):
        # Too big to refine every goal first: only the cells the cubes and local LPs leave.
        def regoal(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return lazy_goals(space, values, primary, zero, estimate, pol, True, cells)
    rule = rule_for(primary, protection, values, top)
    rule[by_labels] = NONE
    lo, hi = _engine_bounds(values, primary, pol)
    hi = np.minimum(hi, top)
    # Absent combinations are known zeros: hiding one would protect nothing; a zero cell is
    # never a complement (its label would say ">= T").
    prot = _protect(space, values, primary, rule, top, lo, hi, run_audit=run_audit,
                    blocked=~present | ((values == 0) & ~primary), method=method,
                    keep_grand_total=keep_grand_total, regoal=regoal, apart=True)
    if prot.by_labels is not None:
        by_labels |= prot.by_labels
    _zero_complement_failures(values, prot.cover.suppressed, primary, prot.audit)
    stats[count] = _method_stats(prot)
    stats[count]["disclosed_by_labels"] = int(by_labels.sum())
    sup = prot.cover.suppressed[flat]
    prim = primary[flat]
    v = values[flat]
    status = np.where(prim, "primary", np.where(sup, "complementary", ""))
    display = v.astype(str).astype(object)
    display[v == 0] = pol.zero_label
    display[sup] = _labels(space, pol, prot.cover.via[flat][sup])
    display[prim] = pol.small_label
    out = frame.copy()
    out[count] = pd.array(np.where(sup, 0, v), dtype="Int64")
    out.loc[sup, count] = pd.NA
    out[STATUS_COLUMN] = status
    out[DISPLAY_COLUMN] = display
    audits = {count: prot.audit} if prot.audit else {}
    proof = (Proof(values.astype(np.float64), prot.witnesses)
             if prot.witnesses is not None else None)
    return out, audits, prot.timings, proof


def _suppress_rates(
    space: CellSpace, frame: pd.DataFrame, flat: np.ndarray, num: np.ndarray, den: np.ndarray,
    present: np.ndarray, pol: Policy, numerator: str, denominator: str, protection: str,
    seed: int, fuzzy: bool, run_audit: bool, method: str, keep_grand_total: bool,
    stats: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, AuditResult], dict[str, float], CellSpace, Proof]:
    """Denominators first, as a count table under their labels (the count engine); then
    both measures in ONE model (``joint.py``: met <= tested, coded ranges, uncoded hidden
    numerators in [k, N-k]) until every target has a proof there; the final audit is the
    joint one (``TableAudit.results[RATE_KEY]``)."""
    timings: dict[str, float] = {}
    # 1. Group sizes (denominators) as a count table under the policy and its labels.
    small = count_primaries(den, present, pol.min_n, pol.zeros_disclosive)
    zero = (den == 0) & ~small
    estimate = label_goal(space, small, zero, pol)
    top, by_labels = goals_up_front(space, den, small, zero, estimate, pol, True,
                                    refine=protection == "threshold")
    # Above REFINE_MAX_CELLS only the cells the cubes and local LPs leave get their exact
    # goals (as for counts); without this an unreachable estimated goal kept the LP loop
    # hiding cells for minutes (dropout at scale 0.1: 242 rounds, unfinished after 200 s).
    # The goals found are kept for the joint model (below), which must ask the same.
    lowered = np.full(space.size, np.inf)  # the exact goals ``regoal`` found, and
    lowered_by_labels = np.zeros(space.size, dtype=bool)  # the cells the labels determine
    regoal: Regoal | None = None
    if not refine_up_front(space):
        def regoal(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            goal, determined = lazy_goals(space, den, small, zero, estimate, pol, True, cells)
            lowered[cells] = goal
            lowered_by_labels[cells] = determined
            return goal, determined
    den_primary = small.copy()
    coded = np.zeros(space.size, dtype=bool)
    if pol.blank_coded_denominator:
        coded = rates.coding(num, den, pol.top_bottom, eligible=(den >= pol.min_n)) > 0
        den_primary |= coded

    def den_rules(top: np.ndarray, by_labels: np.ndarray) -> np.ndarray:
        rule = rule_for(small, protection, den, top)
        rule[by_labels] = NONE
        rule[coded & ~small] = EXACT  # a blanked coded group size must not be exact
        return rule

    den_rule = den_rules(top, by_labels)
    lo, hi = _engine_bounds(den, small, pol)
    hi = np.minimum(hi, top)
    den_prot = _protect(space, den, den_primary, den_rule, top, lo, hi, run_audit=False,
                        blocked=~present | zero, method=method,
                        keep_grand_total=keep_grand_total, regoal=regoal)
    for k, t in den_prot.timings.items():
        timings[f"denominator_{k}"] = t
    if regoal is not None:
        top = np.minimum(top, lowered)
        by_labels |= lowered_by_labels
        den_rule = den_rules(top, by_labels)
    # 2. Both measures in one model.
    jp = joint.protect_rates(space, space.spec, numerator, denominator, num, den, present,
                             small, den_rule, top, den_prot.cover.suppressed, pol,
                             run_audit=run_audit, method=method,
                             keep_grand_total=keep_grand_total,
                             den_witnesses=den_prot.witnesses)
    for k, t in jp.timings.items():
        timings[k] = t
    den_hidden, num_hidden, code = jp.den_hidden, jp.num_hidden, jp.code
    stats[denominator] = {**_method_stats(den_prot),
                          "grand_total_published": jp.stats["denominator_grand_total_published"],
                          "disclosed_by_labels": int(by_labels.sum())}
    stats[numerator] = {**jp.stats,
                        "grand_total_published": jp.stats["numerator_grand_total_published"]}
    n = space.size
    den_via = np.where(den_prot.cover.via >= 0, den_prot.cover.via, jp.via[joint.at(joint.DEN, n)])
    num_via = jp.via[joint.at(joint.NUM, n)]
    # 3. Display per row.
    d, nv = den[flat], num[flat]
    dh, nh, c = den_hidden[flat], num_hidden[flat], code[flat]
    num_comp = nh & ~dh & (c == 0)
    status = np.full(len(flat), "", dtype=object)
    status[num_comp] = "complementary"
    status[c > 0] = "top_bottom"
    status[dh] = "complementary"
    status[small[flat]] = "primary"
    display = np.empty(len(flat), dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(d > 0, 100.0 * nv / np.maximum(d, 1), 0.0)
    for i in range(len(flat)):
        display[i] = rates.format_percent(round(float(share[i]), 10), pol.rate_decimals)
    display[d == 0] = pol.zero_label
    if num_comp.any():
        display[num_comp] = _labels(space, pol, num_via[flat][num_comp])
    for row in np.flatnonzero(c > 0).tolist():
        bit = rates.fuzzy_bit(seed, "\x1f".join(space.key(int(flat[row])).values()))
        display[row] = rates.coded_label(int(c[row]), int(d[row]), pol.top_bottom,
                                         bit if fuzzy else 0)
    den_comp = dh & ~small[flat]
    if den_comp.any():
        display[den_comp] = _labels(space, pol, den_via[flat][den_comp])
    display[small[flat]] = pol.small_label
    out = frame.copy()
    out[numerator] = pd.array(nv, dtype="Int64")
    out.loc[nh, numerator] = pd.NA
    out[denominator] = pd.array(d, dtype="Int64")
    out.loc[dh, denominator] = pd.NA
    out[STATUS_COLUMN] = status
    out[DISPLAY_COLUMN] = display
    audits: dict[str, AuditResult] = {}
    if jp.audit is not None:
        audits[RATE_KEY.format(numerator=numerator, denominator=denominator)] = jp.audit
    return out, audits, timings, jp.model.space, Proof(jp.model.values, jp.witnesses)


@on_a_core
def audit_table(
    table: Any,
    spec: Spec | dict[str, Any] | str | Path,
    *,
    count: str | None = None,
    numerator: str | None = None,
    denominator: str | None = None,
    policy: Policy | str = "ospi",
    protection: str = "threshold",
    intervals: bool = False,
    cubes: bool = False,
    hints: Proof | None = None,
) -> TableAudit:
    """Audit a published table from its published cells only (missing measure = suppressed).

    Primary cells are those marked ``primary`` in the ``suppression`` column (every suppressed
    cell if the column is absent); they must meet ``protection``. Hidden numerators must not be
    exact, given the published denominators and the public top/bottom rule.
    The proofs start from one whole-number feasible point of the published table
    (``audit.whole_start``). ``cubes=True``: only without one, hypercube certificates from
    a central feasible point before the LPs.
    ``hints`` (the publisher, who holds the suppressor's ``Proof``): its true values are the
    start point if they are one of this file's model (every published cell equal, every
    hidden one within the bounds read from the labels, every relation exact, whole numbers),
    and each of its witnesses proves the targets it moves if it is a whole point of that
    model too (``witness.verify``); only the rest are searched for. A hint that does not
    verify proves nothing, so what passes is what the file proves, wherever the points
    came from.
    """
    if protection not in PROTECTIONS:
        raise DisclosureError(f"unknown protection {protection!r} (threshold or exact)")
    kind = _measures(count, numerator, denominator)
    pol = _as_policy(policy)
    frame = _as_frame(table)
    space = build_space(_as_spec(spec))
    flat = locate_rows(space, frame)
    status = (frame[STATUS_COLUMN].fillna("").astype(str).to_numpy()
              if STATUS_COLUMN in frame.columns else None)
    labelled = status is not None
    # With labels (model.py), a primary is 1..T-1 and the goal is the label's top; without
    # them (another tool's pattern) the attacker knows nothing of a hidden cell but >= 0 and
    # the old goal stands: the cell could be T, i.e. not small at all.
    results: dict[str, AuditResult] = {}
    # Big labelled tables refine the goals of failing cells after the audit (``_regoal_*``).
    regoal = labelled and not refine_up_front(space)
    if kind == "count":
        assert count is not None
        values, hidden = _published(space, frame, flat, count)
        check_consistent(space, values, count, hidden)
        prim = hidden.copy() if status is None else _mark(space, flat, status == "primary")
        prim &= hidden
        top, determined = _goal(space, prim, values, hidden, pol, labelled)
        labelled_prim = prim.copy()  # what the labels say (bounds), whatever is checked
        if labelled:
            # Bounds from every "N<10" label (a primary the labels alone determine is still
            # 1..T-1, not a complement's ">= T"); only the cells checked drop those.
            lo, hi = count_bounds(None, prim, hidden, pol)
            hi = np.minimum(hi, top)
            prim &= ~determined
        else:
            lo, hi = np.zeros(space.size), np.full(space.size, np.inf)
        result = _publisher_audit(
            space, values, hidden, prim, protection, top, lo, hi, intervals, cubes,
            regoal=regoal,
            hints=None if intervals else _usable(space, values, hidden, lo, hi, hints))
        if regoal and result.failures:
            result = _regoal_failures(space, values, hidden, prim, labelled_prim, protection,
                                      top, lo, hi, intervals, cubes, pol, result)
        results[count] = result
        return TableAudit(space, results, {count: ATTACKER_MODEL if labelled else NO_LABELS})
    # Rate tables: numerators and denominators in ONE model (joint.py): met <= tested, the
    # denominators' labels, the coded ranges and the uncoded range [k, N-k] of a hidden
    # numerator with N published.
    assert numerator is not None and denominator is not None
    den, den_hidden = _published(space, frame, flat, denominator)
    num, num_hidden = _published(space, frame, flat, numerator)
    check_consistent(space, den, denominator, den_hidden)
    check_consistent(space, num, numerator, num_hidden)
    over = ~den_hidden & ~num_hidden & (num > den)
    if over.any():
        c = int(np.flatnonzero(over)[0])
        raise DisclosureError(f"{numerator} {num[c]} is above {denominator} {den[c]} for "
                              f"{space.describe(c)}")
    prim = den_hidden.copy() if status is None else _mark(space, flat, status == "primary")
    prim &= den_hidden
    top, determined = _goal(space, prim, den, den_hidden, pol, labelled)
    labelled_prim = prim.copy()  # what the labels say (bounds), whatever is checked
    prim &= ~determined
    code = np.zeros(space.size, dtype=np.int8)
    if status is not None and DISPLAY_COLUMN in frame.columns:
        shown = frame[DISPLAY_COLUMN].fillna("").astype(str).to_numpy().astype(str)
        coded = status == "top_bottom"
        code[flat[coded & np.char.startswith(shown, "<")]] = rates.LOW
        code[flat[coded & np.char.startswith(shown, ">")]] = rates.HIGH
    code[den_hidden] = 0
    model = joint.publisher_model(space.spec, numerator, denominator, num, den, num_hidden,
                                  den_hidden, labelled_prim, np.where(prim, EXACT, NONE), top,
                                  code, pol, labelled)
    n = space.size
    prim3 = np.zeros(3 * n, dtype=bool)
    prim3[joint.at(joint.DEN, n)] = prim
    # Every hidden numerator must not be exact: those hidden with their group or under a
    # coded rate are protected for it; a complement that is exact protects nothing.
    num3 = np.zeros(3 * n, dtype=bool)
    num3[joint.at(joint.NUM, n)] = num_hidden
    key = RATE_KEY.format(numerator=numerator, denominator=denominator)
    # Most proofs are found in the count space first, one measure moving at a time from a
    # start point found there too (``joint.staged_start``, ``joint.count_space_proofs``).
    first = partial(joint.count_space_proofs, space, model)
    hinted = None if intervals else _usable(model.space, model.values, model.hidden, model.lo,
                                            model.hi, hints)
    start = None if intervals or hinted is not None else joint.staged_start(space, model)
    results[key] = _publisher_audit(model.space, model.values, model.hidden, prim3, protection,
                                    model.goal, model.lo, model.hi, intervals, cubes,
                                    exact_too=num3, fixable=joint.numerators(n),
                                    start=start, regoal=regoal, first=first, hints=hinted)
    if regoal and results[key].failures:
        results[key] = _regoal_rate_failures(space, model, den, den_hidden, labelled_prim,
                                             protection, intervals, cubes, pol, results[key])
    return TableAudit(model.space, results, {key: ATTACKER_MODEL if labelled else NO_LABELS})


def _usable(space: CellSpace, values: np.ndarray, hidden: np.ndarray, lo: np.ndarray,
            hi: np.ndarray, hints: Proof | None) -> Proof | None:
    """``hints`` if their true values are a whole-number point of the published table's model
    (``audit_table``'s ``hints``): the published cells at their published values, the hidden
    ones within their bounds, every relation exact; else None (the audit then finds its own
    start point and uses none of the hints)."""
    if hints is None or hints.values.shape != values.shape:
        return None
    x = hints.values.astype(np.float64)
    if (not np.isfinite(x).all() or (x != np.round(x)).any()
            or (x[~hidden] != values[~hidden]).any()
            or (x[hidden] < lo[hidden]).any() or (x[hidden] > hi[hidden]).any()):
        return None
    # Whole numbers well below 2**53: these float64 sums are exact.
    if np.abs(space.relation_sums(x)).max(initial=0.0) != 0.0:
        return None
    return Proof(x, hints.witnesses)


def _hinted_proofs(space: CellSpace, hints: Proof, hidden: np.ndarray, goal: np.ndarray,
                   lo: np.ndarray, hi: np.ndarray, *rules: np.ndarray) -> list[np.ndarray]:
    """Per rule, the targets the hints prove from their values: a witness that is a whole
    point of this model (``witness.moves``: only hidden cells move, whole movements, within
    the bounds, every relation it touches still exact; checked once for every rule) proves
    every target it moves to its goal (threshold) or off its value (exact), whatever it was
    found for."""
    m = moves(space, hints.values, hidden, hints.witnesses, lo, hi)
    ok = m.valid[m.wid]
    cells, dx = m.cell[ok], m.dx[ok]
    out = []
    for rule in rules:
        proven = np.zeros(space.size, dtype=bool)
        proven[cells[reaches(rule, goal, hints.values, cells, dx)]] = True
        out.append(proven & hidden)
    return out


def _regoal_rate_failures(space: CellSpace, model: joint.RateModel, den: np.ndarray,
                          den_hidden: np.ndarray, labelled_prim: np.ndarray, protection: str,
                          intervals: bool, cubes: bool, pol: Policy,
                          result: AuditResult) -> AuditResult:
    """``_regoal_failures`` for a rate table: the group sizes that fail their propagated
    goal are judged against their exact goals (``model.lazy_goals`` over the group sizes,
    as the suppressor asked for the ones its cheap witnesses left); numerator failures
    stand."""
    n = space.size
    failing = np.unique([f.cell // 3 for f in result.failures
                         if f.cell % 3 == joint.DEN and labelled_prim[f.cell // 3]])
    failing = failing.astype(np.int64)
    if not len(failing):
        return result
    try:
        # The start point's group sizes are a whole point of the labels-only model, so the
        # region LPs decide most goals without the LP over the whole table (as for counts).
        den_at, start = joint.at(joint.DEN, n), result.start_point
        goal, determined = lazy_goals(space, den, labelled_prim, (den == 0) & ~den_hidden,
                                      model.goal[den_at], pol, False, failing,
                                      point=None if start is None else start[den_at])
    except DisclosureError:
        return result  # labels that contradict the values: the failures stand
    rate_goal = model.goal.copy()
    rate_goal[failing * 3 + joint.DEN] = goal
    redo = np.zeros(3 * n, dtype=bool)
    redo[failing[~determined] * 3 + joint.DEN] = True
    again = _publisher_audit(model.space, model.values, model.hidden, redo, protection,
                             rate_goal, model.lo, model.hi, intervals, cubes,
                             fixable=joint.numerators(n), start=result.start_point)
    return _rejudged(result, failing * 3 + joint.DEN, determined, again)


def _goal(space: CellSpace, prim: np.ndarray, values: np.ndarray, hidden: np.ndarray,
          pol: Policy, labelled: bool) -> tuple[np.ndarray, np.ndarray]:
    """(The threshold goal per cell, the primaries the labels alone determine) from what is
    published: with labels, the largest value they allow (``model.goals_up_front``; above
    REFINE_MAX_CELLS refined later, where it matters: ``_regoal_failures``); without
    (another tool's pattern, nothing known of a hidden cell but >= 0), T: the cell could be
    not small at all."""
    none = np.zeros(space.size, dtype=bool)
    if not labelled:
        return np.full(space.size, float(pol.min_n)), none
    zero = (values == 0) & ~hidden
    goal, floor = label_bounds(space, prim, zero, pol)
    try:
        goal, determined = goals_up_front(space, values, prim, zero, goal, pol, False)
    except DisclosureError:
        return goal, none  # labels that contradict the values: the audit below reports it
    # Above REFINE_MAX_CELLS none is determined up front, but a primary whose propagated top
    # is its propagated floor has one value in every point of the labels-only model: the
    # labels alone determine it, as ``lazy_goals`` finds once the audit has failed it
    # (scale-1 chronic absence: 18 group sizes of 1, which cost an LP over 307,459 cells that
    # proved none, 26 s, and one over the whole count space to judge them, 26 s).
    return goal, determined | (prim & (goal <= floor))


def _regoal_failures(space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                     prim: np.ndarray, labelled_prim: np.ndarray, protection: str,
                     top: np.ndarray, lo: np.ndarray, hi: np.ndarray, intervals: bool,
                     cubes: bool, pol: Policy, result: AuditResult) -> AuditResult:
    """A table too big to refine every goal first is audited against the propagated goals
    (upper bounds of the exact ones); the cells that fail are then judged against their
    exact goals (``model.lazy_goals``), as the suppressor did for the cells its cheap
    witnesses left. A cell the labels alone determine is not counted (no pattern could
    protect it; the suppressor reports it as ``disclosed_by_labels``). ``prim``: the cells
    checked; ``labelled_prim``: every "N<10" cell, those the labels alone determine too,
    which the labels-only model must keep at 1..T-1 (as ">= T" they made it infeasible:
    scale-0.2 enrollment, 8 cells left failing)."""
    failing = np.unique([f.cell for f in result.failures if prim[f.cell]]).astype(np.int64)
    if not len(failing):
        return result
    try:
        goal, determined = lazy_goals(space, values, labelled_prim, (values == 0) & ~hidden,
                                      top, pol, False, failing, point=result.start_point)
    except DisclosureError:
        return result  # labels that contradict the values: the failures stand
    top = top.copy()
    top[failing] = goal
    redo = np.zeros(space.size, dtype=bool)
    redo[failing[~determined]] = True
    again = _publisher_audit(space, values, hidden, redo, protection, top, lo,
                             np.minimum(hi, top), intervals, cubes, start=result.start_point)
    return _rejudged(result, failing, determined, again)


def _rejudged(result: AuditResult, judged: np.ndarray, determined: np.ndarray,
              again: AuditResult) -> AuditResult:
    """``result`` with the failures of the ``judged`` cells replaced by ``again``'s (their
    audit against the exact goals); the cells the labels alone determine are no longer
    counted as targets."""
    cells = set(judged.tolist())
    result.failures = sorted([f for f in result.failures if f.cell not in cells]
                             + again.failures, key=lambda f: f.cell)
    result.targets -= int(determined.sum())
    result.lp_solves += again.lp_solves
    result.seconds += again.seconds
    return result


def _publisher_audit(space: CellSpace, values: np.ndarray, hidden: np.ndarray,
                     prim: np.ndarray, protection: str, top: np.ndarray, lo: np.ndarray,
                     hi: np.ndarray, intervals: bool, cubes: bool,
                     exact_too: np.ndarray | None = None,
                     fixable: np.ndarray | None = None,
                     start: np.ndarray | None = None, regoal: bool = False,
                     first: FirstProofs | None = None,
                     hints: Proof | None = None) -> AuditResult:
    """``threshold``: each primary's largest feasible value reaches ``top`` AND it is not
    exact (two audits, merged); ``exact``: not exact. ``exact_too``: more cells that must
    not be exact. ``start``: an earlier audit's whole point of the same published table,
    moved into these bounds (the re-audit against exact goals narrows a few cells' upper
    bounds; a new point is an LP over the whole component, 178 s at ~1M rows). ``regoal``:
    the caller judges failing primaries again against their exact goals, so the audits may
    leave the few that the local LPs do not prove to that (``audit``'s ``deferrable``).
    ``first`` (start point, rule, goal -> targets proven): proofs in a restriction of the model
    before each audit (a rate table's count spaces: ``joint.count_space_proofs``); what it
    proves is not audited again. ``hints``: the suppressor's proof, its values already found
    a whole point of this model (``_usable``): they are the start point, and its witnesses
    are re-verified against this model before anything else; the targets they prove are not
    searched for."""
    if hints is not None:
        start = hints.values
    extra = np.zeros(space.size, dtype=bool) if exact_too is None else exact_too & hidden
    ex_mask = prim | extra
    ex_rule = np.where(ex_mask, EXACT, NONE).astype(np.int8)
    if start is not None and not intervals:
        start = refit_start(space, hidden, start, lo, hi)
    threshold = protection == "threshold" and prim.any()
    th_rule = np.where(prim, THRESHOLD, NONE).astype(np.int8)
    up: AuditResult | None = None
    implied = np.zeros(space.size, dtype=bool)
    defer = prim if regoal else None  # (``audit`` defers only from a start point)
    try:
        # One whole-number feasible point for both audits (audit.py: the proofs start there).
        if start is None and not intervals:
            start = whole_start(space, values, hidden, lo, hi)
        hinted_th, hinted_ex = (
            _hinted_proofs(space, hints, hidden, top, lo, hi, th_rule, ex_rule)
            if hints is not None else [np.zeros(space.size, dtype=bool) for _ in range(2)])
        th_rule = np.where(hinted_th, NONE, th_rule).astype(np.int8)
        if threshold and start is not None:
            # The threshold audit first: a small cell it proves reaches its goal, and one
            # below the goal at the start point then takes two whole values, so it is not
            # exact either and the exact audit need not prove it again (its region LPs were
            # a third of audit-table at 201,535 rows).
            up = _audit_after(first, start, th_rule, top, partial(
                audit, space, values, hidden, threshold=top, lower=lo, upper=hi, truth=False,
                cubes=cubes, fixable=fixable, start_point=start, find_start=False,
                deferrable=defer))
            implied = prim & (start < top - 0.5)
            implied[[f.cell for f in up.failures]] = False
        # A target a hint carries to its goal from below is not exact either: counted as the
        # hint's proof, not the threshold audit's.
        hinted_ex |= implied & hinted_th
        implied &= ~hinted_ex
        ex_left = np.where(implied | hinted_ex, NONE, ex_rule).astype(np.int8)
        result = _audit_after(
            first, start, ex_left, top, partial(
                audit, space, values, hidden, threshold=top, lower=lo, upper=hi,
                intervals=intervals, truth=False, cubes=cubes, fixable=fixable,
                start_point=start, find_start=False,
                known_points=up.points if up is not None else None, deferrable=defer))
        if up is not None:
            up.points = []  # used: not kept with the result
        result.points = []
        result.implied = int(implied.sum())
        result.targets += result.implied + int(hinted_ex.sum())
        result.hinted += int(hinted_ex.sum())
    except DisclosureError:
        # The labels contradict the published values (e.g. a complementary cell that must
        # be 0 under an "N<10" total: another tool's, or an old, pattern). Then the model's
        # premise fails; every small cell is reported, none is proven.
        cells = np.flatnonzero(ex_mask)
        return AuditResult(int(hidden.sum()), len(cells), 0, 0, 0, 0.0, failures=[
            Failure(int(c), 0, float("nan"), float("nan"),
                    "labels contradict the published values (a complementary cell is 0?)")
            for c in cells])
    if threshold:
        if up is None:
            up = audit(space, values, hidden, th_rule, top, lo, hi, truth=False, cubes=cubes,
                       fixable=fixable, start_point=start, find_start=False)
        failed = {f.cell for f in result.failures}
        result.failures += [f for f in up.failures if f.cell not in failed]
        result.failures.sort(key=lambda f: f.cell)
        result.lp_solves += up.lp_solves
        result.seconds += up.seconds
    result.start_point = start
    return result


# Proofs in a restriction of an audit's model, from its start point: (point, rule, goal) ->
# the targets proven (``_publisher_audit``'s ``first``).
FirstProofs = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _audit_after(first: FirstProofs | None, start: np.ndarray | None, rule: np.ndarray,
                 goal: np.ndarray, run: Callable[..., AuditResult]) -> AuditResult:
    """``run(rule=...)`` for the targets ``first`` leaves; those it proves count as proven
    by whole points (its time with the audit's)."""
    if first is None or start is None:
        return run(rule=rule)
    t0 = time.perf_counter()
    done = first(start, rule, goal) & (rule != NONE)
    seconds = time.perf_counter() - t0
    result = run(rule=np.where(done, NONE, rule).astype(np.int8))
    result.targets += int(done.sum())
    result.witnessed += int(done.sum())
    result.seconds += seconds
    return result


def _mark(space: CellSpace, flat: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.zeros(space.size, dtype=bool)
    out[flat[rows]] = True
    return out


def _published(space: CellSpace, frame: pd.DataFrame, flat: np.ndarray,
               column: str) -> tuple[np.ndarray, np.ndarray]:
    """(dense published values, hidden mask) for a measure whose hidden cells are empty."""
    if column not in frame.columns:
        raise DisclosureError(f"table has no measure column {column!r}")
    raw = pd.to_numeric(frame[column], errors="coerce")
    missing = raw.isna().to_numpy()
    shown = frame.loc[~missing, column]
    measure(pd.DataFrame({column: shown}), column)  # validates the published numbers
    values = dense(space, flat, np.where(missing, 0, raw.fillna(0).to_numpy()).astype(np.int64))
    hidden = np.zeros(space.size, dtype=bool)
    hidden[flat[missing]] = True
    return values, hidden


__all__ = ["THRESHOLD", "Proof", "SuppressionResult", "TableAudit", "audit_table", "suppress_table"]
