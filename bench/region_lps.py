"""Benchmark: the region LPs under other HiGHS options, against the engine's own, same run.

    .venv/bin/python bench/region_lps.py --size 50k \\
        --option dual_feasibility_tolerance=1e-5 --option simplex_price_strategy=0

Nearly all of a big suppression is HiGHS solving the local LPs (``local._Region``: py-spy
of scale-1 chronic absence, HiGHS ``run`` 66% of every sample), so an option that made those
solves cheaper would be the cheapest speed-up there is. This suppresses the bench's
statewide table (``suppression.make_table``; ``--rates``: its rate table) on one LP thread,
keeps every ``--every``-th region LP of ``--min-cells`` cells or more exactly as it was
solved (the region's model with that solve's bounds and costs: a soft round, a single
target's solve, or another), then solves each kept LP again from scratch, once with the
engine's options (``local.region_highs``) and once with each ``--option``, in turn LP by
LP so the machine's drift falls on all of them alike. Printed per option and kind: solves,
seconds, simplex iterations, optima found, the ratio of seconds and iterations to the
engine's options, and how many solves ended at another point (another of tied optima
changes the pattern, so an option that does must also pay for an ``ENGINE_VERSION``).

A replayed solve starts from a new HiGHS object, the region's from ``clearSolver()`` on its
own: the engine's options' replay is the baseline, so only ratios are compared.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from datashare.disclosure import local
from datashare.disclosure.api import suppress_table
from datashare.disclosure.lp import run
from suppression import make_table, parse_size

OPTIMAL = highspy.HighsModelStatus.kOptimal


@dataclass
class Kept:
    """One region LP as it was solved, and the simplex iterations the engine's solve took."""

    kind: str  # soft, single or other (a soft round's second solve, an audit's maximum...)
    lp: highspy.HighsLp
    iterations: int


@contextmanager
def keeping(every: int, min_cells: int, limit: int) -> Iterator[list[Kept]]:
    """Within the block, every ``every``-th cold region solve (``_Region._run``) of a
    region of ``min_cells`` cells or more is kept (at most ``limit``), on one LP thread."""
    kept: list[Kept] = []
    kind = ["other"]
    seen = [0]
    cold_run, carry, threads = local._Region._run, local._Region.carry, local.THREADS

    def carry_(self: local._Region, targets: np.ndarray, soft: bool,
               warm: bool = False) -> Any:
        kind[0] = "soft" if soft else "single" if len(targets) == 1 else "other"
        try:
            return carry(self, targets, soft, warm)
        finally:
            kind[0] = "other"

    def run_(self: local._Region) -> None:
        seen[0] += 1
        keep = (len(self.cells) >= min_cells and seen[0] % every == 0
                and len(kept) < limit)
        lp = self.h.getLp() if keep else None
        what = kind[0]
        kind[0] = "other"  # a soft round's second solve, the dives: not the first solve
        cold_run(self)
        if lp is not None:
            kept.append(Kept(what, lp, int(self.h.getInfo().simplex_iteration_count)))

    local._Region._run = run_  # type: ignore[method-assign]
    local._Region.carry = carry_  # type: ignore[method-assign]
    local.THREADS = 1  # the hooks live in this process, not in forked ones
    try:
        yield kept
    finally:
        local._Region._run = cold_run  # type: ignore[method-assign]
        local._Region.carry = carry  # type: ignore[method-assign]
        local.THREADS = threads


def parse_option(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` as HiGHS takes it (a number where it reads as one); ValueError if
    HiGHS has no such option or refuses the value."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise ValueError(f"--option {text!r}: expected NAME=VALUE")
    value: Any = raw
    for kind in (int, float):
        try:
            value = kind(raw)
            break
        except ValueError:
            continue
    h = local.region_highs()
    h.setOptionValue("log_to_console", False)  # its refusal is reported here, in one line
    if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
        raise ValueError(f"--option {text!r}: HiGHS has no such option or refuses that value")
    return name, value


def solve(lp: highspy.HighsLp, options: dict[str, Any]) -> tuple[float, int, np.ndarray | None]:
    """(seconds, simplex iterations, the point or None) of ``lp`` from scratch."""
    h = local.region_highs()
    for name, value in options.items():
        h.setOptionValue(name, value)  # checked by ``parse_option``
    h.passModel(lp)
    t0 = time.perf_counter()
    run(h)  # as the engine's solves are run: past the guard it raises, not "no optimum"
    seconds = time.perf_counter() - t0
    ok = h.getModelStatus() == OPTIMAL
    x = np.asarray(h.getSolution().col_value) if ok else None
    return seconds, int(h.getInfo().simplex_iteration_count), x


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="50k", help="rows of the bench's table, e.g. 50k, 200k")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rates", action="store_true", help="the rate table (met of count)")
    ap.add_argument("--every", type=int, default=20, help="keep every N-th region solve")
    ap.add_argument("--min-cells", type=int, default=500,
                    help="keep only solves in regions of this many cells or more")
    ap.add_argument("--limit", type=int, default=1500, help="keep at most this many")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="a HiGHS option to compare (repeatable: one comparison each)")
    args = ap.parse_args()
    try:
        rows = parse_size(args.size)
    except ValueError:
        ap.error(f"--size {args.size!r}: expected rows such as 50000, 50k or 1m")
    if args.every < 1 or args.limit < 0:
        ap.error("--every must be 1 or more and --limit 0 or more")
    try:
        options = [dict([parse_option(o)]) for o in args.option]
    except ValueError as e:
        ap.error(str(e))

    frame, spec = make_table(rows, args.seed, met_rate=0.8 if args.rates else None)
    measures: dict[str, Any] = (
        {"numerator": "met", "denominator": "count"} if args.rates else {"count": "count"})
    t0 = time.perf_counter()
    with keeping(args.every, args.min_cells, args.limit) as kept:
        suppress_table(frame, spec, policy="ospi", **measures)
    print(f"{len(frame):,} rows suppressed on one LP thread in "
          f"{time.perf_counter() - t0:.1f} s; {len(kept)} region LPs kept", flush=True)
    if not kept:
        print("no region LP to replay (a bigger --size, or a smaller --every or --min-cells)")
        return 0

    # [configuration][kind] -> solves, seconds, iterations, optima, other points
    totals: list[dict[str, list[float]]] = [defaultdict(lambda: [0, 0.0, 0, 0, 0])
                                            for _ in range(1 + len(options))]
    same = 0  # replays with the engine's options that took the engine's own pivots
    for i, k in enumerate(kept):
        configs = [{}, *options]
        order = list(range(len(configs)))
        if i % 2:
            order.reverse()  # alternate which configuration goes first
        points: dict[int, np.ndarray | None] = {}
        iterations_of: dict[int, int] = {}
        for c in order:
            seconds, iterations, x = solve(k.lp, configs[c])
            iterations_of[c] = iterations
            t = totals[c][k.kind]
            t[0] += 1
            t[1] += seconds
            t[2] += iterations
            t[3] += x is not None
            points[c] = x
        base = points[0]
        same += iterations_of[0] == k.iterations
        for c in range(1, len(configs)):
            x = points[c]
            moved = (base is None) != (x is None) or (
                base is not None and x is not None and not np.allclose(base, x, atol=1e-7))
            totals[c][k.kind][4] += moved
    print(f"replayed with the engine's options, {same} of {len(kept)} took as many simplex "
          "iterations as the engine's own solve", flush=True)
    names = ["engine's options", *(",".join(f"{n}={v}" for n, v in o.items()) for o in options)]
    print(f"{'options':<44} {'kind':<7} {'solves':>6} {'seconds':>8} {'iterations':>10} "
          f"{'optima':>6} {'s ratio':>7} {'it ratio':>8} {'other point':>11}")
    for c, name in enumerate(names):
        for kind in sorted(totals[0]):
            n, s, it, opt, other = totals[c][kind]
            _, s0, it0, _, _ = totals[0][kind]
            print(f"{name:<44} {kind:<7} {n:>6.0f} {s:>8.2f} {it:>10.0f} {opt:>6.0f} "
                  f"{s / s0 if s0 else 0:>7.2f} {it / it0 if it0 else 0:>8.2f} "
                  f"{'-' if c == 0 else f'{other:.0f}':>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
