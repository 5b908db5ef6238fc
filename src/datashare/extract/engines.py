"""Two engines that run the same SQL: DuckDB (default, streaming with bounded memory) and
Apache Spark (local mode here; a cluster for sources that outgrow one machine).

Both receive the crosswalk already materialized (an Arrow table for DuckDB; a Parquet file
in a private work folder for Spark) before any join runs, so a retried Spark task joins the
same RIDs: no RID is ever drawn inside a task.
"""

# SQL here is assembled from identifiers validated against the element list and mapping,
# and paths quoted by sql_path; no user-supplied value is spliced in unvalidated.
# ruff: noqa: S608

from __future__ import annotations

import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import gather, kernels
from .sql import FileQuery

WRITERS = 2  # gather-path files written at once
PREPARERS = 2  # gather-path files read, packed and sorted at once
# Bytes of working set for packing every gather-path file at once, so that the population
# can be collected as they are read (see plan_files).
POPULATION_BUDGET = 3 * 1024**3
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144"


def sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


class Engine(Protocol):
    name: str

    def register_source(self, table: str, path: Path) -> None: ...
    def plan_files(self, queries: list[FileQuery]) -> None:
        """The files ``write_files`` will write, told before the crosswalk is drawn: an
        engine may start reading them."""

    def student_keys(self, sql: str) -> np.ndarray: ...
    def register_crosswalk(self, table: pa.Table) -> None: ...
    def write_parquet(self, query: FileQuery, dest: Path) -> int: ...
    def write_files(
        self, queries: list[FileQuery], folder: Path
    ) -> dict[str, tuple[int, float]]: ...
    def close(self) -> None: ...


def write_each(
    engine: Engine, queries: list[FileQuery], folder: Path
) -> dict[str, tuple[int, float]]:
    """Each file in turn: rows and seconds by file."""
    out: dict[str, tuple[int, float]] = {}
    for query in queries:
        t0 = time.monotonic()
        rows = engine.write_parquet(query, folder / f"{query.file}.parquet")
        out[query.file] = (rows, time.monotonic() - t0)
    return out


def duckdb_connect(work: Path, memory_limit: str = "3GB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={"memory_limit": memory_limit, "temp_directory": str(work / "duckdb-spill")}
    )
    con.execute("SET preserve_insertion_order = true")
    return con


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, work: Path) -> None:
        self.con = duckdb_connect(work)
        self.paths: dict[str, Path] = {}
        self._ranked: gather.RankedCrosswalk | None = None
        self._crosswalk: pa.Table | None = None
        # The gather path's pipeline: worker threads read and pack files (from
        # ``plan_files`` on, before the crosswalk exists), then find their RIDs and sort
        # them, while earlier files are written.
        self._pool: ThreadPoolExecutor | None = None
        self._plans: dict[str, gather.Plan | None] = {}
        self._packs: dict[str, Future[gather.Packed]] = {}
        self._population: gather.Population | None = None
        self._population_files: list[str] = []

    def register_source(self, table: str, path: Path) -> None:
        self.paths[table] = path
        self.con.execute(
            f"CREATE VIEW src_{table} AS SELECT * FROM read_parquet('{sql_path(path)}', file_row_number = true)"
        )

    def plan_files(self, queries: list[FileQuery]) -> None:
        """Start reading and packing the gather-path files: that needs no crosswalk.

        When every file of the population (enrollment and each file with a school year)
        goes through the gather path and all of them fit the memory budget at once, they
        are all packed now and the population is collected as they are read: the
        crosswalk then needs no query of its own (DuckDB read every key column a second
        time for it, and kept both cores busy for seconds). Otherwise the first files are
        packed while DuckDB finds the population."""
        self._plans = {q.file: self._gather_plan(q) for q in queries}
        fast = self._fast(queries)
        if not fast:
            return
        year_files = [q.file for q in queries if q.year is not None]
        if (
            "enrollment" in year_files
            and all(self._plans.get(f) is not None for f in year_files)
            and sum(gather.working_set(p) for _, p in fast) <= POPULATION_BUDGET
        ):
            # Room for the students up front when the one-row-per-student file says how
            # many there are (its share in the selected years, by enrollment's row-group
            # statistics): growing the set rehashes every key, under the lock that both
            # readers need (0.2-0.4 s at scale 1). Otherwise it grows as it fills.
            per_student = [p.rows for _, p in fast if p.year is None]
            expected = 0
            enrollment = self._plans["enrollment"]
            if per_student and enrollment is not None:
                expected = int(max(per_student) * gather.selected_share(enrollment))
            self._population = gather.Population(expected, files=len(year_files))
            self._population_files = year_files
            ahead = len(fast)
        else:
            ahead = PREPARERS
        self._executor().submit(kernels.warm_up)  # Numba's set-up, off the crosswalk's path
        for query, plan in fast[:ahead]:
            self._packs[query.file] = self._executor().submit(gather.pack, plan, self._population)

    def student_keys(self, sql: str) -> np.ndarray:
        if self._population is not None:
            # Every year file's keys are in once its key and year columns are read: the
            # crosswalk is drawn while the rest of the last file is still being packed.
            while not self._population.complete.wait(0.05):
                packs = [self._packs[file] for file in self._population_files]
                for pack in packs:
                    if pack.done():
                        pack.result()  # its failure, if it failed
                if all(pack.done() for pack in packs) and not self._population.complete.is_set():
                    raise RuntimeError("every population file is read, and yet not all its keys")
            return self._population.keys.members().copy()
        return np.asarray(self.con.execute(sql).fetchnumpy()["student_key"], dtype=np.int64)

    def register_crosswalk(self, table: pa.Table) -> None:
        self._crosswalk = table  # kept alive: DuckDB scans the Arrow table in place
        self.con.register("crosswalk", table)
        members = None
        if self._population is not None:
            if not self._population.complete.is_set():
                raise RuntimeError("register_crosswalk before student_keys")
            members = self._population.keys.members()
        self._ranked = gather.RankedCrosswalk(table, members)

    def _fast(self, queries: list[FileQuery]) -> list[tuple[FileQuery, gather.Plan]]:
        """The gather path's files, biggest first (rows times columns, roughly what writing
        costs): the last file's writing has nothing left to overlap it, so the shortest
        goes last."""
        fast = [(q, p) for q in queries if (p := self._plans.get(q.file)) is not None]
        return sorted(fast, key=lambda qp: -qp[1].rows * (len(qp[1].columns) + 2))

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=PREPARERS, thread_name_prefix="gather")
        return self._pool

    def _finish(self, file: str, ranked: gather.RankedCrosswalk) -> tuple[gather.Prepared, float]:
        # Submitted after this file's ``pack`` (FIFO pool): that one has started by now.
        packed = self._packs.pop(file).result()
        # Ranks by id need every id there will be: the crosswalk was drawn after that.
        assert self._population is None or self._population.complete.is_set()
        t0 = time.monotonic()
        prepared = gather.finish(packed, ranked, self._population)
        return prepared, packed.seconds + time.monotonic() - t0

    def _gather_plan(self, query: FileQuery) -> gather.Plan | None:
        plan = gather.Plan(
            path=self.paths[query.table],
            key=query.student_key,
            year=query.year,
            years=query.years,
            columns=query.sources,
            schema=query.schema,
            rows=pq.read_metadata(self.paths[query.table]).num_rows,
        )
        return plan if gather.supported(plan) else None

    def write_parquet(self, query: FileQuery, dest: Path) -> int:
        """One file through the SQL (``write_files`` sends the gather path's files there)."""
        row = self.con.execute(
            f"COPY ({query.sql}) TO '{sql_path(dest)}' ({PARQUET_OPTIONS})"
        ).fetchone()
        return int(row[0]) if row else 0

    def write_files(self, queries: list[FileQuery], folder: Path) -> dict[str, tuple[int, float]]:
        """The SQL files first (DuckDB uses every core itself; the gather path's first
        files may be packing beside it since ``plan_files``), then the gather path's files
        as a pipeline: the next files are packed and sorted while earlier ones are written,
        two at a time, so both cores work. A file's seconds are its preparation plus its
        writing, and overlap other files'."""
        if not self._plans:
            self._plans = {q.file: self._gather_plan(q) for q in queries}
        out = write_each(self, [q for q in queries if self._plans.get(q.file) is None], folder)
        fast = self._fast(queries)
        ranked = self._ranked
        if fast and ranked is None:
            raise RuntimeError("write_files before register_crosswalk")
        if fast and ranked is not None:
            pool = self._executor()
            finishing: dict[str, Future[tuple[gather.Prepared, float]]] = {}
            # pyarrow's writer encodes a file's columns on one thread, and writing is the
            # longest step of each file: two files are written at once.
            with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="write") as writers:
                writing: dict[str, Future[tuple[int, float]]] = {}
                for i, (query, _) in enumerate(fast):
                    for later, plan in fast[i : i + PREPARERS]:
                        if later.file not in self._packs and later.file not in finishing:
                            self._packs[later.file] = pool.submit(gather.pack, plan, None)
                        if later.file not in finishing:
                            finishing[later.file] = pool.submit(self._finish, later.file, ranked)
                    prepared, seconds = finishing.pop(query.file).result()
                    busy = [f for f in writing.values() if not f.done()]
                    if len(busy) >= WRITERS:  # bounded memory: wait for a free writer
                        wait(busy, return_when=FIRST_COMPLETED)
                    for done in writing.values():  # a failed write stops the rest now
                        if done.done() and done.exception() is not None:
                            done.result()
                    dest = folder / f"{query.file}.parquet"
                    writing[query.file] = writers.submit(
                        self._write, prepared, ranked, dest, seconds
                    )
                    del prepared
                for file, done in writing.items():
                    out[file] = done.result()
            self._population = None  # every file has its ranks: the key set can go
            pa.default_memory_pool().release_unused()
        return {q.file: out[q.file] for q in queries}

    @staticmethod
    def _write(
        prepared: gather.Prepared, ranked: gather.RankedCrosswalk, dest: Path, seconds: float
    ) -> tuple[int, float]:
        t0 = time.monotonic()
        rows = gather.write_prepared(prepared, ranked, dest)
        return rows, seconds + time.monotonic() - t0

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._packs = {}
        self._population = None
        self._ranked = None
        self._crosswalk = None
        self.con.close()


def local_spark_session() -> Any:
    """A local-mode session bound to loopback (the builder returns an active one if present)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("datashare-extract")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


class SparkEngine:
    name = "spark"

    def __init__(self, work: Path, session: Any = None) -> None:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            from .errors import ExtractError

            raise ExtractError(
                "the spark engine needs the optional extra: pip install 'datashare[spark]'"
            ) from None
        self.spark = session or local_spark_session()
        self.work = work
        self.views: list[str] = []

    def register_source(self, table: str, path: Path) -> None:
        from pyspark.sql import functions as F

        df = self.spark.read.parquet(str(path))
        # Same 0-based row index within the file as DuckDB's file_row_number.
        df = df.select("*", F.col("_metadata.row_index").alias("file_row_number"))
        df.createOrReplaceTempView(f"src_{table}")
        self.views.append(f"src_{table}")

    def plan_files(self, queries: list[FileQuery]) -> None:
        """Spark plans its own work when the SQL runs."""

    def student_keys(self, sql: str) -> np.ndarray:
        table = self.spark.sql(sql).toArrow()
        return table.column("student_key").to_numpy().astype(np.int64)

    def register_crosswalk(self, table: pa.Table) -> None:
        # Materialized once, in the private work folder: every task (and every retry) reads
        # these same bytes. Removed with the work folder when the run ends.
        path = self.work / "crosswalk.parquet"
        pq.write_table(table, path)
        self.spark.read.parquet(str(path)).createOrReplaceTempView("crosswalk")
        self.views.append("crosswalk")

    def write_parquet(self, query: FileQuery, dest: Path) -> int:
        # Spark writes range-partitioned part files in sort order; stream them, in order, into
        # one file with the declared schema so the package looks the same from either engine.
        parts_dir = self.work / f"spark-{query.file}"
        self.spark.sql(query.sql).write.mode("overwrite").parquet(str(parts_dir))
        rows = 0
        with pq.ParquetWriter(dest, query.schema, compression="zstd") as writer:
            for part in sorted(parts_dir.glob("part-*.parquet")):
                pf = pq.ParquetFile(part)
                for batch in pf.iter_batches(batch_size=262_144, columns=query.columns):
                    t = pa.Table.from_batches([batch]).cast(query.schema)
                    writer.write_table(t, row_group_size=262_144)
                    rows += t.num_rows
        shutil.rmtree(parts_dir, ignore_errors=True)
        return rows

    def write_files(self, queries: list[FileQuery], folder: Path) -> dict[str, tuple[int, float]]:
        return write_each(self, queries, folder)

    def close(self) -> None:
        for v in self.views:
            self.spark.catalog.dropTempView(v)


def make(name: str, work: Path, spark_session: Any = None) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(work)
    if name == "spark":
        return SparkEngine(work, spark_session)
    from .errors import ExtractError

    raise ExtractError(f"unknown engine {name!r} (duckdb or spark)")
