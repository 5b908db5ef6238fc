"""The request form as a new researcher meets it (issue 18): every problem in one round,
required answers marked, one start step, a true step counter, contacts remembered, and only
the questions that fit the kind of request."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from datashare.intake import services
from datashare.intake.errors import IncompleteRequest
from datashare.intake.models import DataRequest, RequestKind, Status
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_a_format_error_does_not_hide_the_missing_answers(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    c = _client(requestor)
    page = c.post(
        reverse("intake:edit", args=[r.public_id, "contacts"]),
        {"primary_name": "", "primary_email": "not-an-email", "action": "continue"},
    ).content.decode()
    assert "Enter a valid email address." in page
    assert "Name of the primary contact is required." in page and "Name of the secondary contact is required." in page
    page = c.post(
        reverse("intake:edit", args=[r.public_id, "project"]),
        {"start_date": "31/31/2026", "purpose": "", "action": "continue"},
    ).content.decode()
    assert "Enter a valid date." in page and "Describe the purpose of the project." in page
    # Saving a draft reports only what is wrong, never what is merely not answered yet.
    page = c.post(reverse("intake:edit", args=[r.public_id, "project"]), {"start_date": "31/31/2026", "action": "draft"}).content.decode()
    assert "Enter a valid date." in page and "Describe the purpose of the project." not in page


def test_required_answers_are_marked_for_the_kind_of_request(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    c = _client(requestor)
    page = c.get(reverse("intake:edit", args=[r.public_id, "project"])).content.decode()
    assert 'Purpose of the project <span class="required">(required)</span>' in page
    assert 'Why the project needs more than two years (if it does) <span class="required">' not in page
    page = c.get(reverse("intake:edit", args=[r.public_id, "request"])).content.decode()
    assert 'id="ferpa-fields" hidden' in page  # de-identified: no FERPA exception asked
    services.update_draft(actor=requestor, data_request=r, changes={"kind": RequestKind.IDENTIFIABLE})
    page = c.get(reverse("intake:edit", args=[r.public_id, "request"])).content.decode()
    assert 'id="ferpa-fields" hidden' not in page
    assert 'FERPA exception (identifiable data only) <span class="required">(required)</span>' in page


def test_the_start_page_is_the_first_step_and_the_form_goes_on_with_the_contacts(requestor) -> None:
    c = _client(requestor)
    page = c.get(reverse("intake:new")).content.decode()
    assert "This request pertains to a legislative requirement" in page
    response = c.post(
        reverse("intake:new"),
        {"title": "Graduation study", "kind": "deidentified", "legislative_requirement": "on", "legislative_citation": "ESSB 5187 sec. 501"},
    )
    r = DataRequest.objects.get(title="Graduation study")
    assert response.url == reverse("intake:edit", args=[r.public_id, "contacts"])
    assert r.legislative_requirement and r.legislative_citation == "ESSB 5187 sec. 501"
    page = c.get(response.url).content.decode()
    assert "Step 2 of 6" in page  # five steps and "Review and submit"
    assert "Step 6 of 6" in c.get(reverse("intake:review", args=[r.public_id])).content.decode()
    # A missing answer of the first step brings the requestor back to it, the draft kept.
    response = c.post(reverse("intake:new"), {"title": "Second", "kind": "deidentified", "legislative_requirement": "on"})
    second = DataRequest.objects.get(title="Second")
    assert response.url == reverse("intake:edit", args=[second.public_id, "request"]) + "?check=1"


def test_contacts_are_remembered_for_the_next_request(requestor) -> None:
    first = complete_request(requestor)
    second = services.create_draft(actor=requestor, title="Next study")
    assert second.primary_contact == first.primary_contact
    assert second.secondary_contact == first.secondary_contact and second.secondary_contact["name"] == "Grace Hopper"


def test_a_suppressed_aggregate_request_gets_no_grid_and_no_agreement_dates(requestor, steward) -> None:
    c = _client(requestor)
    c.post(reverse("intake:new"), {"title": "County tables", "kind": RequestKind.SUPPRESSED_AGGREGATE})
    r = DataRequest.objects.get(title="County tables")
    project = c.get(reverse("intake:edit", args=[r.public_id, "project"])).content.decode()
    assert 'name="start_date"' not in project and 'name="end_date"' not in project and "Step 3 of 5" in project
    data = c.get(reverse("intake:edit", args=[r.public_id, "data"])).content.decode()
    assert 'name="inc"' not in data and 'name="tables_requested"' in data and "<h1>Tables requested</h1>" in data
    page = c.post(reverse("intake:edit", args=[r.public_id, "data"]), {"tables_requested": "", "action": "continue"}).content.decode()
    assert "Describe the tables you need" in page
    with pytest.raises(IncompleteRequest):
        services.update_draft(actor=requestor, data_request=r, changes={"selections": {"gender": [2024]}})
    contact = {"name": "Ada", "email": "ada@evergreen.edu", "phone": "1", "organization": "Evergreen", "title": "PI", "mailing_address": "Olympia"}
    services.update_draft(actor=requestor, data_request=r, changes={"primary_contact": contact, "purpose": "Board report.", "products": "Slides."})
    c.post(reverse("intake:edit", args=[r.public_id, "data"]), {"tables_requested": "Graduation rate by county, 2023-24.", "action": "continue"})
    services.submit(actor=requestor, data_request=r)
    services.approve(actor=steward, data_request=r, approved_selections={})
    r.refresh_from_db()
    assert r.status == Status.APPROVED


def test_an_approved_suppressed_aggregate_request_gets_no_agreement_and_says_what_happens_next(
    requestor, steward, django_capture_on_commit_callbacks
) -> None:
    from datashare.agreements.errors import AgreementError
    from datashare.agreements.models import Agreement
    from datashare.agreements.services import create_from_request

    r = services.create_draft(actor=requestor, title="County tables", kind=RequestKind.SUPPRESSED_AGGREGATE)
    contact = {"name": "Ada", "email": "ada@evergreen.edu", "phone": "1", "organization": "Evergreen", "title": "PI", "mailing_address": "Olympia"}
    services.update_draft(actor=requestor, data_request=r, changes={"primary_contact": contact, "purpose": "Board report.", "tables_requested": "Graduation rate by county, 2023-24."})
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(actor=requestor, data_request=r)
        services.approve(actor=steward, data_request=r, approved_selections={})
    assert not Agreement.objects.exists()  # a draft here would fail its pre-flight: no Exhibit A
    with pytest.raises(AgreementError, match="need no data sharing agreement"):
        create_from_request(actor=steward, data_request=r)
    page = _client(requestor).get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "need no data sharing agreement" in page and reverse("portal:aggregate_list") in page


def test_switching_to_suppressed_aggregate_drops_the_student_level_choices(requestor) -> None:
    r = complete_request(requestor)
    services.update_draft(actor=requestor, data_request=r, changes={"kind": RequestKind.SUPPRESSED_AGGREGATE})
    r.refresh_from_db()
    assert r.selections == {} and r.justifications == {}
