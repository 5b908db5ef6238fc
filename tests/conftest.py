"""Shared fixtures. Settings: tests/testsettings.py."""

from __future__ import annotations

import copy
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """Tests reach only this machine: loopback servers (PostgreSQL, SMTP, the live server)."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(_LOOPBACK):
                raise OSError(f"tests may not reach the network ({host})")
        return real_connect(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """allauth keeps rate-limit counters in the cache: one test's failed logins must not lock out the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def frozen_clock() -> Iterator[Any]:
    """``datashare.core.clock.now()`` frozen at the real now; ``.set(moment)`` / ``.advance(delta)`` move it."""
    from datashare.core.clock import frozen_clock as freeze

    with freeze() as clock:
        yield clock


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session (2 cores) for every test that runs an engine on Spark: the JVM
    starts once per run, not once per module."""
    import logging

    pyspark_sql = pytest.importorskip("pyspark.sql")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # no INFO chatter from __del__ at exit
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("datashare-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# (the source's bytes, table, school year) -> what the build, suppression and audits returned.
_BUILT: dict[tuple[str, str, int], Any] = {}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")) if folder.exists() else []:
        if f.is_file():
            h.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


@pytest.fixture
def builds_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each portal table is built, suppressed and audited once per test run (per source
    contents, table and year), then every version is stored, approved and served as usual,
    with its rows, files and audit events, in each test.

    The build is a deterministic pure computation (same source bytes, same table, same year:
    same certificate and file), and the first test that asks for it runs it for real, so each
    distinct build is still proven once per run; what is saved is doing the same proof again
    for every page test and every ``datashare demo`` (whose portal seeder builds three tables
    from the same sample). Tests of the build itself (the first story in
    tests/portal/test_publishing.py, the aggregate tests) and tests that patch the engine do not
    use it: the cache would hand a patched result on."""
    from datashare.portal import services

    real = services._compute_version

    def compute(version: Any) -> Any:
        key = (_digest(services.source_dir()), version.dataset.table_key, version.school_year)
        if key not in _BUILT:
            _BUILT[key] = real(version)
        return copy.deepcopy(_BUILT[key])  # a test may not change what the next one gets

    monkeypatch.setattr(services, "_compute_version", compute)
