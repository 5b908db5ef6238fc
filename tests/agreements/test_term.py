"""The term: start, expiry at the end date (the sweep), early termination by either party,
reminders after N business days, amendments; each end records the termination date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from datashare.agreements import services, signals
from datashare.agreements.errors import InvalidTransition, NotPermitted
from datashare.agreements.models import AgreementStatus, Amendment
from datashare.core.scheduler import registered_jobs
from tests.agreements.conftest import approved_agreement

pytestmark = pytest.mark.django_db


def _sign(signer, user):
    return services.sign(actor=user, signer=signer, typed_name=signer.name, consent=True, auth_method="password", ip="127.0.0.1")


def executed_agreement(requestor, steward, capture, *, start=None, end=None):
    a = approved_agreement(requestor, steward, capture)
    if start or end:
        a = services.update_draft(actor=steward, agreement=a, changes={k: v for k, v in {"term_start": start, "term_end": end}.items() if v})
    with capture(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    for s in a.signers.order_by("position"):
        with capture(execute=True):
            _sign(s, s.user)
    a.refresh_from_db()
    assert a.status == AgreementStatus.EXECUTED
    return a


def test_the_sweep_starts_the_term_then_expires_it_after_the_end_date_and_says_so(requestor, steward, signatories, django_capture_on_commit_callbacks, frozen_clock):
    today = timezone.localdate()
    a = executed_agreement(requestor, steward, django_capture_on_commit_callbacks, start=today, end=today + dt.timedelta(days=30))
    ended: list[tuple[str, dt.date]] = []

    def on_end(sender, agreement, termination_date, **kwargs):
        ended.append((agreement.number, termination_date))

    signals.agreement_ended.connect(on_end)
    try:
        assert [x.pk for x in services.activate_due()] == [a.pk]
        frozen_clock.advance(dt.timedelta(days=30))
        assert services.expire_due() == []  # the last day is still in the term
        frozen_clock.advance(dt.timedelta(days=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert [x.pk for x in services.expire_due()] == [a.pk]
        with django_capture_on_commit_callbacks(execute=True):
            assert services.expire_due() == []  # a second sweep finds nothing
    finally:
        signals.agreement_ended.disconnect(on_end)
    a.refresh_from_db()
    assert a.status == AgreementStatus.EXPIRED
    assert a.termination_date == today + dt.timedelta(days=30)
    assert a.destruction_due == a.termination_date + dt.timedelta(days=45)
    assert ended == [(a.number, a.termination_date)]
    assert {"agreements.send_reminders", "agreements.term_sweep", "agreements.execute_pending"} <= set(registered_jobs())


def test_either_party_terminates_early_with_a_reason_and_an_outsider_cannot(requestor, outsider, steward, signatories, django_capture_on_commit_callbacks):
    a = executed_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with pytest.raises(NotPermitted):
        services.terminate(actor=outsider, agreement=a, reason="Not mine")
    with pytest.raises(services.AgreementError, match="reason"):
        services.terminate(actor=requestor, agreement=a, reason=" ")
    services.terminate(actor=requestor, agreement=a, reason="Funding ended.")
    a.refresh_from_db()
    assert (a.status, a.termination_date, a.end_reason) == (AgreementStatus.TERMINATED, timezone.localdate(), "Funding ended.")
    with pytest.raises(InvalidTransition):
        services.terminate(actor=steward, agreement=a, reason="Again")


def test_a_signer_who_waits_is_reminded_after_the_business_days_once_per_period(requestor, steward, signatories, django_capture_on_commit_callbacks, frozen_clock):
    frozen_clock.set(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC))  # a Monday
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    mail.outbox.clear()
    frozen_clock.advance(dt.timedelta(days=2))
    assert services.send_due_reminders(business_days=3) == 0
    frozen_clock.advance(dt.timedelta(days=1))  # Thursday: three business days
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due_reminders(business_days=3) == 1
    assert services.send_due_reminders(business_days=3) == 0
    assert [m.to for m in mail.outbox] == [[requestor.email]]
    assert mail.outbox[0].subject.endswith(f"Reminder: Please sign Data Sharing Agreement {a.label}")


def test_an_amendment_request_is_a_new_request_that_references_the_agreement(requestor, steward, signatories, django_capture_on_commit_callbacks):
    a = executed_agreement(requestor, steward, django_capture_on_commit_callbacks)
    amendment = services.request_amendment(actor=requestor, agreement=a, description="Add 2024 attendance.")
    assert Amendment.objects.get(agreement=a) == amendment
    assert amendment.data_request.status == "draft" and amendment.data_request.title.startswith(f"Amendment to {a.number}")
    with pytest.raises(NotPermitted):
        services.request_amendment(actor=steward, agreement=a, description="x")


def test_the_work_queue_is_for_agency_staff_only(requestor, steward, signatories, django_capture_on_commit_callbacks):
    a = executed_agreement(requestor, steward, django_capture_on_commit_callbacks)
    c = Client()
    c.force_login(requestor)
    assert c.get(reverse("agreements:work_queue")).status_code == 403
    item = a.work_items.get()
    assert c.post(reverse("agreements:work_item", args=[item.public_id]), {"status": "done"}).status_code == 403
    c.force_login(steward)
    page = c.get(reverse("agreements:work_queue"))
    assert page.status_code == 200 and a.number in page.content.decode()
    c.post(reverse("agreements:work_item", args=[item.public_id]), {"status": "in_progress"})
    item.refresh_from_db()
    assert (item.status, item.assignee) == ("in_progress", steward)
