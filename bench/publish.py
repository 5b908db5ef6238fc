"""The full statewide publish: every standard table for one school year, built and suppressed.

    python bench/publish.py --source DIR [--year 2025] [--no-independent]
    python bench/publish.py --scale 1            # synthesizes (or reuses) var/bench/source-scale1-seed1

Per table: wall seconds (and the process's CPU seconds, all threads: on a shared machine the
wall time measures the other processes too) to build (DuckDB aggregation: the floor, measured in the same run), to
suppress with the ospi policy including the engine's own LP proof, and for the independent
audit from the published cells; rows (cells), cells suppressed, whether every proof passed;
then totals and the ratio of the whole publish to the build floor. Target: the whole year
under 10 minutes on 2 cores at scale 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from datashare.aggregate import definitions
from datashare.aggregate.build import TableRequest, build, connect
from datashare.aggregate.publish import suppress


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--tables", default=",".join(t.key for t in definitions.TABLES))
    p.add_argument("--no-independent", action="store_true",
                   help="skip the second audit from the published cells")
    p.add_argument("--json", type=Path, help="write the per-table results here")
    args = p.parse_args()
    source = args.source
    if source is None:
        source = Path("var/bench") / f"source-scale{args.scale:g}-seed{args.seed}"
        if not source.exists():
            from datashare.synthetic import generate

            t0 = time.perf_counter()
            generate(source, args.scale, args.seed)
            print(f"synthesized {source} in {time.perf_counter() - t0:.1f} s", flush=True)
    con = connect(source, threads=2)
    results = []
    print(f"{'table':26} {'build s':>8} {'suppress s':>10} {'audit2 s':>8} {'cpu s':>8} "
          f"{'cells':>9} {'suppressed':>10} {'proof':>6}", flush=True)
    for key in args.tables.split(","):
        t0, c0 = time.perf_counter(), time.process_time()
        built = build(con, TableRequest(key, args.year))
        t_build = time.perf_counter() - t0
        published = suppress(built, independent=not args.no_independent)
        parts = published.certificate["parts"]
        t_supp = sum(x["seconds"]["suppress"] for x in parts)
        t_aud = sum(x["seconds"]["audit"] for x in parts)
        cpu = time.process_time() - c0
        row = {"table": key, "build_s": round(t_build, 2), "suppress_s": round(t_supp, 2),
               "independent_audit_s": round(t_aud, 2), "cpu_s": round(cpu, 2), "cells": published.certificate["rows"],
               "suppressed": published.certificate["cells_suppressed"],
               "passed": published.passed,
               "grand_total_published": [x["grand_total_published"] for x in parts]}
        results.append(row)
        print(f"{key:26} {t_build:8.2f} {t_supp:10.2f} {t_aud:8.2f} {cpu:8.1f} {row['cells']:9,} "
              f"{row['suppressed']:10,} {'ok' if row['passed'] else 'FAIL':>6}", flush=True)
    build_total = sum(r["build_s"] for r in results)
    total = sum(r["build_s"] + r["suppress_s"] + r["independent_audit_s"] for r in results)
    cpu_total = sum(r["cpu_s"] for r in results)
    print(f"total {total:.1f} s wall, {cpu_total:.1f} s CPU for {len(results)} tables "
          f"({sum(r['cells'] for r in results):,} cells, "
          f"{sum(r['suppressed'] for r in results):,} suppressed); build floor "
          f"{build_total:.1f} s, publish/floor {total / max(build_total, 1e-9):.1f}x; "
          f"every proof passed: {all(r['passed'] for r in results)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
