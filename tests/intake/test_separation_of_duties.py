"""Separation of duties: nobody decides, assigns, asks comments on, answers comments on, or
vouches for a request they are a party to (filed it, manage its data, or are a contact on it);
auditors and agency signatories do not file requests. Enforced in the services, so the web
answers the 403 page and the API 403 JSON."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from datashare.accounts.models import OrganizationKind, Role
from datashare.intake import services
from datashare.intake.errors import NotPermitted
from datashare.intake.models import DataRequest, Status
from tests.factories import make_staff
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db
BASE = "/api/v1/requests"


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _submitted(user, **kw) -> DataRequest:
    r = complete_request(user, **kw)
    services.submit(actor=user, data_request=r)
    r.refresh_from_db()
    return r


def test_a_steward_cannot_approve_their_own_legislative_request_through_the_api(steward) -> None:
    r = _submitted(steward, legislative=True)
    c = _client(steward)
    for body in ({"decision": "approve"}, {"decision": "deny", "reason": "no"}, {"decision": "request_changes", "comments": {"data": "x"}}):
        response = c.post(f"{BASE}/{r.public_id}/decision", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 403, response.content
        assert "a request you filed" in response.json()["detail"]
    r.refresh_from_db()
    assert r.status == Status.SUBMITTED


def test_a_steward_deciding_their_own_request_on_the_web_gets_the_403_page(steward) -> None:
    r = _submitted(steward)
    response = _client(steward).post(reverse("intake:decide", args=[r.public_id]), {"decision": "deny", "reason": "mine", "confirmed": "1"})
    assert response.status_code == 403
    assert "a request you filed" in response.content.decode()
    r.refresh_from_db()
    assert r.status == Status.SUBMITTED


def test_another_steward_decides_the_stewards_request(steward) -> None:
    r = _submitted(steward)
    colleague, _ = make_staff("pat@agency.gov", Role.DATA_STEWARD)
    services.deny(actor=colleague, data_request=r, reason="Out of scope.")
    r.refresh_from_db()
    assert r.status == Status.DENIED


def test_a_steward_named_as_data_manager_or_contact_cannot_decide_the_request(requestor, steward) -> None:
    r = complete_request(requestor)
    services.update_draft(
        actor=requestor, data_request=r, changes={"secondary_contact": {**r.secondary_contact, "email": steward.email.upper()}}
    )
    services.submit(actor=requestor, data_request=r)
    with pytest.raises(NotPermitted):
        services.approve(actor=steward, data_request=r)
    with pytest.raises(NotPermitted):
        services.assign(actor=steward, data_request=r, assignee=None)


def test_a_steward_cannot_take_their_own_request_or_give_it_to_its_filer(steward) -> None:
    r = _submitted(steward)
    colleague, _ = make_staff("pat@agency.gov", Role.DATA_STEWARD)
    with pytest.raises(NotPermitted):
        services.assign(actor=steward, data_request=r, assignee=colleague)
    with pytest.raises(NotPermitted):
        services.assign(actor=colleague, data_request=r, assignee=steward)
    services.assign(actor=colleague, data_request=r, assignee=colleague)


def test_a_steward_cannot_confirm_their_own_affiliation(steward) -> None:
    steward.organization.kind = OrganizationKind.STATE_EDUCATION_AGENCY
    r = _submitted(steward)
    response = _client(steward).post(reverse("intake:verify_affiliation", args=[r.public_id]))
    assert response.status_code == 403
    assert "your own affiliation" in response.content.decode()
    steward.refresh_from_db()
    assert steward.affiliation_verified_at is None


def test_a_reviewer_is_not_asked_for_comments_on_their_own_request_nor_answers_them(steward) -> None:
    reviewer, _ = make_staff("rene@agency.gov", Role.DEPARTMENT_REVIEWER)
    r = _submitted(reviewer)
    with pytest.raises(NotPermitted):
        services.request_comments(actor=steward, data_request=r, reviewer=reviewer, question="Anything?")
    # A question asked before the reviewer became a party (named a contact later) is refused at answer time.
    other = _submitted(steward, title="Another study")
    colleague, _ = make_staff("pat@agency.gov", Role.DATA_STEWARD)
    cr = services.request_comments(actor=colleague, data_request=other, reviewer=reviewer, question="Anything?")
    DataRequest.objects.filter(pk=other.pk).update(data_manager=reviewer)
    with pytest.raises(NotPermitted):
        services.respond_to_comment_request(actor=reviewer, comment_request=cr, response="Fine by me.")


def test_a_steward_cannot_ask_for_comments_on_their_own_request(steward) -> None:
    reviewer, _ = make_staff("rene@agency.gov", Role.DEPARTMENT_REVIEWER)
    r = _submitted(steward)
    with pytest.raises(NotPermitted):
        services.request_comments(actor=steward, data_request=r, reviewer=reviewer, question="Anything?")


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.AGENCY_SIGNATORY])
def test_auditors_and_signatories_cannot_file_requests(role: str) -> None:
    user, _ = make_staff(f"{role}@agency.gov", role)
    c = _client(user)
    page = c.get(reverse("intake:new"))
    assert page.status_code == 403
    assert "independent" in page.content.decode()
    api = c.post(f"{BASE}/", data=json.dumps({"title": "My study"}), content_type="application/json")
    assert api.status_code == 403
    assert "independent" in api.json()["detail"]
    assert not DataRequest.objects.exists()


def test_a_steward_sees_no_review_controls_on_their_own_request(steward) -> None:
    r = _submitted(steward)
    page = _client(steward).get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "another data steward reviews and decides it" in page
    assert reverse("intake:decide", args=[r.public_id]) not in page
    colleague, _ = make_staff("pat@agency.gov", Role.DATA_STEWARD)
    assert reverse("intake:decide", args=[r.public_id]) in _client(colleague).get(reverse("intake:detail", args=[r.public_id])).content.decode()
