"""Shared fixtures. Settings: tests/testsettings.py."""

from __future__ import annotations

import copy
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# The property tests draw the same examples on every run (`make test`, CI): a run must not pass
# or fail by its draw, and a failure is reproduced by running the test again. New draws, to look
# for bugs: HYPOTHESIS_PROFILE=explore pytest tests/disclosure (a failure prints the seed).
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

_LOOPBACK = ("127.", "::1", "localhost")

# What a test must ask for to reach the test database: pytest-django refuses every other test
# a connection ("Database access not allowed"), so a test without one of these cannot depend on
# which database the run uses. (django_db_blocker is not here: an autouse fixture of
# pytest-django requests it for every test.)
_DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="deselect the tests that never touch the database (the Makefile's PostgreSQL pass: "
        "they already ran in the SQLite pass and would run the same again)",
    )


def uses_database(item: pytest.Item) -> bool:
    return item.get_closest_marker("django_db") is not None or not _DATABASE_FIXTURES.isdisjoint(
        getattr(item, "fixturenames", ())
    )


# The modules with Spark tests (marked spark). Under `--dist loadfile` (the Makefile) they are
# one unit of work, so one xdist worker starts the session's JVM, not each; a Spark test in
# another module is refused at collection until it is listed here.
_SPARK_MODULES = frozenset({"tests/aggregate/test_engines.py", "tests/extract/test_engines.py"})


# The modules that take longest (pytest --durations, in a run on 2 cores), longest first. An
# xdist worker collects them first so they are handed out first: left for the end, one of them
# would keep one worker busy while the other has nothing left to do. Order only, never which
# tests run.
_LONGEST_FIRST = (
    "spark",
    "tests/test_run.py",
    "tests/test_settings.py",
    "tests/disclosure/test_witnesses.py",
    "tests/aggregate/test_publish.py",
    "tests/browser/test_intake_flow.py",
    "tests/aggregate/test_engine_and_file_audit_agree.py",
    "tests/disclosure/test_properties.py",
    "tests/browser/test_intake_ux.py",
    "tests/core/test_queues.py",
)


def _unit(nodeid: str) -> str:
    """The unit of work a test belongs to under --dist loadfile: its module, or "spark"."""
    module = nodeid.split("::", 1)[0]
    return "spark" if module in _SPARK_MODULES else module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("spark") is not None:
            module = item.nodeid.split("::", 1)[0]
            if module not in _SPARK_MODULES:
                raise pytest.UsageError(
                    f"{item.nodeid} runs Spark: add {module} to _SPARK_MODULES in tests/conftest.py"
                )
    if hasattr(config, "workerinput"):  # an xdist worker; every worker sorts the same way
        rank = {unit: i for i, unit in enumerate(_LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(_unit(item.nodeid), len(rank)))
    if config.getoption("--database-tests-only"):
        kept = [item for item in items if uses_database(item)]
        if len(kept) < len(items):
            config.hook.pytest_deselected(items=[item for item in items if not uses_database(item)])
            items[:] = kept


# tryfirst: before pytest-xdist's own implementation, which answers for every --dist mode.
@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with every Spark module in one unit, handed out in the workers'
    collection order (longest first) rather than by number of tests. (pytest-xdist's loadgroup
    cannot group here: under pytest 9.2 its xdist_group marks silently stop grouping,
    pytest-xdist issue 1386.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SparkTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    config.option.loadscopereorder = False
    return SparkTogether(config, log)


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
