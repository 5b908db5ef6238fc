"""The review as a steward, a department reviewer and a requestor expect it (issue 18): no empty
questions, duplicates cancellable, the questions shown, a warning when deciding without pending
comments, stewards emailed, a reply to requested changes, confirmations, a diff of what changed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from datashare.audit.models import AuditEvent
from datashare.intake import services, snapshot
from datashare.intake.errors import IncompleteRequest, IntakeError
from datashare.intake.models import Status
from tests.factories import make_staff
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def reviewer():
    user, _ = make_staff("dept@agency.gov", "department_reviewer")
    user.full_name = "Dee Reviewer"
    user.save(update_fields=["full_name"])
    return user


@pytest.fixture
def submitted(requestor):
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    return r


def test_an_empty_what_to_look_at_is_refused_and_nobody_is_emailed(steward, reviewer, submitted) -> None:
    with pytest.raises(IncompleteRequest):
        services.request_comments(actor=steward, data_request=submitted, reviewer=reviewer, question="  ")
    mail.outbox.clear()
    response = _client(steward).post(
        reverse("intake:ask_comments", args=[submitted.public_id]), {"reviewer": str(reviewer.public_id), "question": ""}, follow=True
    )
    assert "What to look at: This field is required." in response.content.decode()
    assert not submitted.comment_requests.exists() and mail.outbox == []


def test_a_duplicate_request_for_comments_is_cancelled_and_the_reviewer_no_longer_asked(steward, reviewer, submitted, django_capture_on_commit_callbacks) -> None:
    first = services.request_comments(actor=steward, data_request=submitted, reviewer=reviewer, question="Scope right?")
    duplicate = services.request_comments(actor=steward, data_request=submitted, reviewer=reviewer, question="Scope right?")
    page = _client(steward).get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    assert page.count("Cancel this request for comments") == 2
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _client(steward).post(reverse("intake:cancel_comments", args=[duplicate.public_id]))
    duplicate.refresh_from_db()
    assert duplicate.cancelled_at is not None and mail.outbox[0].to == [reviewer.email]
    assert AuditEvent.objects.filter(action="intake.comments_cancelled").count() == 1
    c = _client(reviewer)
    assert c.get(reverse("intake:detail", args=[submitted.public_id])).content.decode().count("Your comments are requested") == 1
    c.post(reverse("intake:respond_comments", args=[duplicate.public_id]), {"response": "late"})
    duplicate.refresh_from_db()
    assert duplicate.response == ""
    first.refresh_from_db()
    assert first.cancelled_at is None


def test_cancelling_comments_is_for_stewards_only_and_404_for_an_outsider(requestor, outsider, steward, reviewer, submitted) -> None:
    cr = services.request_comments(actor=steward, data_request=submitted, reviewer=reviewer, question="Scope right?")
    assert _client(requestor).post(reverse("intake:cancel_comments", args=[cr.public_id])).status_code == 403
    assert _client(reviewer).post(reverse("intake:cancel_comments", args=[cr.public_id])).status_code == 403
    other_steward, _ = make_staff("olive@agency.gov", "data_steward")
    draft = services.create_draft(actor=outsider, title="Private draft")
    assert draft.submitted_at is None
    cr.refresh_from_db()
    assert cr.cancelled_at is None
    assert _client(other_steward).post(reverse("intake:cancel_comments", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


def test_the_steward_sees_each_question_with_its_answer(steward, reviewer, submitted) -> None:
    cr = services.request_comments(actor=steward, data_request=submitted, reviewer=reviewer, question="Is the FERPA exception right?")
    page = _client(steward).get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    assert "Is the FERPA exception right?" in page and "Waiting for the answer" in page
    services.respond_to_comment_request(actor=reviewer, comment_request=cr, response="Yes.")
    page = _client(steward).get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    assert "Is the FERPA exception right?" in page and "Yes." in page


def test_deciding_while_comments_are_pending_warns_and_the_reviewer_is_then_no_longer_asked(steward, reviewer, submitted) -> None:
    cr = services.request_comments(actor=steward, data_request=submitted, reviewer=reviewer, question="Scope right?")
    c = _client(steward)
    assert "Department comments are still pending from Dee Reviewer" in c.get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    keep = {"decision": "approve", "keep": ["days_absent:2022-23"]}
    confirm = c.post(reverse("intake:decide", args=[submitted.public_id]), keep).content.decode()
    assert "Department comments are still pending from Dee Reviewer" in confirm and "Yes, approve" in confirm
    c.post(reverse("intake:decide", args=[submitted.public_id]), {**keep, "confirmed": "1"})
    submitted.refresh_from_db()
    assert submitted.status == Status.APPROVED
    rc = _client(reviewer)
    assert "Your comments are requested" not in rc.get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    assert "Scope right?" not in rc.get(reverse("web:staff_dashboard")).content.decode()
    with pytest.raises(IntakeError, match="already decided"):
        services.respond_to_comment_request(actor=reviewer, comment_request=cr, response="late")


def test_stewards_are_emailed_on_submission_and_the_decider_on_resubmission(requestor, steward, django_capture_on_commit_callbacks) -> None:
    other_steward, _ = make_staff("olive@agency.gov", "data_steward")
    r = complete_request(requestor)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(actor=requestor, data_request=r)
    to_stewards = [m for m in mail.outbox if "New request" in m.subject]
    assert len(to_stewards) == 1 and sorted(to_stewards[0].to) == sorted([steward.email, other_steward.email])
    services.request_changes(actor=steward, data_request=r, comments={"data": "Fewer years."})
    services.reply_to_changes(actor=requestor, data_request=r, message="Dropped 2010-11.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(actor=requestor, data_request=r)
    resubmitted = [m for m in mail.outbox if "Resubmitted (version 2)" in m.subject]
    assert len(resubmitted) == 1 and resubmitted[0].to == [steward.email]
    assert "Dropped 2010-11." in resubmitted[0].body


def test_the_requestor_replies_to_requested_changes_and_the_steward_reads_it(requestor, outsider, steward, submitted, django_capture_on_commit_callbacks) -> None:
    c = _client(requestor)
    url = reverse("intake:reply", args=[submitted.public_id])
    c.post(url, {"message": "Too early"})
    submitted.refresh_from_db()
    assert submitted.changes_reply == ""  # not sent back yet: nothing to reply to
    services.request_changes(actor=steward, data_request=submitted, comments={"data": "Why homeless status?"})
    assert "Reply to the agency" in c.get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    mail.outbox.clear()
    assert _client(outsider).post(url, {"message": "hijack"}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        c.post(url, {"message": "It is the program's eligibility criterion."})
    submitted.refresh_from_db()
    assert submitted.changes_reply == "It is the program's eligibility criterion."
    assert mail.outbox[0].to == [steward.email]
    page = _client(steward).get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    assert "The requestor's reply" in page and "eligibility criterion" in page
    timeline = c.get(reverse("intake:detail", args=[submitted.public_id])).content.decode()
    assert "Replied to the requested changes" in timeline


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_approve_and_deny_ask_for_confirmation_first(steward, submitted, decision) -> None:
    c = _client(steward)
    data = {"decision": decision, "reason": "The portal already publishes it.", "note": "", "keep": ["days_absent:2022-23", "days_absent:2021-22", "homeless:2022-23"]}
    page = c.post(reverse("intake:decide", args=[submitted.public_id]), data).content.decode()
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED
    assert f"Yes, {decision}" in page and 'name="confirmed" value="1"' in page
    # The answers travel through the confirmation page unchanged.
    assert 'name="keep" value="days_absent:2021-22"' in page
    c.post(reverse("intake:decide", args=[submitted.public_id]), {**data, "confirmed": "1"})
    submitted.refresh_from_db()
    assert submitted.status == (Status.APPROVED if decision == "approve" else Status.DENIED)


def test_withdrawing_asks_for_confirmation_first(requestor, submitted) -> None:
    c = _client(requestor)
    page = c.post(reverse("intake:withdraw", args=[submitted.public_id])).content.decode()
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED and "Yes, withdraw" in page
    c.post(reverse("intake:withdraw", args=[submitted.public_id]), {"confirmed": "1"})
    submitted.refresh_from_db()
    assert submitted.status == Status.WITHDRAWN


def test_the_diff_marks_the_years_added_and_removed_instead_of_reprinting_the_lists(requestor, steward, submitted) -> None:
    services.request_changes(actor=steward, data_request=submitted, comments={"data": "Fewer years."})
    services.update_draft(actor=requestor, data_request=submitted, changes={"selections": {"days_absent": [2023, 2024], "homeless": [2023]}})
    services.submit(actor=requestor, data_request=submitted)
    page = _client(steward).get(reverse("intake:diff", args=[submitted.public_id, 1, 2])).content.decode()
    assert "Days absent: added <ins>2023-24</ins>; removed <del>2021-22</del>" in page
    assert "Homeless: 2022-23" not in page  # unchanged lines are counted, not reprinted


def test_a_line_added_and_one_removed_are_not_paired_as_a_change() -> None:
    rows = snapshot.diff({"Data": ["Gender: 2023-24"]}, {"Data": ["Race: 2023-24"]})[0].rows
    assert [(r.change, r.left, r.right) for r in rows] == [("removed", "Gender: 2023-24", ""), ("added", "", "Race: 2023-24")]


@pytest.mark.parametrize(
    "query",
    ["?assignee=not-a-uuid", "?age=999999999", "?age=-5", "?age=abc", "?assignee=me&age=10"],
)
def test_bad_queue_filters_give_a_clean_page_not_an_error(steward, submitted, query) -> None:
    response = _client(steward).get(reverse("intake:queue") + query)
    assert response.status_code == 200


def test_an_impossible_version_number_is_404_not_an_error(steward, submitted) -> None:
    response = _client(steward).get(f"/requests/{submitted.public_id}/versions/99999999999999999999/1/")
    assert response.status_code == 404
    assert _client(steward).get(f"/requests/{submitted.public_id}/versions/1/99999999999999999999/").status_code == 404
