"""Agreements fixtures: intake's fixed roles and complete request, plus agency signers and a
helper that takes a request through approval (which drafts the agreement)."""

from __future__ import annotations

from typing import Any

import pytest

from datashare.accounts.models import Role
from datashare.agreements.models import Agreement
from datashare.intake import services as intake
from tests.factories import make_staff
from tests.intake.conftest import catalog, complete_request, outsider, requestor, steward  # noqa: F401


@pytest.fixture
def signatories():
    """Two agency signatories in routing order: Student Information, then Legal/Privacy."""
    first, _ = make_staff("ines@agency.gov", Role.AGENCY_SIGNATORY)
    second, _ = make_staff("lars@agency.gov", Role.AGENCY_SIGNATORY)
    return [first, second]


def approved_agreement(
    owner: Any, decider: Any, capture: Any, *, approved: dict[str, list[int]] | None = None, formats: list[str] | None = None
) -> Agreement:
    """Submit, approve (optionally narrowing) and return the drafted agreement; ``formats``:
    the files the requestor ticks on the security step (unanswered when None)."""
    r = complete_request(owner)
    if formats is not None:
        intake.update_draft(actor=owner, data_request=r, changes={"delivery_formats": formats})
    intake.submit(actor=owner, data_request=r)
    with capture(execute=True):
        intake.approve(actor=decider, data_request=r, approved_selections=approved)
    return Agreement.objects.get(data_request=r)


@pytest.fixture(autouse=True)
def agency_seal(settings, tmp_path_factory):
    """A throwaway CA and agency signing certificate, as the demo makes under var/pki."""
    from django.conf import settings as django_settings

    from datashare.agreements.pki import ensure_demo_pki

    files = ensure_demo_pki(tmp_path_factory.getbasetemp() / "pki", agency=django_settings.AGENCY_NAME)
    settings.AGREEMENT_SIGNING_KEY_FILE = files.signing_key
    settings.AGREEMENT_SIGNING_CERT_FILE = files.signing_cert
    settings.AGREEMENT_CA_CERT_FILE = files.ca_cert
    return files
