"""Two engines for the same SQL: DuckDB (default, one machine) and Apache Spark (local mode
here; a cluster for sources that outgrow one machine).

The builder's SQL (:mod:`.definitions`, :mod:`.build`) is written in the dialect both accept:
no ``QUALIFY``, ``UNNEST``, ``EXCLUDE`` or list literals; GROUPING SETS, ``GROUPING()``,
``count(*) FILTER (WHERE ...)`` and inline ``VALUES`` tables. What differs is here: how a
source table is registered, how a step is kept (a DuckDB temp table, a cached Spark view), how
request values are applied (bound parameters in DuckDB, DataFrame filters in Spark: never
spliced into SQL), and how a result comes back (a pandas frame either way).
"""

# ruff: noqa: S608
# Only our own table names and quoted paths reach the SQL here; request values are bound.
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

ENGINES = ("duckdb", "spark")


class EngineError(ValueError):
    """The engine cannot run (Spark asked for without the optional extra)."""


class SQLEngine(Protocol):
    name: str

    def register(self, table: str, path: Path) -> None:
        """Make a Parquet file queryable as ``table``."""

    def register_empty(self, table: str) -> None:
        """An empty ``table`` with one integer column ``student_key``."""

    def keep(self, name: str, sql: str, where: dict[str, list[str]] | None = None) -> None:
        """Run ``sql`` (keeping rows whose column is one of the given values) as ``name``."""

    def frame(self, sql: str) -> pd.DataFrame: ...

    def columns(self, table: str) -> list[str]: ...


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DuckDB:
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None,
                 threads: int | None = None) -> None:
        self.con = con if con is not None else duckdb.connect()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def register(self, table: str, path: Path) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {table} AS "
                         f"SELECT * FROM read_parquet({_quote(path)})")

    def register_empty(self, table: str) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM "
                         "(SELECT NULL::INT AS student_key) WHERE FALSE")

    def keep(self, name: str, sql: str, where: dict[str, list[str]] | None = None) -> None:
        clauses = [f"{col} IN (SELECT UNNEST(?))" for col in (where or {})]
        params = [list(values) for values in (where or {}).values()]
        filtered = f"SELECT * FROM ({sql}) WHERE {' AND '.join(clauses) or 'TRUE'}"
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {filtered}", params)

    def frame(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).fetchdf()

    def columns(self, table: str) -> list[str]:
        return [str(r[0]) for r in self.con.execute(f"DESCRIBE {table}").fetchall()]


def local_spark_session(cores: int = 2) -> Any:
    """A local-mode session bound to loopback (the builder returns an active one if present)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError("the spark engine needs the optional extra: "
                          "pip install 'datashare[spark]'") from None
    return (
        SparkSession.builder.master(f"local[{int(cores)}]")
        .appName("datashare-aggregate")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


class Spark:
    name = "spark"

    def __init__(self, session: Any = None) -> None:
        self.spark = session if session is not None else local_spark_session()
        self.kept: list[Any] = []

    def register(self, table: str, path: Path) -> None:
        self.spark.read.parquet(str(path)).createOrReplaceTempView(table)

    def register_empty(self, table: str) -> None:
        self.spark.sql("SELECT CAST(NULL AS INT) AS student_key WHERE FALSE"
                       ).createOrReplaceTempView(table)

    def keep(self, name: str, sql: str, where: dict[str, list[str]] | None = None) -> None:
        from pyspark.sql import functions as F

        df = self.spark.sql(sql)
        for col, values in (where or {}).items():
            df = df.where(F.col(col).isin(list(values)))
        df = df.cache()  # read by several queries (availability, the aggregation)
        self.kept.append(df)
        df.createOrReplaceTempView(name)

    def frame(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toArrow().to_pandas()

    def columns(self, table: str) -> list[str]:
        return [str(c) for c in self.spark.table(table).columns]

    def close(self) -> None:
        for df in self.kept:
            df.unpersist()
        self.kept.clear()
