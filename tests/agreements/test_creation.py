"""Approving a request drafts its Data Sharing Agreement (intake's signal, after commit)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from datashare.agreements import services
from datashare.agreements.errors import PreflightFailed
from datashare.agreements.models import Agreement, AgreementStatus
from datashare.audit.models import AuditEvent
from datashare.intake import services as intake
from tests.agreements.conftest import approved_agreement
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db


def test_approving_a_request_drafts_its_agreement_with_the_narrowed_selection(requestor, steward, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks, approved={"days_absent": [2023]})
    assert a.status == AgreementStatus.DRAFT
    assert a.number == f"DSA-{timezone.localdate().year}-0001"
    # Exhibit A is what the steward approved, not what was asked for.
    assert a.exhibit_a == {"days_absent": [2023]}
    assert a.exhibit_b["encryption_at_rest"] == "AES-256"
    assert a.purpose == "Study chronic absence."
    assert a.term_end is not None and a.term_start is not None and a.term_start <= a.term_end
    assert [u.role for u in a.authorized_users.all()] == ["Principal investigator and data manager"]
    assert a.template.version == 1
    assert AuditEvent.objects.filter(action="agreements.created", target_id=str(a.public_id)).exists()


def test_no_agreement_is_drafted_when_the_approval_rolls_back(requestor, steward, django_capture_on_commit_callbacks):
    r = complete_request(requestor)
    intake.submit(actor=requestor, data_request=r)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        from django.db import transaction

        with transaction.atomic():
            intake.approve(actor=steward, data_request=r)
            raise RuntimeError("rolled back")
    assert not Agreement.objects.exists()


def test_numbers_are_sequential_per_year_and_drafting_twice_returns_the_same_agreement(requestor, steward, django_capture_on_commit_callbacks):
    first = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    second = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    year = timezone.localdate().year
    assert (first.number, second.number) == (f"DSA-{year}-0001", f"DSA-{year}-0002")
    assert services.create_from_request(actor=steward, data_request=first.data_request) == first


def test_the_term_is_at_most_three_years_and_never_past_the_approved_end(requestor, steward, django_capture_on_commit_callbacks):
    import datetime as dt

    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with pytest.raises(services.AgreementError, match="approved end date"):
        services.update_draft(actor=steward, agreement=a, changes={"term_end": a.data_request.end_date + dt.timedelta(days=1)})
    with pytest.raises(services.AgreementError, match="at most 3 years"):
        services.update_draft(actor=steward, agreement=a, changes={"term_start": dt.date(2020, 1, 1), "term_end": dt.date(2023, 6, 1)})


def test_preflight_names_each_missing_ferpa_element(requestor, steward, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    assert services.preflight(a) == []
    Agreement.objects.filter(pk=a.pk).update(purpose="", exhibit_a={})
    a.refresh_from_db()
    missing = services.preflight(a)
    assert "the purpose of the study" in missing
    assert any("Exhibit A is empty" in m for m in missing)
    with pytest.raises(PreflightFailed, match="purpose of the study"):
        services.require_preflight(a)


def test_a_template_without_the_destruction_clause_fails_preflight(requestor, steward, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    body = a.template.body.replace('id="destruction"', 'id="other"')
    new = services.edit_template(actor=steward, title="DSA", body=body, security_terms=a.template.security_terms)
    assert new.version == 2
    a.refresh_from_db()
    assert a.template.version == 1  # agreements keep the version they were drafted from
    Agreement.objects.filter(pk=a.pk).update(template=new)
    a.refresh_from_db()
    assert "the template has no section for destruction of the data with its time period" in services.preflight(a)


def test_a_requestor_cannot_draft_an_agreement(requestor, steward, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with pytest.raises(services.NotPermitted):
        services.update_draft(actor=requestor, agreement=a, changes={"title": "Mine"})
