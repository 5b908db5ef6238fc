"""Fixed test roles and their data, made through the real models (no mocks).

Roles follow the healthchecks pattern: a requestor, a requestor at another organization (an
outsider who must see nothing of the first's), and one user per agency role.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import pyotp
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from datashare.accounts.models import Organization, OrganizationKind, Role, User
from datashare.accounts.services import grant_role

PASSWORD = "correct-horse-battery-staple-42"


def make_org(name: str = "Evergreen State University", kind: str = OrganizationKind.UNIVERSITY) -> Organization:
    org, _ = Organization.objects.get_or_create(name=name, defaults={"kind": kind})
    return org


def make_user(
    email: str,
    *,
    roles: Iterable[str] = (Role.REQUESTOR,),
    organization: Organization | None = None,
    password: str = PASSWORD,
    verified: bool = True,
    full_name: str = "",
) -> User:
    user = User.objects.create_user(email, password, organization=organization, full_name=full_name or email.split("@")[0].title())
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
    for role in roles:
        grant_role(actor=None, user=user, role=role)
    return user


def enable_totp(user: User) -> str:
    """Activate TOTP for a user as if they had enrolled; returns the secret an app would hold."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The current code, taken at least 5 s before its 30-s step ends: the server accepts only
    the current step (allauth's MFA_TOTP_TOLERANCE is 0), and on a loaded machine a code typed
    in the step's last second reached it in the next one."""
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < 5:
        time.sleep(left + 0.1)
    return totp.now()


def make_staff(email: str, *roles: str, organization: Organization | None = None) -> tuple[User, str]:
    """An agency staff member with MFA enrolled; returns (user, totp_secret)."""
    agency = organization or make_org("State Education Agency", OrganizationKind.STATE_EDUCATION_AGENCY)
    user = make_user(email, roles=roles or (Role.DATA_STEWARD,), organization=agency)
    return user, enable_totp(user)
