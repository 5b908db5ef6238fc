"""The full statewide publish: every standard table for one school year, built and suppressed.

    python bench/publish.py --source DIR [--year 2025] [--table-timeout 900] [--json out.json]
    python bench/publish.py --scale 1            # synthesizes (or reuses) var/bench/source-scale1-seed1

Per table, each in its own process (so one table that runs away is stopped at
``--table-timeout`` and reported, and the others still run): wall seconds to build (DuckDB
aggregation: the floor, measured in the same run), to suppress with the ospi policy including
the engine's own LP proof, and for the publisher-side audit of the published CSV file (which
re-verifies the suppressor's witnesses against the file first; the JSON counts its targets
and how many those proved); the
process's CPU seconds (all threads, also for a table stopped at the limit; with Spark the
JVM's are not counted; on a shared machine the wall time measures the other processes too); rows (cells), cells suppressed, whether every proof passed, and the attacker
model each measure's proof used (labels included or not). Then totals and the ratio of the
whole publish to the build floor. Target: the whole year under 10 minutes on 2 cores at
scale 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from cputime import cpu_seconds
from datashare.aggregate import definitions, publish
from datashare.aggregate.build import TableRequest, build, connect
from datashare.aggregate.publish import failure_reason, suppress


def one_table(source: str, key: str, year: int, engine: str, out: Any,
              build_only: bool = False) -> None:
    """Build, suppress and audit one table in this (child) process; send the row back."""
    # A stopped benchmark (killed, no clean-up) must not leave its tables running: they
    # went on with the cores a run started after it was measuring.
    publish.exit_with_parent(os.getppid())
    c0 = time.process_time()
    t0 = time.perf_counter()
    con = connect(source, threads=2, engine=engine)
    built = build(con, TableRequest(key, year))
    t_build = time.perf_counter() - t0
    out.send({"table": key, "stage": "built", "build_s": round(t_build, 2),
              "cells": int(sum(len(p.frame) for p in built.parts)),
              "cpu_s": round(time.process_time() - c0, 1)})
    if build_only:
        out.send({"table": key, "stage": "done", "passed": True, "reason": "build only"})
        return
    # Tell the parent when the suppression is over and the file audit starts, so a table
    # stopped at the limit says which of the two it was in (this child's module only).
    t1 = time.perf_counter()
    audit_file = publish.audit_file
    # Wall seconds of the suppression (a table's parts may run in processes side by side,
    # so the parts' own seconds can add up to more).
    suppress_s: list[float] = []

    def announced(*args: Any, **kwargs: Any) -> Any:
        suppress_s.append(round(time.perf_counter() - t1, 2))
        out.send({"table": key, "stage": "suppressed", "suppress_s": suppress_s[0]})
        return audit_file(*args, **kwargs)

    publish.audit_file = announced  # type: ignore[assignment]
    published = suppress(built)
    cert = published.certificate
    parts = cert["parts"]
    out.send({
        "table": key, "stage": "done", "build_s": round(t_build, 2),
        "suppress_s": suppress_s[0] if suppress_s else round(time.perf_counter() - t1, 2),
        "suppress_parts_s": [x["seconds"]["suppress"] for x in parts],
        "file_audit_s": round(sum(x["seconds"]["audit"] for x in parts), 2),
        "cpu_s": round(cpu_seconds(), 1),
        "cells": cert["rows"], "suppressed": cert["cells_suppressed"],
        "passed": published.passed,
        "reason": "" if published.passed else failure_reason(cert),
        "models": {m: (v["attacker_model"], v["labels"])
                   for m, v in cert["attacker_model"].items()},
        "grand_total_published": [x["grand_total_published"] for x in parts],
        # How the file audit proved its targets: the suppressor's witnesses re-verified
        # against the file, the rest searched for from the file.
        "file_audit_targets": sum(m["protected_cells_checked"] for x in parts
                                  for m in x["independent_audit"]["measures"].values()),
        "file_audit_by_suppressor_witnesses": sum(
            m["proven_by_suppressor_witnesses"] for x in parts
            for m in x["independent_audit"]["measures"].values()),
    })


def _doing(row: dict[str, Any]) -> str:
    if row.get("stage") == "suppressed":
        return f"auditing the published file, after {row['suppress_s']:.0f} s of suppression"
    return "suppressing" if "build_s" in row else "building"


def _proc_cpu_s(pid: int) -> float:
    """A live process's CPU seconds, read from /proc (Linux): for a table stopped at the
    limit, which cannot report its own. Its parts' processes still running are not in it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return round(ticks / os.sysconf("SC_CLK_TCK"), 1)


def run_table(source: Path, key: str, year: int, engine: str, limit: float,
              build_only: bool = False, start: str = "fork") -> dict[str, Any]:
    recv, send = mp.Pipe(duplex=False)
    proc = mp.get_context(start).Process(target=one_table,
                                          args=(str(source), key, year, engine, send,
                                                build_only))
    t0 = time.perf_counter()
    proc.start()
    row: dict[str, Any] = {"table": key}
    while proc.is_alive() or recv.poll():
        if recv.poll(1.0):
            row.update(recv.recv())
        elif time.perf_counter() - t0 > limit:
            row["cpu_s"] = _proc_cpu_s(proc.pid)
            proc.terminate()  # our own child, by its pid
            proc.join(10)
            row.update({"stage": "timeout", "passed": False,
                        "reason": f"did not finish in {limit:.0f} s "
                                  f"(stopped while {_doing(row)})"})
            break
    proc.join()
    row["wall_s"] = round(time.perf_counter() - t0, 2)
    if row.get("stage") in ("built", "suppressed") or "stage" not in row:
        row.update({"passed": False, "reason": f"child exited {proc.exitcode}"})
    return row


def _print_row(row: dict[str, Any]) -> None:
    key = row["table"]
    models = ", ".join(f"{m} {name} ({'labels' if labels else 'NO labels'})"
                       for m, (name, labels) in row.get("models", {}).items())
    print(f"{key:26} {row.get('build_s', float('nan')):8.2f} "
          f"{row.get('suppress_s', float('nan')):10.2f} "
          f"{row.get('file_audit_s', float('nan')):12.2f} {row.get('cpu_s', float('nan')):7.1f} "
          f"{row.get('cells', 0):9,} {row.get('suppressed', 0):10,} "
          f"{'ok' if row.get('passed') else 'FAIL':>7}  {models or row.get('reason', '')}",
          flush=True)
    if row.get("passed") is False and row.get("reason"):
        print(f"{'':26} {row['reason']}", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    p.add_argument("--tables", default=",".join(t.key for t in definitions.TABLES))
    p.add_argument("--table-timeout", type=float, default=900.0,
                   help="stop a table after this many seconds and report it (default 900)")
    p.add_argument("--build-only", action="store_true",
                   help="only build (the floor, e.g. to compare --engine duckdb and spark)")
    p.add_argument("--jobs", type=int, default=1,
                   help="tables built and suppressed side by side (default 1; the portal "
                        "runs LONG_WORKERS, 2 by default)")
    p.add_argument("--longest-first", type=Path, metavar="EARLIER_JSON",
                   help="run the tables longest first by an earlier run's --json (each "
                        "table's suppression and file-audit wall seconds), as the portal "
                        "queues a year by the last builds' certificates")
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
    print(f"source {source}, year {args.year}, engine {args.engine}, pid {os.getpid()}, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'table':26} {'build s':>8} {'suppress s':>10} {'file audit s':>12} {'cpu s':>7} "
          f"{'cells':>9} {'suppressed':>10} {'proof':>7}  model", flush=True)
    keys = args.tables.split(",")
    if args.longest_first:
        # The table's wall seconds, not its parts' sum: an assessment table's subjects run
        # side by side, and summing them queued the two assessment tables first, together.
        took = {r["table"]: (r.get("suppress_s") or 0.0) + (r.get("file_audit_s") or 0.0)
                for r in json.loads(args.longest_first.read_text())}
        keys.sort(key=lambda k: (k in took, -took.get(k, 0.0)))
        print(f"order (longest first by {args.longest_first}): {', '.join(keys)}", flush=True)
    t0 = time.perf_counter()
    # Tables side by side (--jobs), as the portal's long-queue workers run them: each table's
    # own seconds then include the wait for the cores the others hold.
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        # Forking from a parent with several threads can copy a lock another one holds.
        start = "fork" if args.jobs <= 1 else "spawn"
        futures = [pool.submit(run_table, source, key, args.year, args.engine,
                               args.table_timeout, args.build_only, start) for key in keys]
        for future in as_completed(futures):
            _print_row(future.result())
    wall = time.perf_counter() - t0
    results = [f.result() for f in futures]
    total = sum(r["wall_s"] for r in results)
    build_total = sum(r.get("build_s", 0.0) for r in results)
    print(f"total {wall:.1f} s wall for {len(results)} tables, {args.jobs} at a time "
          f"(tables' own seconds add up to {total:.1f}; CPU "
          f"{sum(r.get('cpu_s', 0.0) for r in results):.1f} s) "
          f"({sum(r.get('cells', 0) for r in results):,} cells, "
          f"{sum(r.get('suppressed', 0) for r in results):,} suppressed); build floor "
          f"{build_total:.1f} s, publish/floor {wall / max(build_total, 1e-9):.1f}x; "
          f"every proof passed: {all(r.get('passed') for r in results)}; "
          f"load {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r.get("passed") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
