"""``datashare synth --scale S --seed N --out DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

from datashare.cliutil import UsageError, parser, run_guarded

from .generate import generate


def main(argv: list[str]) -> int:
    p = parser(
        "synth", "Generate a synthetic statewide student source (Parquet, one table per file)."
    )
    p.add_argument(
        "--scale",
        type=float,
        default=0.01,
        help="1 = about 1.1 million students a year (default 0.01)",
    )
    p.add_argument(
        "--seed", type=int, default=1, help="random seed; the same seed gives the same source"
    )
    p.add_argument("--out", type=Path, required=True, help="folder to create (must not exist)")

    def body() -> int:
        args = p.parse_args(argv[1:])
        if not args.scale > 0 or args.scale > 10:
            raise UsageError("--scale must be greater than 0 and at most 10")
        if args.out.exists():
            raise UsageError(f"{args.out} already exists; choose a new folder")
        summary = generate(args.out, args.scale, args.seed)
        rows = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.rows.items()))
        print(f"wrote {args.out} in {summary.seconds:.1f}s: {rows}", file=sys.stdout)
        return 0

    return run_guarded(body)
