"""``datashare aggregate``: the standard tables from the command line, without the web app.

    datashare aggregate tables
    datashare aggregate build TABLE --year 2024-25 --source DIR --out DIR
                              [--level school] [--groups gender,race] [--no-grade]
                              [--district CODE] [--grades 09,10] [--engine duckdb|spark]

``build`` builds the table from a source (the Parquet folder ``datashare synth`` writes),
suppresses it with the ``ospi`` policy, audits the published CSV from the file alone, and
writes into ``--out`` (created; it must not exist unless ``--force``): ``TABLE-YEAR.csv`` (the
published file), ``TABLE-YEAR.certificate.json``, ``TABLE-YEAR.report.json`` (the disclosure
engine's report per part), ``TABLE-YEAR.notes.txt`` and one spec per part
(``TABLE-YEAR[.SUBJECT].spec.json``) so anyone can repeat the check with ``datashare
audit-table``. Everything is written in a temporary folder beside ``--out`` and renamed at the
end: never a half-written release. A table whose audit fails gets no CSV: only the certificate
and the report, exit status 1 and the reason. Bad input: one line, exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from datashare.cliutil import UsageError, parser, run_guarded
from datashare.disclosure.errors import DisclosureError
from datashare.fsutil import atomic_folder

from . import definitions
from .build import BuildError, TableRequest, build, connect
from .engines import ENGINES
from .publish import failure_reason, notes, suppress


def _year(text: str) -> int:
    """2024-25 or 2025 (the ending year)."""
    if text.isdigit() and len(text) == 4:
        return int(text)
    try:
        return definitions.parse_year(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _list(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _tables(argv: list[str]) -> int:
    parser("aggregate tables", "List the standard tables.").parse_args(argv)
    for t in definitions.TABLES:
        kind = "count" if t.kind == definitions.COUNT else "rate"
        print(f"{t.key:26} {kind:5} {t.title}")
    return 0


def _build(argv: list[str]) -> int:
    p = parser("aggregate build", "Build, suppress and audit one standard table for a year.")
    p.add_argument("table", help="a standard table (see 'datashare aggregate tables')")
    p.add_argument("--year", required=True, help="school year: 2024-25 (or 2025)")
    p.add_argument("--source", required=True, type=Path,
                   help="source folder (Parquet tables, as 'datashare synth' writes)")
    p.add_argument("--out", required=True, type=Path, help="folder to create for the release")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--level", default="school", choices=["state", "district", "school"],
                   help="the deepest organization level (default: school)")
    p.add_argument("--groups", help="student group partitions, comma-separated (default: all)")
    p.add_argument("--no-grade", action="store_true", help="no grade breakdown")
    p.add_argument("--district", help="only this district (and its schools)")
    p.add_argument("--grades", help="only these grades, comma-separated (K, 01 ... 12)")
    p.add_argument("--engine", default="duckdb", choices=list(ENGINES),
                   help="duckdb (default) or spark (local mode; needs the spark extra)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fuzzy rate denominators")
    args = p.parse_args(argv)
    year = _year(args.year)
    out: Path = args.out
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists (use --force to replace it)")
    req = TableRequest(args.table, year, level=args.level, groups=_list(args.groups),
                       by_grade=not args.no_grade, district=args.district,
                       grades=_list(args.grades))
    built = build(connect(args.source, engine=args.engine), req)
    if not built.parts:
        raise UsageError(f"the source has no students for {args.table} in "
                         f"{definitions.year_label(year)}")
    published = suppress(built, seed=args.seed)
    stem = f"{args.table}-{definitions.year_label(year)}"
    files: dict[str, bytes] = {
        f"{stem}.certificate.json": _json(published.certificate),
        f"{stem}.report.json": _json(published.certificate["parts"]),
        f"{stem}.notes.txt": ("\n".join(notes(published)) + "\n").encode(),
    }
    for part in built.parts:
        name = f"{stem}.{part.slice}" if part.slice else stem
        files[f"{name}.spec.json"] = _json(part.spec)
    if published.passed:
        files[f"{stem}.csv"] = published.csv
    _write_folder(out, files, replace=args.force)
    cert = published.certificate
    if not published.passed:
        print(f"error: {args.table} {definitions.year_label(year)} not released: "
              f"{failure_reason(cert)} (certificate in {out})", file=sys.stderr)
        return 1
    labels = "labels included" if cert["labels_accounted"] else "labels NOT yet included"
    print(f"{out / (stem + '.csv')}: {cert['rows']:,} rows, {cert['cells_suppressed']:,} "
          f"suppressed; audit passed from the published file ({labels})")
    return 0


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, default=str) + "\n").encode()


def _write_folder(out: Path, files: dict[str, bytes], *, replace: bool) -> None:
    """Every file in a temporary folder beside ``out``, then one rename."""
    with atomic_folder(out, replace=replace) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)


COMMANDS = {"tables": _tables, "build": _build}


def main(argv: list[str]) -> int:
    rest = list(argv[1:])

    def body() -> int:
        if not rest or rest[0] not in COMMANDS:
            raise UsageError("usage: datashare aggregate tables | build TABLE --year YEAR "
                             "--source DIR --out DIR [...]")
        try:
            return COMMANDS[rest[0]](rest[1:])
        except (BuildError, DisclosureError) as exc:
            raise UsageError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                             ) from exc
        except OSError as exc:
            raise UsageError(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
                             ) from exc

    return run_guarded(body)
