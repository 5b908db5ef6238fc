"""Share results: a researcher sends a draft, the scanner finds a small cell, the steward asks
for changes, a corrected version clears. Outsiders see nothing; requestors cannot review;
nobody reviews their own agreement's results."""

from __future__ import annotations

import pytest
from django.urls import reverse

from datashare.accounts.models import Role
from datashare.agreements.models import Agreement, AgreementStatus, AuthorizedUser
from datashare.audit.models import AuditEvent
from datashare.results import services
from datashare.results.models import ResultsStatus, ResultsSubmission, ResultsVersion, ScanStatus
from tests.factories import make_staff
from tests.outputcheck.files import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

BLOCKED = csv_bytes([["Group", "N", "Met"], ["Asian", 12, 3], ["White", 140, 61]])
CORRECTED = csv_bytes([["Group", "N", "Met"], ["Asian", 12, "N<10"], ["White", 140, 61]])
CHECKED = {key: "on" for key, _ in services.CHECKLIST}


def upload(client, agreement: Agreement, data: bytes = BLOCKED, name: str = "report.csv", **extra: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = {"title": "Absence and graduation", "file": SimpleUploadedFile(name, data), **CHECKED, **extra}
    return client.post(reverse("results:submit", args=[agreement.public_id]), form)


def test_the_whole_review_blocked_then_corrected_then_cleared(
    client, agreement, requestor, steward, django_capture_on_commit_callbacks
) -> None:
    client.force_login(requestor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(client, agreement)
    assert response.status_code == 302
    assert callbacks  # the scan and the stewards' email wait for the commit
    submission = ResultsSubmission.objects.get()
    version = submission.versions.get()
    assert version.scan_status == ScanStatus.DONE and version.blocks == 1
    page = client.get(response["Location"]).content.decode()
    assert "Blocks release" in page and "report.csv, cell C2 (Met)" in page

    client.force_login(steward)
    review = reverse("results:review", args=[submission.public_id])
    refused = client.post(review, {"action": "clear", "body": ""})
    assert refused.status_code == 422 and "1 blocking finding" in refused.content.decode()
    assert client.post(review, {"action": "request_changes", "body": "Suppress C2."}).status_code == 302
    submission.refresh_from_db()
    assert submission.status == ResultsStatus.CHANGES_REQUESTED

    client.force_login(requestor)
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            reverse("results:upload_version", args=[submission.public_id]),
            {"file": SimpleUploadedFile("report-v2.csv", CORRECTED), "note": "Suppressed the Asian group."},
        )
    assert again.status_code == 302
    submission.refresh_from_db()
    assert submission.status == ResultsStatus.IN_REVIEW
    diff = client.get(reverse("results:diff", args=[submission.public_id, 1, 2])).content.decode()
    assert "<del>report.csv, cell C2 (Met)" in diff

    client.force_login(steward)
    assert client.post(review, {"action": "clear", "body": "Fine to publish."}).status_code == 302
    submission.refresh_from_db()
    assert submission.status == ResultsStatus.CLEARED and submission.decided_by == steward
    actions = list(AuditEvent.objects.filter(target_id=str(submission.public_id)).values_list("action", flat=True))
    assert actions[:1] == ["results.submitted"] and "results.cleared" in actions and actions.count("results.scanned") == 2


def test_an_xlsx_percentage_back_calculating_to_three_is_found(agreement, requestor, django_capture_on_commit_callbacks) -> None:
    import io

    data = xlsx_bytes({"Grade 3": [["Group", "N", "Share met"], ["A", 10, 0.3]]}, {("Grade 3", "C2")})
    with django_capture_on_commit_callbacks(execute=True):
        s = services.submit_results(actor=requestor, agreement=agreement, title="Tables", checklist=dict.fromkeys(CHECKED, True), upload=io.BytesIO(data), name="tables.xlsx", size=len(data))
    finding = s.versions.get().findings[0]
    assert (finding["rule"], finding["where"]) == ("back-calculation", "tables.xlsx, sheet 'Grade 3', cell C2 (Share met)")


def test_the_checklist_and_the_file_are_checked_before_anything_is_written(client, agreement, requestor) -> None:
    client.force_login(requestor)
    missing = upload(client, agreement, review_role="")
    assert missing.status_code == 422 and "Confirm this before sending" in missing.content.decode()
    fake = upload(client, agreement, data=b"MZ\x90\x00", name="tables.xlsx")
    assert fake.status_code == 422 and "not really a Excel file" in fake.content.decode()
    exe = upload(client, agreement, data=b"MZ", name="run.exe")
    assert exe.status_code == 422
    assert ResultsSubmission.objects.count() == 0 and ResultsVersion.objects.count() == 0


def test_an_unreadable_file_fails_its_scan_and_cannot_be_cleared(agreement, requestor, steward, django_capture_on_commit_callbacks) -> None:
    import io

    from datashare.core.errors import Conflict

    data = b"PK\x03\x04xl/ broken"
    with django_capture_on_commit_callbacks(execute=True):
        s = services.submit_results(actor=requestor, agreement=agreement, title="Broken", checklist=dict.fromkeys(CHECKED, True), upload=io.BytesIO(data), name="b.xlsx", size=len(data))
    v = s.versions.get()
    assert v.scan_status == ScanStatus.FAILED and "could not be read" in v.scan_error
    with pytest.raises(Conflict, match="could not be read"):
        services.clear_for_release(actor=steward, submission=s)


def test_results_cannot_be_sent_under_an_agreement_not_yet_executed(client, agreement, requestor) -> None:
    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.DRAFT)
    client.force_login(requestor)
    assert client.get(reverse("results:submit", args=[agreement.public_id])).status_code == 404


def _submitted(agreement, requestor, capture) -> ResultsSubmission:
    import io

    with capture(execute=True):
        return services.submit_results(actor=requestor, agreement=agreement, title="T", checklist=dict.fromkeys(CHECKED, True), upload=io.BytesIO(CORRECTED), name="r.csv", size=len(CORRECTED))


def test_another_researcher_sees_nothing(client, agreement, requestor, outsider, django_capture_on_commit_callbacks) -> None:
    s = _submitted(agreement, requestor, django_capture_on_commit_callbacks)
    client.force_login(outsider)
    for url in (
        reverse("results:detail", args=[s.public_id]),
        reverse("results:download", args=[s.public_id, 1]),
        reverse("results:diff", args=[s.public_id, 1, 1]),
        reverse("results:submit", args=[agreement.public_id]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("results:upload_version", args=[s.public_id])).status_code == 404
    assert client.post(reverse("results:withdraw", args=[s.public_id])).status_code == 404
    assert "T" not in [x.title for x in client.get(reverse("results:mine")).context["submissions"]]


def test_the_requestor_gets_403_on_steward_actions(client, agreement, requestor, django_capture_on_commit_callbacks) -> None:
    s = _submitted(agreement, requestor, django_capture_on_commit_callbacks)
    client.force_login(requestor)
    assert client.post(reverse("results:review", args=[s.public_id]), {"action": "clear"}).status_code == 403
    assert client.get(reverse("results:queue")).status_code == 403
    download = client.get(reverse("results:download", args=[s.public_id, 1]))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")


def test_a_steward_does_not_review_results_of_their_own_agreement(client, agreement, requestor, django_capture_on_commit_callbacks) -> None:
    s = _submitted(agreement, requestor, django_capture_on_commit_callbacks)
    insider, _ = make_staff("insider@agency.gov", Role.DATA_STEWARD)
    AuthorizedUser.objects.create(agreement=agreement, user=insider, name="Insider", role="Analyst")
    client.force_login(insider)
    assert client.post(reverse("results:review", args=[s.public_id]), {"action": "clear"}).status_code == 403
    s.refresh_from_db()
    assert s.status == ResultsStatus.IN_REVIEW


def test_the_review_window_is_configurable_and_the_queue_shows_it(client, settings, agreement, requestor, steward, django_capture_on_commit_callbacks) -> None:
    settings.RESULTS_REVIEW_DAYS = 10
    s = _submitted(agreement, requestor, django_capture_on_commit_callbacks)
    assert (s.review_due - s.created_at.date()).days == 10
    client.force_login(steward)
    page = client.get(reverse("results:queue"))
    assert page.status_code == 200 and s.title in page.content.decode()


# The portal seeder's tables are built once per run (see the fixture in tests/conftest.py).
@pytest.mark.usefixtures("builds_once")
def test_the_demo_seeds_a_blocked_and_a_cleared_product() -> None:
    import io as _io

    from django.core.management import call_command

    call_command("demo", stdout=_io.StringIO())
    statuses = dict(ResultsSubmission.objects.values_list("title", "status"))
    assert statuses == {"Chronic absence by group (draft)": ResultsStatus.CHANGES_REQUESTED, "Chronic absence brief": ResultsStatus.CLEARED}
    blocked = ResultsSubmission.objects.get(status=ResultsStatus.CHANGES_REQUESTED).versions.get()
    assert blocked.blocks == 1
    again = _io.StringIO()
    call_command("demo", stdout=again)
    assert "demo results already seeded" in again.getvalue()
