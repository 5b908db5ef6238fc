"""Library entry point: ``run_extract`` cuts one de-identified package from a source.

Order of work (each step before the next, nothing visible until the end):
validate spec, mapping, source and key -> draw and materialize the crosswalk -> per file,
the joined Parquet -> other formats -> risk report, codebook, README, manifest, sums ->
encrypt the crosswalk beside the package -> rename the temporary folder into place.
A failure at any point removes the temporary folder: no partial package ever exists.
"""

# SQL here is assembled from identifiers validated against the element list and mapping,
# and paths quoted by sql_path; no user-supplied value is spliced in unvalidated.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from datashare import elements

from . import coarsen, engines, formats, keys, package, peryear, rid, risk, sql
from . import source as source_check
from .errors import ExtractError
from .mapping import Mapping
from .mapping import load as load_mapping
from .spec import ExtractSpec


@dataclass
class ExtractResult:
    out: Path
    crosswalk: Path
    engine: str
    students: int
    reused_rids: int
    rows: dict[str, int]
    risk: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step


def clean_stale(out: Path) -> list[Path]:
    """Remove what a run killed outright (SIGKILL, power loss) left beside ``out``: its
    temporary package ``OUT.tmp-*``, its work folder ``.OUT.work-*`` and a half-written
    crosswalk. SIGTERM and exceptions clean up themselves; a retry calls this first."""
    out = Path(out)
    removed = []
    if out.parent.is_dir():
        for p in out.parent.iterdir():
            if p.name.startswith((f"{out.name}.tmp-", f".{out.name}.work-")) or (
                p.name.startswith(f".{out.name}.crosswalk.enc.") and p.name.endswith(".tmp")
            ):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def default_crosswalk_path(out: Path) -> Path:
    return out.with_name(out.name + ".crosswalk.enc")


def _mapping(spec: ExtractSpec) -> Mapping:
    return load_mapping(spec.mapping, spec.base_dir)


def run_extract(
    spec: ExtractSpec,
    source: Path,
    out: Path,
    key: bytes,
    engine: str = "duckdb",
    reuse_crosswalk: Path | None = None,
    crosswalk_out: Path | None = None,
    force: bool = False,
    spark_session: Any = None,
) -> ExtractResult:
    out = Path(out)
    if len(key) != keys.KEY_BYTES:
        raise ExtractError("the crosswalk key must be 256 bits")
    mapping = _mapping(spec)
    source_dir = Path(source).resolve()
    paths = source_check.check(spec, mapping, source_dir)
    previous = (
        keys.decrypt_crosswalk(reuse_crosswalk, key, spec.agreement) if reuse_crosswalk else None
    )
    crosswalk_out = Path(crosswalk_out) if crosswalk_out else default_crosswalk_path(out)
    if out.exists() and not force:
        raise ExtractError(f"{out} already exists (use --force to replace it)")
    same_as_reused = (
        reuse_crosswalk is not None and crosswalk_out.resolve() == Path(reuse_crosswalk).resolve()
    )
    if crosswalk_out.exists() and not (force or same_as_reused):
        raise ExtractError(f"crosswalk {crosswalk_out} already exists (use --force to replace it)")
    if not out.parent.is_dir():
        raise ExtractError(f"output folder's parent {out.parent} does not exist")

    timings: dict[str, float] = {}
    # The date written into .sav/.xpt headers: the spec's prepared_on, else a fixed date, so
    # that the same inputs give the same bytes.
    stamp = _stamp(spec.prepared_on)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    # Private (0700) scratch space for engine spill files and Spark's materialized crosswalk:
    # never inside the researcher's package, removed however the run ends.
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.work-", dir=out.parent))
    eng: engines.Engine | None = None
    try:
        eng = engines.make(engine, work, spark_session)
        for table, path in paths.items():
            eng.register_source(table, path)
        queries = [sql.file_query(spec, mapping, f) for f in spec.files]
        t0, c0 = time.monotonic(), time.process_time()
        eng.plan_files(queries)  # the DuckDB engine starts reading the files meanwhile
        population = eng.student_keys(sql.population_sql(spec, mapping))
        crosswalk, reused = rid.crosswalk(population, previous)
        eng.register_crosswalk(crosswalk)
        timings["crosswalk"] = time.monotonic() - t0
        timings["cpu:crosswalk"] = time.process_time() - c0  # CPU seconds, every thread

        t0, c0 = time.monotonic(), time.process_time()
        written = eng.write_files(queries, tmp)
        timings["parquet"] = time.monotonic() - t0
        timings["cpu:parquet"] = time.process_time() - c0  # CPU seconds, every thread
        rows: dict[str, int] = {}
        columns: dict[str, list[str]] = {}
        for query in queries:
            rows[query.file], timings[f"parquet:{query.file}"] = written[query.file]
            columns[query.file] = query.columns
        # The engine (and its crosswalk lookup tables) is done: free its memory before the
        # formats and the risk report, which read the written Parquet with their own DuckDB.
        eng.close()
        eng = None
        # Each element only for its own years (Exhibit A), then a re-cut's coarsening: both
        # change the delivered values before any other format, the risk report and the
        # checksums are derived from them.
        t0 = time.monotonic()
        peryear.apply(spec, mapping, tmp, paths, crosswalk, work)
        if spec.element_years:
            timings["element_years"] = time.monotonic() - t0
        coarsen.apply(spec, mapping, tmp, source_dir)

        # 2 GB, not the engine's 3: the process's peak is here, and at scale 1 a 3 GB limit
        # let it reach 3.9-4.0 GiB (the target is 4) against 2.9 GiB, no slower (46.6 s
        # against 49.3 s for the risk report).
        con = engines.duckdb_connect(work, memory_limit="2GB")
        try:
            # Stata, SPSS and SAS files are written by two threads (their loops release the
            # GIL) while DuckDB writes the CSVs; the risk report, the memory peak, only after.
            t0, c0 = time.monotonic(), time.process_time()
            extra = [fmt for fmt in spec.formats if fmt not in ("parquet", "csv")]
            with formats.Writers(threads=2) as writers:
                for fmt in extra:
                    for f in spec.files:
                        writers.submit(
                            fmt, tmp / f"{f}.parquet", tmp / f"{f}.{fmt}",
                            f"Agreement {spec.agreement}: {f}", stamp,
                        )  # fmt: skip
                for f in spec.files:
                    formats.write_csv(con, tmp / f"{f}.parquet", tmp / f"{f}.csv")
                timings["csv"] = time.monotonic() - t0
                writers.wait()
            for fmt in extra:  # each format's own writing time, summed over its files
                timings[fmt] = writers.seconds.get(fmt, 0.0)
            timings["formats"] = time.monotonic() - t0
            timings["cpu:formats"] = time.process_time() - c0  # CPU seconds, every thread
            t0, c0 = time.monotonic(), time.process_time()
            risk_report = risk.report(con, spec, mapping, tmp, source_dir)
            timings["risk"] = time.monotonic() - t0
            timings["cpu:risk"] = time.process_time() - c0  # CPU seconds, every thread
            rows_by_year = _rows_by_year(con, spec, tmp)
        finally:
            con.close()
        t0, c0 = time.monotonic(), time.process_time()
        (tmp / "risk_report.json").write_text(
            json.dumps({"agreement": spec.agreement, **risk_report}, indent=2) + "\n",
            encoding="utf-8",
        )
        book = package.codebook(spec, columns, rows, rows_by_year)
        (tmp / "codebook.json").write_text(json.dumps(book, indent=2) + "\n", encoding="utf-8")
        (tmp / "codebook.html").write_text(package.codebook_html(book), encoding="utf-8")
        (tmp / "README.txt").write_text(package.readme(spec, rows, spec.formats), encoding="utf-8")
        package.write_manifest_and_sums(tmp, spec, rows, spec.formats)
        timings["checksums"] = time.monotonic() - t0  # codebook, manifest, SHA-256 of every file
        timings["cpu:checksums"] = time.process_time() - c0

        # The crosswalk is the agency's, never the researcher's: encrypted, beside the package.
        keys.write_private(
            crosswalk_out,
            keys.encrypt_crosswalk(rid.merge(crosswalk, previous), key, spec.agreement),
        )
        if out.exists():  # --force: replace the old package only now that the new one is whole
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        # The engine's threads stop first, so none writes into the folder being removed.
        if eng is not None:
            eng.close()
            eng = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if eng is not None:
            eng.close()
        shutil.rmtree(work, ignore_errors=True)
    return ExtractResult(
        out, crosswalk_out, engine, len(crosswalk), reused, rows, risk_report, timings
    )


def _stamp(prepared_on: str) -> dt.date:
    try:
        return dt.date.fromisoformat(prepared_on)
    except ValueError:
        return dt.date(2000, 1, 1)


def _rows_by_year(
    con: duckdb.DuckDBPyConnection, spec: ExtractSpec, folder: Path
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for f in spec.files:
        if not elements.FILES_BY_ID[f].yearly:
            continue
        path = engines.sql_path(folder / f"{f}.parquet")
        out[f] = {
            str(y): int(n)
            for y, n in con.execute(
                f"SELECT school_year, count(*) FROM read_parquet('{path}') GROUP BY 1 ORDER BY 1"
            ).fetchall()
        }
    return out
