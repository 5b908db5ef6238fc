"""Results fixtures: an executed agreement whose requestor is its authorized user."""

from __future__ import annotations

import pytest

from datashare.agreements.models import Agreement, AgreementStatus
from tests.agreements.conftest import approved_agreement
from tests.intake.conftest import catalog, outsider, requestor, steward  # noqa: F401


def make_active(agreement: Agreement) -> Agreement:
    # The signing services belong to the agreements app; here we only need an agreement that
    # has been executed, so the test sets the state the signatures would have reached.
    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.ACTIVE)
    agreement.refresh_from_db()
    return agreement


@pytest.fixture
def agreement(requestor, steward, django_capture_on_commit_callbacks) -> Agreement:  # noqa: F811
    return make_active(approved_agreement(requestor, steward, django_capture_on_commit_callbacks))
