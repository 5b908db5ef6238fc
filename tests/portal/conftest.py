"""Portal fixtures: a small sample source the builds read, a requestor, an outsider and two
data stewards (one builds or requests, the other approves)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from datashare.accounts.models import Role
from datashare.aggregate.sample import write_sample
from datashare.portal import services
from datashare.portal.models import DatasetVersion
from tests.factories import make_org, make_staff, make_user


@pytest.fixture(scope="session")
def sample_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A sample whose enrollment table passes both audits (these page tests need a published
    # table; seed 7 at 500 students, once failing, is tests/aggregate/
    # test_engine_and_file_audit_agree.py).
    return write_sample(tmp_path_factory.mktemp("portal") / "source", districts=2,
                        schools_per_district=2, students=400, seed=3)


@pytest.fixture(autouse=True)
def _source(settings, sample_source: Path) -> None:
    settings.PORTAL_SOURCE_DIR = str(sample_source)


# (source folder, table, school year) -> what the build, suppression and audits returned.
_BUILT: dict[tuple[str, str, int], Any] = {}


@pytest.fixture
def built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each table is built, suppressed and audited once per test run, then every version of it
    is stored, approved and served as usual (rows, files and audit events per test).

    For tests of what a published version looks like, not of how it is built: the proof takes
    seconds per table, and these tests asked for the same table over and over.
    test_publishing.py and test_proof_scope.py build every time, some with a patched engine:
    never use this with a patched engine, or the cache would hand the patched result on."""
    real = services._compute_version

    def compute(version: DatasetVersion) -> Any:
        key = (str(services.source_dir()), version.dataset.table_key, version.school_year)
        if key not in _BUILT:
            _BUILT[key] = real(version)
        return copy.deepcopy(_BUILT[key])  # a test may not change what the next one gets

    monkeypatch.setattr(services, "_compute_version", compute)


@pytest.fixture
def requestor():
    return make_user("ada@evergreen.edu", organization=make_org("Evergreen State University"))


@pytest.fixture
def outsider():
    return make_user("eve@othercollege.edu", organization=make_org("Other College"))


@pytest.fixture
def steward():
    return make_staff("sam@agency.gov", Role.DATA_STEWARD)[0]


@pytest.fixture
def second_steward():
    return make_staff("kim@agency.gov", Role.DATA_STEWARD)[0]


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def published_version(builder, approver, table: str = "graduation_4yr",
                      year: int = 2025) -> DatasetVersion:
    """Build a table through the services (the task runs in-process) and publish it."""
    services.ensure_datasets()
    from datashare.portal.models import Dataset

    dataset = Dataset.objects.get(table_key=table)
    version = services.request_build(actor=builder, dataset=dataset, school_year=year)
    services.run_build(version_id=version.pk)  # what the long-queue task does
    version.refresh_from_db()
    assert version.status == "draft", version.error
    return services.approve_version(actor=approver, version=version)
