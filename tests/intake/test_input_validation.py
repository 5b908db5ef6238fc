"""One validation path for the web form and the API: the API refuses exactly what the form
refuses, with 422 and a message per field (409 only for a move the request's state forbids),
and no input, however odd, gives a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datashare.intake import services
from datashare.intake.models import DataRequest, Status
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db
BASE = "/api/v1/requests"


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _json(c: Client, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    return getattr(c, method)(url, data=json.dumps(body or {}), content_type="application/json")


def _draft(c: Client) -> str:
    created = _json(c, "post", f"{BASE}/", {"title": "Attendance study"})
    assert created.status_code == 201, created.content
    return str(created.json()["id"])


def test_a_project_dated_in_the_year_9999_is_a_field_error_on_the_api_not_a_500(requestor) -> None:
    c = _client(requestor)
    rid = _draft(c)
    response = _json(c, "patch", f"{BASE}/{rid}", {"start_date": "9998-06-01", "end_date": "9999-06-01"})
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]["project"]
    assert "between January 1, 2000 and December 31, 2100" in errors["start_date"][0]
    assert "end_date" in errors
    assert DataRequest.objects.get(public_id=rid).start_date is None


def test_a_project_dated_in_the_year_9999_is_a_form_error_on_the_web_page(requestor) -> None:
    r = services.create_draft(actor=requestor, title="Attendance study")
    response = _client(requestor).post(
        reverse("intake:edit", args=[r.public_id, "project"]),
        {"purpose": "Study", "start_date": "9998-06-01", "end_date": "9999-06-01", "action": "draft"},
    )
    assert response.status_code == 200
    assert "must be between January 1, 2000 and December 31, 2100" in response.content.decode()
    r.refresh_from_db()
    assert r.start_date is None


def test_a_steward_filtering_the_api_queue_by_a_malformed_assignee_gets_422(steward) -> None:
    c = _client(steward)
    response = c.get(f"{BASE}/queue", {"assignee": "not-a-uuid"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"query": {"assignee": ["Give a steward's id, 'me' or 'none'."]}}
    assert c.get(f"{BASE}/queue", {"page": "99999999999999999999"}).status_code == 422
    assert c.get(f"{BASE}/queue", {"assignee": "me"}).status_code == 200


def test_the_api_refuses_a_ferpa_exception_the_form_does_not_offer(requestor) -> None:
    c = _client(requestor)
    rid = _draft(c)
    response = _json(c, "patch", f"{BASE}/{rid}", {"kind": "identifiable", "ferpa_exception": "because-i-said-so"})
    assert response.status_code == 422
    assert "ferpa_exception" in response.json()["errors"]["body"]
    assert DataRequest.objects.get(public_id=rid).ferpa_exception == ""


def test_the_api_offers_exactly_the_forms_ferpa_exceptions() -> None:
    from typing import get_args

    from datashare.intake.api import FerpaChoice
    from datashare.intake.models import FerpaException

    assert set(get_args(FerpaChoice)) == {"", *FerpaException.values}


def test_the_service_refuses_a_ferpa_exception_that_is_not_listed_whoever_calls_it(requestor) -> None:
    r = services.create_draft(actor=requestor, title="Attendance study")
    with pytest.raises(services.IncompleteRequest) as refused:
        services.update_draft(actor=requestor, data_request=r, changes={"ferpa_exception": "bogus"})
    assert refused.value.errors == {"request": {"ferpa_exception": ["Choose one of the FERPA exceptions listed."]}}


def test_the_api_refuses_a_ten_thousand_character_title(requestor) -> None:
    c = _client(requestor)
    created = _json(c, "post", f"{BASE}/", {"title": "x" * 10_000})
    assert created.status_code == 422
    assert list(created.json()["errors"]["body"]) == ["title"]
    rid = _draft(c)
    assert _json(c, "patch", f"{BASE}/{rid}", {"title": "x" * 10_000}).status_code == 422
    assert DataRequest.objects.get(public_id=rid).title == "Attendance study"


def test_the_service_refuses_an_overlong_answer_for_the_web_form_too(requestor) -> None:
    r = services.create_draft(actor=requestor, title="Attendance study")
    response = _client(requestor).post(
        reverse("intake:edit", args=[r.public_id, "project"]), {"purpose": "p" * 10_001, "action": "draft"}
    )
    assert response.status_code == 200
    assert "the limit is 10,000" in response.content.decode()


def test_the_api_refuses_nul_characters_anywhere(requestor) -> None:
    c = _client(requestor)
    assert _json(c, "post", f"{BASE}/", {"title": "bad\x00title"}).status_code == 422
    rid = _draft(c)
    for body in (
        {"purpose": "a\x00b"},
        {"primary_contact": {"name": "Ada\x00"}},
        {"justifications": {"homeless\x00": "why"}},
    ):
        response = _json(c, "patch", f"{BASE}/{rid}", body)
        assert response.status_code == 422, (body, response.content)
    r = DataRequest.objects.get(public_id=rid)
    assert "\x00" not in r.purpose and r.primary_contact.get("name", "") != "Ada\x00"


def test_the_services_refuse_nul_characters_from_any_caller(requestor) -> None:
    r = services.create_draft(actor=requestor, title="Attendance study")
    with pytest.raises(services.IncompleteRequest) as refused:
        services.update_draft(actor=requestor, data_request=r, changes={"purpose": "a\x00b"})
    assert "null character" in refused.value.errors["project"]["purpose"][0]
    with pytest.raises(services.IncompleteRequest):
        services.update_draft(actor=requestor, data_request=r, changes={"primary_contact": {"name": "A\x00"}})


def test_blank_titles_and_names_are_refused_with_a_message_per_field(requestor) -> None:
    c = _client(requestor)
    created = _json(c, "post", f"{BASE}/", {"title": "   "})
    assert created.status_code == 422
    assert created.json()["errors"] == {"request": {"title": ["Give the request a short title."]}}
    rid = _draft(c)
    blanked = _json(c, "patch", f"{BASE}/{rid}", {"title": "  "})
    assert blanked.status_code == 422
    assert "title" in blanked.json()["errors"]["request"]
    me = _json(c, "patch", "/api/v1/me", {"full_name": "   "})
    assert me.status_code == 422
    assert me.json()["errors"] == {"body": {"full_name": ["Enter your full name."]}}


def test_a_requestor_without_an_organization_gets_422_for_a_blank_one_not_409() -> None:
    from tests.factories import make_user

    loner = make_user("solo@example.edu")
    c = _client(loner)
    response = _json(c, "post", f"{BASE}/", {"title": "Study", "organization_name": " ", "organization_kind": "sea"})
    assert response.status_code == 422
    assert set(response.json()["errors"]["request"]) == {"organization_name", "organization_kind"}


def test_the_api_refuses_justifications_for_elements_that_do_not_exist(requestor) -> None:
    c = _client(requestor)
    rid = _draft(c)
    response = _json(
        c, "patch", f"{BASE}/{rid}", {"selections": {"homeless": ["2022-23"]}, "justifications": {"made_up_element": "why"}}
    )
    assert response.status_code == 422
    assert "not a data element" in response.json()["errors"]["data"]["selections"][0]
    assert DataRequest.objects.get(public_id=rid).justifications == {}


def test_a_real_state_conflict_is_still_409(requestor) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    response = _json(_client(requestor), "post", f"{BASE}/{r.public_id}/submit")
    assert response.status_code == 409
    assert r.status == Status.DRAFT  # the object in memory; the row is submitted


def test_input_that_does_not_parse_answers_the_documented_error_shape(requestor) -> None:
    c = _client(requestor)
    rid = _draft(c)
    response = _json(c, "patch", f"{BASE}/{rid}", {"start_date": "not a date", "pledge_to_share": "perhaps"})
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["detail"], str)
    assert set(body["errors"]["body"]) == {"start_date", "pledge_to_share"}


def test_every_operation_documents_its_error_answers_in_the_openapi_schema(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "ErrorOut" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "422" in operation["responses"], (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)


def test_the_api_refuses_a_contact_email_the_form_would_refuse(requestor) -> None:
    c = _client(requestor)
    rid = _draft(c)
    response = _json(c, "patch", f"{BASE}/{rid}", {"primary_contact": {"name": "Ada", "email": "ada@nowhere"}})
    assert response.status_code == 422
    assert response.json()["errors"]["contacts"]["primary_email"] == ["Enter a valid email for the primary contact."]
