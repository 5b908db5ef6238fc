"""``datashare extract SPEC.yaml --source DIR --out DIR [--engine duckdb|spark] --key-file KEY``

and ``datashare extract --new-key KEYFILE`` to create the agency's crosswalk key.
"""

from __future__ import annotations

import sys
from pathlib import Path

from datashare.cliutil import UsageError, parser, run_guarded

from . import keys
from . import spec as spec_module
from .api import run_extract


def main(argv: list[str]) -> int:
    p = parser("extract", "Cut a de-identified extract for one data sharing agreement.")
    p.add_argument("spec", nargs="?", type=Path, help="extract spec (YAML, see docs/extract.md)")
    p.add_argument("--source", type=Path, help="source folder (one Parquet file per table)")
    p.add_argument("--out", type=Path, help="package folder to create")
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    p.add_argument("--key-file", type=Path, help="the agency's crosswalk key (64 hex digits)")
    p.add_argument(
        "--crosswalk-out", type=Path, help="encrypted crosswalk (default: OUT.crosswalk.enc)"
    )
    p.add_argument("--reuse-crosswalk", type=Path, help="an amendment: reuse this crosswalk's RIDs")
    p.add_argument("--force", action="store_true", help="replace an existing package and crosswalk")
    p.add_argument("--new-key", type=Path, metavar="KEYFILE", help="create a new key file and exit")

    def body() -> int:
        args = p.parse_args(argv[1:])
        if args.new_key:
            keys.new_key(args.new_key)
            print(f"wrote a new 256-bit key to {args.new_key} (mode 0600); keep it with the agency")
            return 0
        if args.spec is None or args.source is None or args.out is None:
            raise UsageError("extract needs SPEC.yaml, --source DIR, --out DIR and --key-file KEY")
        spec = spec_module.load(args.spec)
        key = keys.read_key(args.key_file)
        result = run_extract(
            spec,
            args.source,
            args.out,
            key,
            engine=args.engine,
            reuse_crosswalk=args.reuse_crosswalk,
            crosswalk_out=args.crosswalk_out,
            force=args.force,
        )
        rows = ", ".join(f"{f} {n:,}" for f, n in result.rows.items())
        print(
            f"wrote {result.out} ({result.students:,} students; {rows}); crosswalk {result.crosswalk}"
        )
        for f, r in result.risk.get("files", {}).items():
            print(
                f"  risk {f}: {r['share_in_groups_under_5']:.2%} of records in groups under 5, {r['share_in_groups_under_10']:.2%} under 10",
                file=sys.stdout,
            )
        for warning in result.risk.get("warnings", []):
            print(f"  WARNING (risk above threshold): {warning}", file=sys.stdout)
        return 0

    return run_guarded(body)
