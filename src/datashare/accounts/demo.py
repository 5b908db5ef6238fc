"""Demo organizations and users: one organization of each kind, one user per role.

Passwords are random and printed once, on the run that creates the user; staff users get a
TOTP secret printed with them (they must use MFA). Invented people and organizations only.
"""

from __future__ import annotations

import secrets
from typing import TextIO
from urllib.parse import quote

from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.utils import timezone

from datashare.accounts.models import Organization, OrganizationKind, Role, User
from datashare.accounts.services import grant_role

K = OrganizationKind
ORGANIZATIONS: dict[str, str] = {
    K.STATE_EDUCATION_AGENCY: "Office of the State Superintendent (demo)",
    K.LEGISLATURE: "State Legislature (demo)",
    K.STATE_AGENCY: "Education Research and Data Center (demo)",
    K.UNIVERSITY: "Evergreen State University (demo)",
    K.RESEARCH_NONPROFIT: "Cascade Education Research (demo)",
    K.SCHOOL_DISTRICT: "Riverside School District (demo)",
    K.OTHER: "Independent researchers (demo)",
}

# (email, full name, organization kind, role)
USERS: list[tuple[str, str, str, str]] = [
    ("researcher@university.example", "Rosa Researcher", K.UNIVERSITY, Role.REQUESTOR),
    ("staffer@legislature.example", "Lee Staffer", K.LEGISLATURE, Role.REQUESTOR),
    ("steward@agency.example", "Sam Steward", K.STATE_EDUCATION_AGENCY, Role.DATA_STEWARD),
    ("reviewer@agency.example", "Rene Reviewer", K.STATE_EDUCATION_AGENCY, Role.DEPARTMENT_REVIEWER),
    ("signatory@agency.example", "Sid Signatory", K.STATE_EDUCATION_AGENCY, Role.AGENCY_SIGNATORY),
    ("auditor@agency.example", "Aud Auditor", K.STATE_EDUCATION_AGENCY, Role.AUDITOR),
    ("admin@agency.example", "Ada Administrator", K.STATE_EDUCATION_AGENCY, Role.ADMINISTRATOR),
]


def seed(out: TextIO) -> None:
    orgs = {}
    for kind, name in ORGANIZATIONS.items():
        orgs[kind], _ = Organization.objects.get_or_create(name=name, defaults={"kind": kind})
    created: list[str] = []
    for email, full_name, kind, role in USERS:
        if User.objects.filter(email=email).exists():
            continue
        password = secrets.token_urlsafe(12)
        is_admin = role == Role.ADMINISTRATOR
        user = User.objects.create_user(
            email, password, full_name=full_name, organization=orgs[kind], is_staff=is_admin, is_superuser=is_admin
        )
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        if orgs[kind].is_priority:
            # The demo's agency and legislative people are known to the agency: confirmed,
            # as a steward would (a new sign-up claiming such an organization is not).
            user.affiliation_verified_at = timezone.now()
            user.save(update_fields=["affiliation_verified_at"])
        grant_role(actor=None, user=user, role=role)
        line = f"  {email:32} {password:18} {Role(role).label}"
        if role != Role.REQUESTOR:
            secret = generate_totp_secret()
            TOTP.activate(user, secret)
            issuer = quote(settings.MFA_TOTP_ISSUER)
            uri = f"otpauth://totp/{issuer}:{quote(email)}?secret={secret}&issuer={issuer}"
            line += f"\n  {'':32} TOTP secret {secret}  ({uri})"
        created.append(line)
    if not created:
        out.write("accounts: demo already seeded (passwords were printed on the first run)\n")
        return
    out.write(
        "accounts: demo users created. Passwords are shown ONCE; staff sign in with a TOTP code\n"
        "from an authenticator app holding the secret below.\n"
    )
    out.write("\n".join(created) + "\n")
