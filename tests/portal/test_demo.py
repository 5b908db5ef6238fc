from __future__ import annotations

import io

import pytest

from datashare.accounts.models import Role
from datashare.portal import demo
from datashare.portal.models import DatasetVersion, VersionStatus
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


# The demo's tables are the ones that publish quickly under the rate tables' one-model proof
# (issue 12); a generous limit still, for a loaded machine. Every `datashare demo` in the suite
# builds these three tables from the same sample: built once per run (tests/conftest.py).
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("builds_once")
def test_the_demo_publishes_a_few_audited_datasets_once(settings, tmp_path) -> None:
    settings.PORTAL_SOURCE_DIR = None
    settings.DATA_DIR = tmp_path
    make_staff(demo.STEWARD, Role.DATA_STEWARD)
    out = io.StringIO()
    demo.seed(out)
    published = DatasetVersion.objects.filter(status=VersionStatus.PUBLISHED)
    assert published.count() == len(demo.DEMO_TABLES)
    assert all(v.certificate["passed"] for v in published)
    assert (tmp_path / "portal-demo-source" / "enrollment.parquet").exists()
    demo.seed(io.StringIO())
    assert DatasetVersion.objects.count() == len(demo.DEMO_TABLES)
