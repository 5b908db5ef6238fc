"""`datashare demo` seeds one organization of each kind and one user per role, once."""

from __future__ import annotations

import io

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command

from datashare.accounts.models import (
    STAFF_ROLES,
    Organization,
    OrganizationKind,
    Role,
    RoleGrant,
    User,
)
from datashare.audit.chain import verify
from datashare.audit.models import AuditEvent

# The portal seeder's tables are built once per run (see the fixture in tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("builds_once")]


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Organization, User, RoleGrant, Authenticator, AuditEvent))


def test_the_demo_seeds_every_kind_and_role_and_prints_passwords_once() -> None:
    first = io.StringIO()
    call_command("demo", stdout=first)
    assert set(Organization.objects.values_list("kind", flat=True)) == set(OrganizationKind.values)
    assert set(RoleGrant.objects.values_list("role", flat=True)) == set(Role.values)
    for user in User.objects.all():
        assert user.check_password(next(line.split()[1] for line in first.getvalue().splitlines() if user.email in line))
        has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        assert has_totp == user.is_agency_staff
        assert user.emailaddress_set.get().verified
    assert first.getvalue().count("TOTP secret") == len(STAFF_ROLES)
    assert verify() == []

    before = _counts()
    second = io.StringIO()
    call_command("demo", stdout=second)
    assert _counts() == before
    assert "demo already seeded" in second.getvalue()
    assert "TOTP secret" not in second.getvalue()


def test_demo_requestors_belong_to_outside_organizations_and_staff_to_the_agency() -> None:
    call_command("demo", stdout=io.StringIO())
    for user in User.objects.select_related("organization"):
        assert user.organization is not None
        is_agency = user.organization.kind == OrganizationKind.STATE_EDUCATION_AGENCY
        assert is_agency == user.is_agency_staff, user.email
