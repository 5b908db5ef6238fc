"""The REST API: requestors work on their own requests only; stewards list the queue and decide."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from datashare.accounts.services import issue_api_token
from datashare.intake import services
from datashare.intake.models import DataRequest, Status
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db
BASE = "/api/v1/requests"


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _json(c: Client, method: str, url: str, body: dict | None = None):
    return getattr(c, method)(url, data=json.dumps(body or {}), content_type="application/json")


def test_a_requestor_creates_edits_submits_and_lists_through_the_api(requestor) -> None:
    c = _client(requestor)
    created = _json(c, "post", f"{BASE}/", {"title": "API request", "kind": "suppressed_aggregate"})
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    contact = {"name": "Ada", "email": "ada@evergreen.edu", "phone": "1", "organization": "Evergreen", "title": "PI", "mailing_address": "Olympia"}
    bad = _json(c, "patch", f"{BASE}/{rid}", {"selections": {"gender": ["2007-08"]}})
    assert bad.status_code == 422 and "before 2009-10" in bad.json()["errors"]["data"]["selections"][0]
    # Suppressed aggregate tables are described in words, never as student-level elements.
    assert _json(c, "patch", f"{BASE}/{rid}", {"selections": {"gender": ["2023-24"]}}).status_code == 422
    ok = _json(c, "patch", f"{BASE}/{rid}", {"primary_contact": contact, "purpose": "County tables", "tables_requested": "Graduation rate by county, 2023-24"})
    assert ok.status_code == 200, ok.content
    assert ok.json()["tables_requested"] == "Graduation rate by county, 2023-24" and ok.json()["selections"] == {}
    submitted = _json(c, "post", f"{BASE}/{rid}/submit")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"
    assert [r["id"] for r in c.get(f"{BASE}/").json()] == [rid]


def test_an_incomplete_submission_is_refused_with_every_problem_by_step(requestor) -> None:
    c = _client(requestor)
    rid = _json(c, "post", f"{BASE}/", {"title": "Incomplete"}).json()["id"]
    response = _json(c, "post", f"{BASE}/{rid}/submit")
    assert response.status_code == 422
    assert "purpose" in response.json()["errors"]["project"]


def test_an_outsider_gets_404_on_another_organizations_request_in_the_api(requestor, outsider) -> None:
    r = complete_request(requestor)
    c = _client(outsider)
    assert c.get(f"{BASE}/{r.public_id}").status_code == 404
    assert _json(c, "patch", f"{BASE}/{r.public_id}", {"purpose": "hijack"}).status_code == 404
    assert _json(c, "post", f"{BASE}/{r.public_id}/submit").status_code == 404
    assert _json(c, "post", f"{BASE}/{r.public_id}/withdraw").status_code == 404
    assert c.get(f"{BASE}/").json() == []
    assert c.get(f"{BASE}/queue").status_code == 403
    assert _json(c, "post", f"{BASE}/{r.public_id}/decision", {"decision": "approve"}).status_code == 403
    assert Client().get(f"{BASE}/").status_code == 401
    r.refresh_from_db()
    assert r.purpose == "Study chronic absence." and r.status == Status.DRAFT


def test_a_steward_lists_the_queue_and_decides_through_the_api(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    c = _client(steward)
    queue = c.get(f"{BASE}/queue").json()
    assert [item["id"] for item in queue] == [str(r.public_id)]
    response = _json(c, "post", f"{BASE}/{r.public_id}/decision", {"decision": "approve", "approved_selections": {"days_absent": ["2022-23"]}})
    assert response.status_code == 200, response.content
    assert response.json()["approved_selections"] == {"days_absent": ["2022-23"]}
    again = _json(c, "post", f"{BASE}/{r.public_id}/decision", {"decision": "deny", "reason": "x"})
    assert again.status_code == 409 and "already decided by Sam Steward" in again.json()["detail"]
    assert DataRequest.objects.get(pk=r.pk).status == Status.APPROVED


def test_the_endpoints_are_in_the_openapi_schema() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for path in [f"{BASE}/", f"{BASE}/queue", f"{BASE}/{{public_id}}", f"{BASE}/{{public_id}}/submit", f"{BASE}/{{public_id}}/decision"]:
        assert path in paths, sorted(paths)


def test_a_bearer_token_lists_its_owners_requests_and_an_outsiders_token_gets_404(requestor, outsider) -> None:
    r = complete_request(requestor)
    _, mine = issue_api_token(actor=None, user=requestor, name="analysis scripts")
    _, theirs = issue_api_token(actor=None, user=outsider, name="other scripts")
    c = Client()
    listed = c.get(f"{BASE}/", HTTP_AUTHORIZATION=f"Bearer {mine}")
    assert listed.status_code == 200
    assert [x["id"] for x in listed.json()] == [str(r.public_id)]
    assert c.get(f"{BASE}/{r.public_id}", HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 404
    assert c.get(f"{BASE}/", HTTP_AUTHORIZATION=f"Bearer {theirs}").json() == []


def test_a_session_write_to_the_requests_api_needs_the_csrf_token(requestor) -> None:
    c = Client(enforce_csrf_checks=True)
    c.force_login(requestor)
    assert _json(c, "post", f"{BASE}/", {"title": "No token"}).status_code == 403
    assert not DataRequest.objects.exists()
