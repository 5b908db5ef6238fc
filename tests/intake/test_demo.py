"""`datashare demo` seeds requests in every state for the accounts seeder's demo users, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from datashare.accounts.demo import USERS
from datashare.accounts.models import User
from datashare.audit.models import AuditEvent
from datashare.demo import SEEDERS
from datashare.intake.models import DataRequest, Status

pytestmark = pytest.mark.django_db


def test_the_accounts_seeder_runs_before_the_intake_seeder() -> None:
    assert SEEDERS.index("datashare.accounts.demo.seed") < SEEDERS.index("datashare.intake.demo.seed")


# The portal seeder's tables are built once per run (see the fixture in tests/conftest.py).
@pytest.mark.usefixtures("builds_once")
def test_the_demo_seeds_requests_in_every_state_once_for_the_readme_users_only() -> None:
    first = io.StringIO()
    call_command("demo", stdout=first)
    assert set(DataRequest.objects.values_list("status", flat=True)) == set(Status.values)
    assert DataRequest.objects.filter(version=2).exists()
    assert set(User.objects.values_list("email", flat=True)) == {email for email, *_ in USERS}
    assert "demo requests created" in first.getvalue()
    counts = (DataRequest.objects.count(), AuditEvent.objects.count())
    second = io.StringIO()
    call_command("demo", stdout=second)
    assert (DataRequest.objects.count(), AuditEvent.objects.count()) == counts
    assert "intake: demo requests already seeded" in second.getvalue()
