"""Benchmark: datashare's suppression vs tau-Argus (``pytauargus``) on statewide-like tables.

    uv sync --frozen --extra spark --group bench
    .venv/bin/python bench/suppression.py --sizes 5k,46k --tau mod,opt

For each size it generates a synthetic statewide table (districts x schools x 17 student
groups in 5 overlapping partitions x grades K-12 + All Grades; 27 groups from 500k up),
suppresses it with datashare (policy ``ospi``, protection ``threshold``: every primary cell's
feasible maximum must reach 10), then gives tau-Argus the same primaries with upper
protection level 10 - value (so it must meet the same requirement), and audits both patterns
with datashare's LP audit. Printed per size: seconds, the tau/datashare time ratio, secondary
(complementary) cells and audit failures.

    .venv/bin/python bench/suppression.py --rates --sizes 2k,5k [--rate 0.8]

``--rates``: a rate table instead (the same table's counts as the denominator, ``met`` a
binomial share of them split consistently over every partition; see ``statewide.generate``),
suppressed in the one rate model (policy ``ospi``, ``threshold``) and then audited from the
published table (``audit_table``); printed per size: rows, small denominators, wall and CPU
seconds of each step, hidden numerators and denominators, coded rates, whether both proofs
passed. No tau-Argus here (it has no model linking numerators and denominators).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from cputime import cpu_seconds
from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.audit import NONE
from datashare.disclosure.engine import protect, rule_for
from datashare.disclosure.model import (
    count_bounds,
    goals_up_front,
    label_goal,
    lazy_goals,
    refine_up_front,
)
from datashare.disclosure.policy import load_policy
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space, dense, locate_rows
from statewide import EXTRA_PARTITIONS, PARTITIONS, generate

ROWS_PER_DISTRICT = 960  # about 8 schools and their district, 17 groups
ROWS_PER_DISTRICT_EXTRA = 1520  # the same with 27 groups


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = 1_000_000 if text.endswith("m") else 1_000 if text.endswith("k") else 1
    return int(float(text.rstrip("km")) * mult)


def make_table(target_rows: int, seed: int, met_rate: float | None = None,
               partitions: list[str] | None = None, schools: float = 8.0):
    extra = target_rows >= 500_000
    per = ROWS_PER_DISTRICT_EXTRA if extra else ROWS_PER_DISTRICT
    if partitions is not None:  # fewer groups: fewer rows per district (All Students + groups)
        parts = dict(PARTITIONS, **(EXTRA_PARTITIONS if extra else {}))
        per = per * (1 + sum(len(parts[p]) for p in partitions if p in parts)) // (1 + len(
            [g for p in parts.values() for g in p]))
    per = max(1, round(per * schools / 8.0))
    n = max(2, math.ceil(target_rows / per))
    return generate(n, schools, extra_groups=extra, seed=seed, met_rate=met_rate,
                    partitions=partitions)


def run_rates(size: int, args: argparse.Namespace) -> None:
    """Suppress a rate table and audit the published table; one line per size."""
    frame, spec = make_table(size, args.seed, met_rate=args.rate, partitions=args.partitions,
                             schools=args.schools)
    measures = {"numerator": "met", "denominator": "count"}
    c0, t0 = cpu_seconds(), time.perf_counter()
    result = suppress_table(frame, spec, policy="ospi", method=args.method, **measures)
    c1, t1 = cpu_seconds(), time.perf_counter()
    checked = audit_table(result.table, spec, policy="ospi", **measures)
    c2, t2 = cpu_seconds(), time.perf_counter()
    status = result.table["suppression"].to_numpy()
    den_small = int(((frame["count"] > 0) & (frame["count"] < 10)).sum())
    passed = bool(result.audit and result.audit.ok) and checked.ok
    print(f"{len(frame):>9} {den_small:>8} | {t1 - t0:>8.2f} {c1 - c0:>8.2f} | "
          f"{t2 - t1:>8.2f} {c2 - c1:>8.2f} | {int(result.table['met'].isna().sum()):>7} "
          f"{int(result.table['count'].isna().sum()):>7} {int((status == 'top_bottom').sum()):>6} "
          f"{'yes' if passed else 'NO':>6}", flush=True)
    secs = result.report["seconds"]
    print(f"{'':>9} datashare phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in secs.items()),
          flush=True)
    stats = result.report["protection_method"].get("met", {})
    print(f"{'':>9} joint: " + ", ".join(f"{k} {v}" for k, v in stats.items()), flush=True)


def _pattern(spec: dict, frame, suppressed_rows: np.ndarray, threshold: int):
    """(space, values, hidden, primary, present) of a pattern given per frame row."""
    space = build_space(parse_spec(spec))
    flat = locate_rows(space, frame)
    v = frame["count"].to_numpy()
    values = dense(space, flat, v)
    hidden = np.zeros(space.size, dtype=bool)
    hidden[flat[suppressed_rows]] = True
    primary = np.zeros(space.size, dtype=bool)
    primary[flat[(v > 0) & (v < threshold)]] = True
    present = np.zeros(space.size, dtype=bool)
    present[flat] = True  # absent combinations are known zeros, as in suppress_table
    return space, values, hidden, primary, present


def published(frame, suppressed_rows: np.ndarray, threshold: int):
    """Any pattern as the published, labelled file ``audit_table`` reads (counts hidden,
    ``suppression`` primary / complementary), so every tool's pattern is audited under the
    same attacker model (``labels-v2``: the labels' bounds, whole numbers)."""
    v = frame["count"].to_numpy()
    primary = (v > 0) & (v < threshold)
    if (suppressed_rows & ~primary & (v == 0)).any():
        raise AssertionError("a zero cell hidden as a complement: its label would be false")
    out = frame.copy()
    out["count"] = pd.array(np.where(suppressed_rows, 0, v), dtype="Int64")
    out.loc[suppressed_rows, "count"] = pd.NA
    out["suppression"] = np.where(primary, "primary",
                                  np.where(suppressed_rows, "complementary", ""))
    return out


def audit_pattern(spec: dict, frame, suppressed_rows: np.ndarray, threshold: int,
                  protection: str = "threshold") -> tuple[int, float, float]:
    """Audit any suppression pattern (datashare's or tau-Argus's) from its published file
    with ``audit_table`` (labels-v2); (failures, CPU seconds of every thread and process,
    wall seconds)."""
    c0, t0 = cpu_seconds(), time.perf_counter()
    checked = audit_table(published(frame, suppressed_rows, threshold), spec, count="count",
                          policy="ospi", protection=protection)
    return len(checked.failures()), cpu_seconds() - c0, time.perf_counter() - t0


def repair_pattern(spec: dict, frame, suppressed_rows: np.ndarray, threshold: int,
                   method: str, protection: str = "threshold") -> tuple[np.ndarray, int]:
    """Make another tool's pattern safe: datashare's engine under the same attacker model as
    ``suppress_table`` (label bounds and goals), starting from it (its hidden cells stay
    hidden, only the small cells must be protected). Returns (the repaired pattern per frame
    row, the engine's audit failures), for a like-for-like cell count when the other tool's
    own pattern fails the audit."""
    space, values, hidden, primary, present = _pattern(spec, frame, suppressed_rows, threshold)
    pol = load_policy("ospi")
    zero = (values == 0) & ~primary
    estimate = label_goal(space, primary, zero, pol)
    top, by_labels = goals_up_front(space, values, primary, zero, estimate, pol, True,
                                    refine=protection == "threshold")
    regoal = None
    if not refine_up_front(space):
        def regoal(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return lazy_goals(space, values, primary, zero, estimate, pol, True, cells)
    rule = rule_for(primary, protection, values, top)
    rule[by_labels] = NONE
    lo, hi = count_bounds(None, primary, np.ones(space.size, dtype=bool), pol)
    lo[zero] = 0.0
    hi = np.minimum(hi, top)
    prot = protect(space, values, hidden, rule, top, lo, hi,
                   blocked=~present | zero, method=method, regoal=regoal)
    final = prot.cover.suppressed
    assert not (hidden & ~final).any(), "the repair published a cell the tool hid"
    failures = len(prot.audit.failures) if prot.audit is not None else -1
    flat = locate_rows(space, frame)
    return final[flat], failures


def _loss(frame, suppressed_rows: np.ndarray, primary_rows: np.ndarray) -> tuple[int, int]:
    """(complementary cells, their total true value)."""
    comp = suppressed_rows & ~primary_rows
    return int(comp.sum()), int(frame["count"].to_numpy()[comp].sum())


def run_size(size: int, args: argparse.Namespace, methods: list[str], opt_max: int,
             threshold: int) -> None:
    frame, spec = make_table(size, args.seed, partitions=args.partitions, schools=args.schools)
    c0, t0 = cpu_seconds(), time.perf_counter()
    result = suppress_table(frame, spec, count="count", policy="ospi", method=args.method,
                            protection=args.protection)
    ds_seconds = time.perf_counter() - t0
    ds_cpu = cpu_seconds() - c0
    status = result.table["suppression"].to_numpy()
    primary_rows = status == "primary"
    ds_rows = result.table["count"].isna().to_numpy()
    ds_second, ds_value = _loss(frame, ds_rows, primary_rows)
    ds_fail = len(result.audit.failures()) if result.audit else -1
    # The published file audited like every other tool's (the engine's own proof is ds_fail).
    ds_check, ds_check_cpu, ds_check_wall = audit_pattern(spec, frame, ds_rows, threshold,
                                                          args.protection)
    line = (f"{len(frame):>9} {int(primary_rows.sum()):>8} | {ds_seconds:>8.2f} {ds_cpu:>8.2f} "
            f"{ds_second:>7} {ds_value:>9} {ds_fail:>4} {ds_check:>5} |")
    ran = False
    for method in methods:
        if method == "OPT" and len(frame) > opt_max:
            continue
        from tau import run_tau_isolated

        run = run_tau_isolated(frame, spec, primary_rows, threshold, method,
                               timeout=args.tau_timeout, protection=args.protection)
        ran = True
        if run.error:
            print(f"{line} {method:>6} {'-':>8} {'-':>6} {'-':>7} {'-':>9} {'-':>5}  {run.error}",
                  flush=True)
            continue
        tau_second, tau_value = _loss(frame, run.suppressed, primary_rows)
        tau_fail, _, _ = audit_pattern(spec, frame, run.suppressed, threshold, args.protection)
        print(f"{line} {method:>6} {run.cpu:>8.2f} {run.cpu / ds_cpu:>6.1f} "
              f"{tau_second:>7} {tau_value:>9} {tau_fail:>5}  "
              f"{run.iterations} linked-table round(s), {run.seconds:.1f} s wall", flush=True)
        if tau_fail:
            fixed, still = repair_pattern(spec, frame, run.suppressed, threshold, args.method,
                                          args.protection)
            f_second, f_value = _loss(frame, fixed, primary_rows)
            f_check, _, _ = audit_pattern(spec, frame, fixed, threshold, args.protection)
            print(f"{'':>9} tau-Argus {method} pattern made safe by datashare's engine (its "
                  f"cells kept): {f_second} complementary (value {f_value}), {still} engine / "
                  f"{f_check} audit-table failures; datashare alone: {ds_second} "
                  f"(value {ds_value})", flush=True)
    if not ran:
        print(f"{line} {'-':>6}", flush=True)
    secs = result.report["seconds"]
    print(f"{'':>9} datashare phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in secs.items())
          + f"; audit-table of its output {ds_check_wall:.2f} s wall, {ds_check_cpu:.2f} s CPU", flush=True)
    stats = result.report["protection_method"].get("count", {})
    print(f"{'':>9} protection: " + ", ".join(f"{k} {v}" for k, v in stats.items()), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="5k,46k", help="comma-separated row counts, e.g. 5k,46k,1m")
    ap.add_argument("--tau", default="mod,opt", help="tau-Argus methods to run: mod, opt, none")
    ap.add_argument("--opt-max", default="10k", help="run tau-Argus Optimal only up to this size")
    ap.add_argument("--tau-timeout", type=float, default=900.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--method", default="auto", help="datashare protection: auto, cubes, lp")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds per size (datashare and tau-Argus together) before moving on")
    ap.add_argument("--rates", action="store_true",
                    help="a rate table (met / count) in the one rate model, with audit-table")
    ap.add_argument("--rate", type=float, default=0.8, help="--rates: the share met")
    ap.add_argument("--protection", default="threshold", choices=["threshold", "exact"])
    ap.add_argument("--groups", default="",
                    help="student-group partitions, e.g. race or gender,income (default: all)")
    ap.add_argument("--schools", type=float, default=8.0, help="schools per district (mean)")
    args = ap.parse_args(argv)
    args.partitions = [g.strip() for g in args.groups.split(",") if g.strip()] or None
    if args.rates:
        header = (f"{'rows':>9} {'den<10':>8} | {'supp s':>8} {'cpu s':>8} | {'audit s':>8} "
                  f"{'cpu s':>8} | {'num hid':>7} {'den hid':>7} {'coded':>6} {'passed':>6}")
        print(header)
        print("-" * len(header))
        for size in [parse_size(s) for s in args.sizes.split(",")]:
            _in_child(run_rates, (size, args), size, args.timeout)
        return 0
    methods = [m.strip().upper() for m in args.tau.split(",") if m.strip() and m != "none"]
    opt_max = parse_size(args.opt_max)
    threshold = 10
    # datashare: wall and CPU seconds, complementary cells and their total value, failures of
    # its own proof and of audit-table on its output; tau-Argus: seconds, the ratio to
    # datashare's CPU seconds, complementary cells, value, audit-table failures.
    header = (f"{'rows':>9} {'primary':>8} | {'ds s':>8} {'ds cpu':>8} {'2nd':>7} "
              f"{'value':>9} {'fail':>4} {'audit':>5} | {'tau':>6} {'tau cpu':>8} {'ratio':>6} "
              f"{'2nd':>7} {'value':>9} {'fail':>5}  note")
    print(header)
    print("-" * len(header))
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        _in_child(run_size, (size, args, methods, opt_max, threshold), size, args.timeout)
    return 0


def _in_child(target: Any, args: tuple[Any, ...], size: int, timeout: float) -> None:
    """Each size in a child process, so a slow size cannot hang the whole benchmark."""
    child = multiprocessing.Process(target=target, args=args)
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.terminate()
        child.join()
        print(f"{size:>9} target rows: stopped after {timeout:.0f} s (--timeout)", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
