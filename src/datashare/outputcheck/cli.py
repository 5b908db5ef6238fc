"""``datashare check-output FILE...``: the results scanner from the command line.

Exit 0 when nothing blocks release, 1 when a finding blocks, 2 for a file that cannot be read.
"""

from __future__ import annotations

import json

from datashare.cliutil import UsageError, parser, run_guarded
from datashare.outputcheck.errors import ScanError
from datashare.outputcheck.scan import scan_file


def main(argv: list[str]) -> int:
    ap = parser("check-output", "Check the tables of results files for small cells before release.")
    ap.add_argument("files", nargs="+", help="CSV, XLSX, DOCX or PDF files")
    ap.add_argument("--policy", default="ospi", help="disclosure policy preset or .yaml (threshold)")
    ap.add_argument("--json", action="store_true", help="print the findings as JSON")

    def body() -> int:
        args = ap.parse_args(argv[1:])
        from datashare.disclosure.errors import DisclosureError
        from datashare.disclosure.policy import load_policy
        from datashare.outputcheck.rules import Rules

        try:
            rules = Rules.from_policy(load_policy(args.policy))
            reports = [scan_file(path, rules=rules) for path in args.files]
        except (ScanError, DisclosureError) as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"{exc.filename}: {exc.strerror}") from None
        if args.json:
            print(json.dumps([r.as_dict() for r in reports], indent=2))
        else:
            for report in reports:
                print(f"{report.file}: {report.blocks} blocking, {report.warnings} to check")
                for f in report.findings:
                    print(f"  {f.severity.upper():5}  {f.where}: {f.message}")
                for note in report.notes:
                    print(f"  NOTE   {note}")
        return 1 if any(r.blocked for r in reports) else 0

    return run_guarded(body)
