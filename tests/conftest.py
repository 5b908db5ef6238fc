"""Shared fixtures. Settings: tests/testsettings.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
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
