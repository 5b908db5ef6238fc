"""The read-only results API: a researcher's script polls its draft's scan; an outsider's token
finds nothing; a steward reads every submission."""

from __future__ import annotations

import pytest
from django.test import Client

from datashare.accounts.services import issue_api_token
from datashare.results import services
from tests.outputcheck.files import csv_bytes

pytestmark = pytest.mark.django_db

BASE = "/api/v1/results"
BLOCKED = csv_bytes([["Group", "N", "Met"], ["Asian", 12, 3], ["White", 140, 61]])


def _submit(agreement, requestor, capture):  # type: ignore[no-untyped-def]
    import io

    with capture(execute=True):
        return services.submit_results(
            actor=requestor, agreement=agreement, title="Absence and graduation",
            checklist={k: True for k, _ in services.CHECKLIST}, upload=io.BytesIO(BLOCKED),
            name="report.csv", size=len(BLOCKED),
        )  # fmt: skip


def test_a_researchers_token_reads_the_scan_findings_of_its_own_submission(
    agreement, requestor, django_capture_on_commit_callbacks
) -> None:
    submission = _submit(agreement, requestor, django_capture_on_commit_callbacks)
    _, token = issue_api_token(actor=None, user=requestor, name="paper pipeline")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    listed = c.get(f"{BASE}/")
    assert listed.status_code == 200 and [x["id"] for x in listed.json()] == [str(submission.public_id)]
    one = c.get(f"{BASE}/{submission.public_id}").json()
    assert one["status"] == "in_review" and one["agreement"] == agreement.label
    version = one["versions"][0]
    assert version["scan_status"] == "done" and version["blocks"] == 1
    assert version["findings"] and version["file_name"] == "report.csv"
    assert c.get(f"{BASE}/", {"status": "cleared"}).json() == []


def test_an_outsiders_token_finds_no_submission_and_the_api_writes_nothing(
    agreement, requestor, outsider, django_capture_on_commit_callbacks
) -> None:
    submission = _submit(agreement, requestor, django_capture_on_commit_callbacks)
    _, token = issue_api_token(actor=None, user=outsider, name="other scripts")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert c.get(f"{BASE}/").json() == []
    assert c.get(f"{BASE}/{submission.public_id}").status_code == 404
    assert c.post(f"{BASE}/", {}, content_type="application/json").status_code == 405
    assert Client().get(f"{BASE}/").status_code == 401


def test_a_steward_reads_every_submission_and_the_endpoints_are_documented(
    client, agreement, requestor, steward, django_capture_on_commit_callbacks
) -> None:
    submission = _submit(agreement, requestor, django_capture_on_commit_callbacks)
    client.force_login(steward)
    assert [x["id"] for x in client.get(f"{BASE}/").json()] == [str(submission.public_id)]
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert f"{BASE}/" in paths and f"{BASE}/{{public_id}}" in paths


def test_listing_many_submissions_costs_the_same_few_queries(
    agreement, requestor, django_capture_on_commit_callbacks, django_assert_max_num_queries
) -> None:
    for _ in range(3):
        _submit(agreement, requestor, django_capture_on_commit_callbacks)
    _, token = issue_api_token(actor=None, user=requestor, name="paper pipeline")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    # Token, visibility, submissions with agreements, versions, comments with authors: not per row.
    with django_assert_max_num_queries(12):
        assert len(c.get(f"{BASE}/").json()) == 3
