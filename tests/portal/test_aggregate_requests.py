"""A requestor defines a table; it is computed and suppressed on the queue; another person,
a steward, releases it; the requestor downloads it with its notes and certificate. Outsiders
see nothing of it."""

from __future__ import annotations

import pandas as pd
import pytest

from datashare.audit.models import AuditEvent
from datashare.core.errors import Forbidden, ValidationFailed
from datashare.portal import services
from datashare.portal.models import AggregateStatus
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

FORM = {"purpose": "Graduation by income for a board report", "table_key": "graduation_4yr",
        "level": "district", "district": "", "groups": ["low_income"], "years": "2024-25"}


def test_the_request_story(requestor, steward, django_capture_on_commit_callbacks) -> None:
    c = client_for(requestor)
    assert c.get("/data/requests/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post("/data/requests/", FORM)
    assert resp.status_code == 302
    req = requestor.aggregate_requests.get()
    assert req.status == AggregateStatus.READY and req.certificate["passed"]
    assert c.get(f"/data/requests/{req.pk}/csv").status_code == 404  # not released yet
    s = client_for(steward)
    page = s.get(f"/data/requests/{req.pk}/")
    assert page.status_code == 200 and b"Release decision" in page.content
    assert s.post(f"/data/staff/requests/{req.pk}/decide",
                  {"decision": "approve"}).status_code == 302
    req.refresh_from_db()
    assert req.status == AggregateStatus.APPROVED and req.decided_by == steward
    detail = c.get(f"/data/requests/{req.pk}/").content.decode()
    assert "N&lt;10" in detail and "Download" in detail
    csv = c.get(f"/data/requests/{req.pk}/csv")
    table = pd.read_csv(pd.io.common.BytesIO(b"".join(csv.streaming_content)))
    assert set(table["student_group"]) <= {"All Students", "Low-Income", "Non-Low Income"}
    assert set(table["organization_level"]) == {"state", "district"}
    assert c.get(f"/data/requests/{req.pk}/certificate.json").json()["passed"] is True
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"aggregate_request.submitted", "aggregate_request.computed",
            "aggregate_request.approved", "aggregate_request.downloaded"} <= actions


def test_outsiders_get_404_and_requestors_get_403_on_steward_actions(
        requestor, outsider, steward) -> None:
    req = services.submit_aggregate_request(
        actor=requestor, purpose="p", table_key="enrollment", level="district",
        groups=["gender"], by_grade=False, district="", grades=[], years=[2025])
    services.run_aggregate_request(request_id=req.pk)
    other = client_for(outsider)
    assert other.get(f"/data/requests/{req.pk}/").status_code == 404
    assert other.get(f"/data/requests/{req.pk}/csv").status_code == 404
    mine = client_for(requestor)
    assert mine.post(f"/data/staff/requests/{req.pk}/decide",
                     {"decision": "approve"}).status_code == 403
    assert mine.get("/data/staff/requests/").status_code == 403
    with pytest.raises(Forbidden):
        services.decide_aggregate_request(actor=requestor, req=req, approve=True)
    assert client_for(steward).get("/data/staff/requests/").status_code == 200


def test_a_steward_cannot_release_their_own_request(steward, second_steward) -> None:
    from datashare.accounts.models import Role
    from datashare.accounts.services import grant_role

    grant_role(actor=None, user=steward, role=Role.REQUESTOR)
    req = services.submit_aggregate_request(
        actor=steward, purpose="p", table_key="graduation_4yr", level="state",
        groups=["gender"], by_grade=False, district="", grades=[], years=[2025])
    services.run_aggregate_request(request_id=req.pk)
    resp = client_for(steward).post(f"/data/staff/requests/{req.pk}/decide",
                                    {"decision": "approve"})
    assert resp.status_code == 403
    services.decide_aggregate_request(actor=second_steward, req=req, approve=False, note="no")
    req.refresh_from_db()
    assert req.status == AggregateStatus.REJECTED


def test_bad_requests_are_form_errors(requestor) -> None:
    c = client_for(requestor)
    resp = c.post("/data/requests/", {**FORM, "years": "2024-26"})
    assert resp.status_code == 400 and b"is not like 2024-25" in resp.content
    resp = c.post("/data/requests/", {**FORM, "level": "state", "groups": [], "district": ""})
    assert resp.status_code == 400 and b"Break the table down" in resp.content
    # "Every table" is the stewards' whole-year build, not a measure a requestor may ask for.
    resp = c.post("/data/requests/", {**FORM, "table_key": "*"})
    assert resp.status_code == 400 and b"Select a valid choice" in resp.content
    with pytest.raises(ValidationFailed):
        services.submit_aggregate_request(actor=requestor, purpose="p", table_key="x",
                                          level="district", groups=[], by_grade=False,
                                          district="", grades=[], years=[2025])
    assert not requestor.aggregate_requests.exists()


def test_a_year_the_source_lacks_fails_with_a_reason(requestor) -> None:
    req = services.submit_aggregate_request(
        actor=requestor, purpose="p", table_key="enrollment", level="district",
        groups=[], by_grade=True, district="", grades=[], years=[2013])
    services.run_aggregate_request(request_id=req.pk)
    req.refresh_from_db()
    assert req.status == AggregateStatus.FAILED and "not in the source" in req.error


def test_anonymous_visitors_are_sent_to_sign_in(requestor) -> None:
    from django.test import Client

    assert Client().get("/data/requests/").status_code == 302


def test_a_request_over_two_years_delivers_each_years_audited_file(requestor) -> None:
    import hashlib

    req = services.submit_aggregate_request(
        actor=requestor, purpose="Dropout over two years", table_key="dropout",
        level="district", groups=["gender"], by_grade=False, district="", grades=[],
        years=[2024, 2025])
    req = services.run_aggregate_request(request_id=req.pk)
    assert req.status == AggregateStatus.READY, req.error
    body = req.csv_file.open("rb").read()
    lines = body.split(b"\n")
    assert lines.count(lines[0]) == 1  # one header
    # Each year's rows are byte for byte the file its publisher-side audit read.
    header = lines[0] + b"\n"
    for cert in req.certificate["years"]:
        year_rows = [ln for ln in lines[1:] if ln.startswith(
            f"{cert['school_year'] - 1}-{cert['school_year'] % 100:02d},".encode())]
        year_file = header + b"".join(ln + b"\n" for ln in year_rows)
        assert hashlib.sha256(year_file).hexdigest() == cert["csv_sha256"]
        assert cert["audited_from"] == "the published CSV file"
    limited = not all(c["labels_accounted"] for c in req.certificate["years"])
    assert any("does not yet account" in line for line in req.notes) is limited
