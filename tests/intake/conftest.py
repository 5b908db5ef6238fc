"""Intake fixtures: the catalog seeded (transactional tests flush the migration's rows), the
fixed roles (a requestor, an outsider at another organization, a steward with MFA), and a
helper that fills a complete request through the services."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone

from datashare.accounts.models import OrganizationKind, Role
from datashare.catalog.services import seed_catalog
from datashare.intake import services
from datashare.intake.models import AttachmentPurpose, DataRequest, RequestKind
from tests.factories import make_org, make_staff, make_user

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def catalog(db: None) -> None:
    seed_catalog()


@pytest.fixture
def requestor():
    return make_user("ada@evergreen.edu", organization=make_org("Evergreen State University"), full_name="Ada Lovelace")


@pytest.fixture
def outsider():
    return make_user("eve@othercollege.edu", organization=make_org("Other College"), full_name="Eve Outsider")


@pytest.fixture
def steward():
    user, _ = make_staff("sam@agency.gov", Role.DATA_STEWARD)
    user.full_name = "Sam Steward"
    user.save(update_fields=["full_name"])
    return user


@pytest.fixture
def legislator():
    org = make_org("Senate Ways and Means Committee", OrganizationKind.LEGISLATURE)
    user = make_user("leg@senate.wa.gov", organization=org, full_name="Lee Legislative")
    user.affiliation_verified_at = timezone.now()  # confirmed by the agency (see verify_affiliation)
    user.save(update_fields=["affiliation_verified_at"])
    return user


def complete_request(user: Any, *, title: str = "Attendance and outcomes", kind: str = RequestKind.DEIDENTIFIED, legislative: bool = False) -> DataRequest:
    """A request with every answer filled in, through the services (not yet submitted)."""
    r = services.create_draft(actor=user, title=title, kind=kind)
    contact = {"name": "Ada Lovelace", "email": user.email, "phone": "360-555-0100", "organization": r.organization.name, "title": "Researcher", "mailing_address": "1 Main St, Olympia WA"}
    services.update_draft(
        actor=user,
        data_request=r,
        changes={
            "legislative_requirement": legislative,
            "legislative_citation": "ESSB 5187 sec. 501" if legislative else "",
            "primary_contact": contact,
            "secondary_contact": {**contact, "name": "Grace Hopper", "email": "grace@example.edu"},
            "purpose": "Study chronic absence.",
            "research_questions": "Does absence predict dropout?",
            "analyses": "Survival models.",
            "benefit": "Better attendance policy.",
            "products": "A report.",
            "sharing_plan": "Published report after agency review.",
            "pledge_to_share": True,
            "start_date": dt.date(2026, 1, 1),
            "end_date": dt.date(2027, 12, 31),
            "selections": {"days_absent": [2022, 2023], "homeless": [2023]},
            "justifications": {"homeless": "Homelessness is a key driver of absence."},
            "storage_location": "University secure enclave",
            "encryption_at_rest": "AES-256",
            "encryption_in_transit": "TLS 1.3 / SFTP",
            "access_controls": "Named accounts with MFA",
            "software": "R, Stata",
            "people_with_access": "Ada Lovelace, PI",
        },
    )
    services.designate_data_manager(actor=user, data_request=r, email=user.email)
    services.add_attachment(actor=user, data_request=r, purpose=AttachmentPurpose.SECURITY_POLICY, upload=io.BytesIO(PDF_BYTES), name="policy.pdf", size=len(PDF_BYTES))
    r.refresh_from_db()
    return r
