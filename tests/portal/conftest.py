"""Portal fixtures: a small sample source the builds read, a requestor, an outsider and two
data stewards (one builds or requests, the other approves)."""

from __future__ import annotations

from pathlib import Path

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
