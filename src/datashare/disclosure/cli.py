"""``datashare suppress`` and ``datashare audit-table`` (no Django settings needed).

Bad input (inconsistent totals, negative or fractional counts, a numerator above its
denominator, unknown codes, a cyclic hierarchy, an unknown policy) exits 2 with one line on
stderr and writes no output file. ``audit-table`` exits 1 and lists the cells that fail.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from datashare.cliutil import UsageError, parser, run_guarded
from datashare.disclosure.errors import DisclosureError


def _measure_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", required=True, help="hierarchy spec (YAML)")
    p.add_argument("--count", help="count column")
    p.add_argument("--numerator", help="rate numerator column")
    p.add_argument("--denominator", help="rate denominator (group size) column")
    p.add_argument("--policy", default="ospi", help="preset (ospi, min5, min16) or a policy YAML")
    p.add_argument("--protection", default="threshold", choices=["threshold", "exact"],
                   help="threshold: a hidden small cell's maximum must reach min N (default); "
                        "exact: it must only not be derivable exactly")


# Input limits, checked on the raw file before anything is parsed into memory (a CSV
# whose header line was 2 GB crashed DuckDB/pandas with bad_alloc at 6.5 GB of memory).
MAX_BYTES = 1 << 30  # 1 GiB
MAX_ROWS = 5_000_000
MAX_LINE = 1 << 16  # 64 KiB per line


def check_limits(path: str, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS,
                 max_line: int = MAX_LINE) -> None:
    """File size from the file system, then one streaming pass reading at most ``max_line``
    + 1 bytes per line (so a huge line is never held whole): line length and row count."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError as exc:
        raise DisclosureError(f"cannot read {path}: no such file") from exc
    except OSError as exc:
        raise DisclosureError(f"cannot read {path}: {exc.strerror}") from exc
    if size > max_bytes:
        raise DisclosureError(f"{path} is {size:,} bytes, over the {max_bytes:,}-byte limit")
    rows = 0
    with open(path, "rb") as fh:
        while True:
            line = fh.readline(max_line + 1)
            if not line:
                break
            if len(line) > max_line and not line.endswith(b"\n"):
                raise DisclosureError(
                    f"{path}: line {rows + 1} is longer than the {max_line:,}-byte limit")
            rows += 1
            if rows > max_rows + 1:  # + the header
                raise DisclosureError(f"{path} has more than {max_rows:,} rows (the limit)")


def _read_csv(path: str, measures: list[str]) -> pd.DataFrame:
    check_limits(path)
    try:
        # Codes stay text ("01" is not 1); only the measures are parsed as numbers.
        return pd.read_csv(path, dtype=str, keep_default_na=False).pipe(_numeric, measures)
    except FileNotFoundError as exc:
        raise DisclosureError(f"cannot read {path}: no such file") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DisclosureError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc


def _numeric(frame: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    for col in measures:
        if col in frame.columns:
            frame[col] = frame[col].replace("", None)
    return frame


def _write_atomic(path: Path, write: Any) -> None:
    """Write through a temp file in the same directory, then rename: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _suppress(argv: list[str]) -> int:
    p = parser("suppress", "Apply disclosure avoidance to a long-format aggregate table.")
    p.add_argument("input", help="long-format CSV: dimension columns and measure columns")
    _measure_args(p)
    p.add_argument("--out", required=True, help="output CSV")
    p.add_argument("--report", help="JSON report: cells by status, seconds, audit summary")
    p.add_argument("--seed", type=int, default=0, help="seed for the fuzzy denominator")
    p.add_argument("--no-fuzzy", action="store_true", help="use N, not N or N+1, in coded rates")
    p.add_argument("--no-audit", action="store_true", help="skip the final LP re-audit")
    p.add_argument("--method", default="auto", choices=["auto", "cubes", "lp"],
                   help="cubes: balanced hypercubes for all small cells at once (fast); lp: "
                        "the LP-driven repair loop (fewer hidden cells, slow on big tables); "
                        "auto (default): lp up to 1,000 small cells, cubes above")
    p.add_argument("--allow-grand-total", action="store_true",
                   help="let the grand total be a (costly) complementary cell; by default it "
                        "is hidden only when nothing smaller protects a small cell")
    args = p.parse_args(argv)
    from datashare.disclosure.api import suppress_table

    measures = [m for m in (args.count, args.numerator, args.denominator) if m]
    frame = _read_csv(args.input, measures)
    result = suppress_table(
        frame, args.spec, count=args.count, numerator=args.numerator,
        denominator=args.denominator, policy=args.policy, protection=args.protection,
        seed=args.seed, fuzzy=False if args.no_fuzzy else None, run_audit=not args.no_audit,
        method=args.method, keep_grand_total=not args.allow_grand_total,
    )
    _write_atomic(Path(args.out), lambda tmp: result.table.to_csv(tmp, index=False))
    if args.report:
        text = json.dumps(result.report, indent=2, default=str)
        _write_atomic(Path(args.report), lambda tmp: Path(tmp).write_text(text + "\n"))
    counts = result.report["cells_by_status"]
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"{args.out}: {len(result.table)} rows ({summary}) in "
          f"{result.report['seconds']['total']:.2f} s")
    if result.audit is not None and not result.audit.ok:
        _print_failures(result.audit.failures())
        return 1
    return 0


def _audit(argv: list[str]) -> int:
    p = parser("audit-table", "Prove a suppressed table safe from its published cells only.")
    p.add_argument("table", help="a table written by 'datashare suppress' (hidden = empty)")
    _measure_args(p)
    p.add_argument("--intervals", help="write every suppressed cell's [min, max] to this CSV")
    p.add_argument("--cubes", action="store_true",
                   help="only when no whole-number starting point is found: try hypercube "
                        "certificates from a central feasible point before the LPs")
    args = p.parse_args(argv)
    from datashare.disclosure.api import audit_table

    measures = [m for m in (args.count, args.numerator, args.denominator) if m]
    frame = _read_csv(args.table, measures)
    result = audit_table(
        frame, args.spec, count=args.count, numerator=args.numerator,
        denominator=args.denominator, policy=args.policy, protection=args.protection,
        intervals=bool(args.intervals), cubes=args.cubes,
    )
    if args.intervals:
        rows = [
            {"measure": m, **result.space.key(c), "min": lo, "max": hi}
            for m, r in result.results.items() for c, (lo, hi) in sorted(r.intervals.items())
        ]
        _write_atomic(Path(args.intervals), lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False))
    for name, r in result.results.items():
        s = r.summary()
        print(f"{name}: {s['suppressed_cells']} suppressed, {s['protected_cells_checked']} "
              f"checked, {s['components']} components, {s['lp_solves']} LPs, "
              f"{s['failures']} failing ({s['seconds']} s)")
    if not result.ok:
        _print_failures(result.failures())
        return 1
    print("audit passed")
    return 0


def _print_failures(failures: list[dict[str, Any]]) -> None:
    for f in failures:
        where = ", ".join(f"{k}={v}" for k, v in f.items() if k not in {"measure", "min", "max", "rule"})
        hi = "inf" if f["max"] is None else f"{f['max']:g}"
        print(f"FAIL {f['measure']} {where}: feasible [{f['min']:g}, {hi}] breaks the "
              f"{f['rule']} rule", file=sys.stderr)


def main(argv: list[str]) -> int:
    command, rest = argv[0], list(argv[1:])
    body = _suppress if command == "suppress" else _audit

    def guarded() -> int:
        try:
            return body(rest)
        except DisclosureError as exc:
            raise UsageError(str(exc)) from exc

    return run_guarded(guarded)
