"""The web pages, and the FERPA boundary: another organization's requestor sees nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.test import Client
from django.urls import reverse

from datashare.accounts.models import OrganizationKind
from datashare.accounts.services import set_organization
from datashare.audit.models import AuditEvent
from datashare.intake import services
from datashare.intake.models import (
    PRIORITY_LEGISLATIVE,
    PRIORITY_OTHER,
    Attachment,
    DataRequest,
    Status,
)
from tests.factories import make_org, make_user
from tests.intake.conftest import PDF_BYTES, complete_request

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_an_outsider_gets_404_for_every_page_and_attachment_of_another_organizations_request(requestor, outsider) -> None:
    r = complete_request(requestor)
    attachment = r.attachments.get()
    c = _client(outsider)
    urls = [
        reverse("intake:detail", args=[r.public_id]),
        reverse("intake:edit", args=[r.public_id, "request"]),
        reverse("intake:review", args=[r.public_id]),
        reverse("intake:attachment", args=[r.public_id, attachment.public_id]),
    ]
    for url in urls:
        assert c.get(url).status_code == 404, url
    assert c.post(reverse("intake:withdraw", args=[r.public_id])).status_code == 404
    assert c.post(reverse("intake:edit", args=[r.public_id, "project"]), {"purpose": "hijack"}).status_code == 404
    services.submit(actor=requestor, data_request=r)
    for url in urls:
        assert c.get(url).status_code == 404, url
    assert "Attendance and outcomes" not in c.get(reverse("web:my_requests")).content.decode()
    r.refresh_from_db()
    assert r.purpose == "Study chronic absence." and r.status == Status.SUBMITTED


def test_an_attachment_of_one_request_cannot_be_fetched_through_another(requestor, outsider) -> None:
    mine = complete_request(outsider, title="Mine")
    theirs = complete_request(requestor)
    url = reverse("intake:attachment", args=[mine.public_id, theirs.attachments.get().public_id])
    assert _client(outsider).get(url).status_code == 404


def test_the_owner_downloads_an_attachment_as_a_download_never_rendered(requestor) -> None:
    r = complete_request(requestor)
    a = r.attachments.get()
    response = _client(requestor).get(reverse("intake:attachment", args=[r.public_id, a.public_id]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_attachments_are_checked_by_content_and_stored_under_random_names(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    c = _client(requestor)
    url = reverse("intake:edit", args=[r.public_id, "security"])
    fake = SimpleUploadedFile("policy.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = c.post(url, {"security_policy": fake, "action": "draft"})
    assert "Only PDF or Word (.docx) documents are accepted." in response.content.decode()
    assert not Attachment.objects.exists()
    docx = SimpleUploadedFile("policy.docx", _docx())
    c.post(url, {"security_policy": docx, "action": "draft"})
    a = Attachment.objects.get()
    assert a.content_type.endswith("wordprocessingml.document")
    assert "policy" not in a.file.name


def test_an_oversized_attachment_is_refused(requestor, settings) -> None:
    settings.INTAKE_MAX_UPLOAD_BYTES = 100
    r = services.create_draft(actor=requestor, title="T")
    response = _client(requestor).post(
        reverse("intake:edit", args=[r.public_id, "security"]),
        {"security_policy": SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 200), "action": "draft"},
    )
    assert "the limit is" in response.content.decode()


def test_an_oversized_attachment_is_dropped_as_it_arrives_not_stored_first(requestor, settings, monkeypatch) -> None:
    # Past the limit the file's bytes stop reaching the handlers that keep them (memory or a
    # temporary file), so a huge upload cannot fill the disk before the form refuses it.
    settings.INTAKE_MAX_UPLOAD_BYTES = 100_000
    kept: dict[int, int] = {}  # chunk offset -> bytes (one chunk passes through both handlers)
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        real = handler.receive_data_chunk

        def spy(self, raw_data: bytes, start: int, real=real) -> bytes | None:
            kept[start] = len(raw_data)
            return real(self, raw_data, start)

        monkeypatch.setattr(handler, "receive_data_chunk", spy)
    r = services.create_draft(actor=requestor, title="T")
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 3_000_000)
    response = _client(requestor).post(
        reverse("intake:edit", args=[r.public_id, "security"]), {"security_policy": big, "action": "draft"}
    )
    assert "The file is too large; the limit is 0.1 MB." in response.content.decode()
    assert not Attachment.objects.exists()
    assert 0 < sum(kept.values()) <= 100_000  # the chunks before the limit, not the 3 MB


def test_a_requestor_fills_every_step_and_submits_on_the_web(requestor) -> None:
    c = _client(requestor)
    response = c.post(reverse("intake:new"), {"title": "Web request", "kind": "deidentified"})
    r = DataRequest.objects.get(title="Web request")
    # The start page is the first step: the form goes on with the contacts (nothing asked twice).
    assert response.url == reverse("intake:edit", args=[r.public_id, "contacts"])
    contact = {"name": "Ada", "email": "ada@evergreen.edu", "phone": "1", "organization": "Evergreen", "title": "PI", "mailing_address": "Olympia"}
    data = {f"primary_{k}": v for k, v in contact.items()} | {f"secondary_{k}": v for k, v in contact.items()}
    response = c.post(reverse("intake:edit", args=[r.public_id, "contacts"]), {**data, "data_manager_email": "ada@evergreen.edu"})
    assert response.status_code == 302, response.content.decode()[:3000]
    response = c.post(
        reverse("intake:edit", args=[r.public_id, "project"]),
        {"purpose": "p", "research_questions": "q", "analyses": "a", "benefit": "b", "products": "p", "sharing_plan": "s", "pledge_to_share": "on", "start_date": "2026-01-01", "end_date": "2027-01-01"},
    )
    assert response.status_code == 302
    grid = reverse("intake:edit", args=[r.public_id, "data"])
    response = c.post(grid, {"action": "standard"})
    r.refresh_from_db()
    assert "gender" in r.selections and "birth_date" not in r.selections and "homeless" not in r.selections
    # A sensitive element without its justification: the error is next to it, the grid kept.
    chosen = {"inc": ["gender", "homeless"], "from_gender": "2023-24", "to_gender": "2023-24", "from_homeless": "2023-24", "to_homeless": "2023-24"}
    response = c.post(grid, {**chosen, "action": "continue"})
    page = response.content.decode()
    assert 'id="just_homeless_errors"' in page and "Homeless is a sensitive element" in page
    assert 'value="gender" id="inc_gender" checked' in page
    response = c.post(grid, {**chosen, "just_homeless": "Needed.", "action": "continue"})
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.selections == {"gender": [2024], "homeless": [2024]}
    response = c.post(
        reverse("intake:edit", args=[r.public_id, "security"]),
        {"storage_location": "s", "encryption_at_rest": "e", "encryption_in_transit": "e", "access_controls": "a", "software": "R", "people_with_access": "Ada, PI", "security_policy": SimpleUploadedFile("p.pdf", PDF_BYTES)},
    )
    assert response.url == reverse("intake:review", args=[r.public_id])
    assert "Before you can submit" not in c.get(response.url).content.decode()
    c.post(reverse("intake:review", args=[r.public_id]))
    r.refresh_from_db()
    assert r.status == Status.SUBMITTED
    detail = c.get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "Submitted" in detail and "Timeline" in detail


def test_the_review_page_names_every_missing_answer_and_links_to_its_step(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    page = _client(requestor).get(reverse("intake:review", args=[r.public_id])).content.decode()
    assert "Describe the purpose of the project." in page
    assert f"{reverse('intake:edit', args=[r.public_id, 'project'])}?check=1" in page
    step = _client(requestor).get(reverse("intake:edit", args=[r.public_id, "project"]) + "?check=1").content.decode()
    assert 'id="id_purpose_errors"' in step and 'aria-describedby="id_purpose_errors"' in step


def test_a_requestor_cannot_open_the_queue_or_decide(requestor) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    c = _client(requestor)
    assert c.get(reverse("intake:queue")).status_code == 403
    assert c.post(reverse("intake:decide", args=[r.public_id]), {"decision": "approve"}).status_code == 403
    assert Client().get(reverse("intake:queue")).status_code == 302


def test_a_steward_sees_the_queue_and_approves_and_the_second_steward_is_told(requestor, steward) -> None:
    from tests.factories import make_staff

    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    c = _client(steward)
    page = c.get(reverse("intake:queue")).content.decode()
    assert "Attendance and outcomes" in page and "Submitted: 1" in page
    detail = c.get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "Approve" in detail
    confirm = c.post(reverse("intake:decide", args=[r.public_id]), {"decision": "approve", "keep": ["days_absent:2022-23"]})
    r.refresh_from_db()
    assert r.status == Status.SUBMITTED and "Yes, approve" in confirm.content.decode()
    c.post(reverse("intake:decide", args=[r.public_id]), {"decision": "approve", "keep": ["days_absent:2022-23"], "confirmed": "1"})
    r.refresh_from_db()
    assert r.status == Status.APPROVED and r.minimization == {"days_absent": [2022], "homeless": [2023]}
    other, _ = make_staff("olive@agency.gov", "data_steward")
    response = _client(other).post(reverse("intake:decide", args=[r.public_id]), {"decision": "deny", "reason": "x", "confirmed": "1"}, follow=True)
    assert "already decided by Sam Steward" in response.content.decode()


def test_a_steward_never_sees_a_draft(requestor, steward) -> None:
    r = services.create_draft(actor=requestor, title="Private draft")
    assert _client(steward).get(reverse("intake:detail", args=[r.public_id])).status_code == 404


def test_reviewers_see_a_side_by_side_diff_of_a_resubmission(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    services.request_changes(actor=steward, data_request=r, comments={"project": "Sharper questions."})
    services.update_draft(actor=requestor, data_request=r, changes={"research_questions": "Does grade 9 absence predict dropout?"})
    services.submit(actor=requestor, data_request=r)
    page = _client(steward).get(reverse("intake:diff", args=[r.public_id, 1, 2])).content.decode()
    assert "<del>Research questions: Does absence predict dropout?</del>" in page
    assert "<ins>Research questions: Does grade 9 absence predict dropout?</ins>" in page


def test_the_catalog_page_lists_elements_with_their_tier_and_years() -> None:
    page = Client().get(reverse("intake:catalog")).content.decode()
    assert "Foster care" in page and "2016-17" in page and "Direct identifier" in page


def test_the_queue_page_runs_the_same_number_of_queries_at_any_size(requestor, steward, legislator) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = _client(steward)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(reverse("intake:queue")).status_code == 200
        return len(ctx.captured_queries)

    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    services.assign(actor=steward, data_request=r, assignee=steward)
    one = count()
    for n in range(5):
        services.submit(actor=legislator, data_request=complete_request(legislator, title=f"L{n}", legislative=bool(n % 2)))
    assert count() == one


def test_a_draft_withdrawn_before_submission_stays_private_to_its_author(requestor, steward) -> None:
    r = services.create_draft(actor=requestor, title="Never sent")
    services.withdraw(actor=requestor, data_request=r)
    assert _client(steward).get(reverse("intake:detail", args=[r.public_id])).status_code == 404
    assert "Never sent" not in _client(steward).get(reverse("intake:queue") + "?status=all").content.decode()


def test_the_steward_reads_the_submitted_form_on_the_request_page(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    page = _client(steward).get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "As submitted (version 1)" in page and "Homeless justification: Homelessness is a key driver of absence." in page


def test_a_designated_data_manager_must_accept_before_the_request_can_be_submitted(requestor) -> None:
    from datashare.intake.errors import IncompleteRequest
    from tests.factories import make_user

    colleague = make_user("grace@evergreen.edu", organization=requestor.organization)
    r = complete_request(requestor)
    services.designate_data_manager(actor=requestor, data_request=r, email=colleague.email)
    with pytest.raises(IncompleteRequest) as exc:
        services.submit(actor=requestor, data_request=r)
    assert "has not yet accepted" in exc.value.errors["contacts"]["data_manager_email"][0]
    c = _client(colleague)
    assert "Accept the role of data manager" in c.get(reverse("intake:detail", args=[r.public_id])).content.decode()
    c.post(reverse("intake:accept_data_manager", args=[r.public_id]))
    services.submit(actor=requestor, data_request=r)


def test_a_data_manager_from_another_organization_is_refused(requestor, outsider) -> None:
    from datashare.intake.errors import IncompleteRequest

    r = services.create_draft(actor=requestor, title="T")
    with pytest.raises(IncompleteRequest) as exc:
        services.designate_data_manager(actor=requestor, data_request=r, email=outsider.email)
    assert exc.value.errors["contacts"]["data_manager_email"] == ["The data manager must belong to Evergreen State University."]
    assert _client(outsider).get(reverse("intake:detail", args=[r.public_id])).status_code == 404


def test_a_department_reviewer_sees_only_the_requests_they_were_asked_about(requestor, steward) -> None:
    from tests.factories import make_staff

    reviewer, _ = make_staff("dept@agency.gov", "department_reviewer")
    asked = complete_request(requestor, title="Asked")
    other = complete_request(requestor, title="Not asked")
    for r in (asked, other):
        services.submit(actor=requestor, data_request=r)
    services.request_comments(actor=steward, data_request=asked, reviewer=reviewer, question="OK?")
    c = _client(reviewer)
    assert c.get(reverse("intake:detail", args=[other.public_id])).status_code == 404
    assert "Send comments" in c.get(reverse("intake:detail", args=[asked.public_id])).content.decode()
    cr = asked.comment_requests.get()
    c.post(reverse("intake:respond_comments", args=[cr.public_id]), {"response": "Looks fine."})
    cr.refresh_from_db()
    assert cr.response == "Looks fine."
    assert c.get(reverse("intake:queue")).status_code == 403


def test_direct_identifiers_are_not_offered_in_a_deidentified_grid_and_a_forged_one_is_refused(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    c = _client(requestor)
    grid = reverse("intake:edit", args=[r.public_id, "data"])
    assert 'value="birth_date:2019-20"' not in c.get(grid).content.decode()
    page = c.post(grid, {"sel": ["birth_date:2019-20", "gender:2008-09"], "action": "draft"}).content.decode()
    assert "school year 2008-09 is before 2009-10" in page.lower()
    page = c.post(grid, {"sel": ["birth_date:2019-20"], "action": "draft"}).content.decode()
    assert 'id="el_birth_date_errors"' in page and "Date of birth is a direct identifier" in page
    r.refresh_from_db()
    assert r.selections == {}


@pytest.mark.parametrize(
    ("name", "method", "extra"),
    [
        ("intake:detail", "get", []),
        ("intake:review", "get", []),
        ("intake:review", "post", []),
        ("intake:edit", "get", ["data"]),
        ("intake:edit", "post", ["security"]),
        ("intake:withdraw", "post", []),
        ("intake:accept_data_manager", "post", []),
        ("intake:diff", "get", [1, 2]),
    ],
)
def test_every_request_page_is_404_for_a_requestor_of_another_organization(requestor, outsider, steward, name, method, extra) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    services.request_changes(actor=steward, data_request=r, comments={"data": "Fewer years."})
    services.submit(actor=requestor, data_request=r)
    response = getattr(_client(outsider), method)(reverse(name, args=[r.public_id, *extra]))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["intake:decide", "intake:assign", "intake:ask_comments"])
def test_steward_actions_are_403_for_a_requestor_even_on_their_own_request(requestor, name) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    assert _client(requestor).post(reverse(name, args=[r.public_id]), {"decision": "approve"}).status_code == 403
    r.refresh_from_db()
    assert r.status == Status.SUBMITTED


def _intake_pages(r: DataRequest) -> list[str]:
    """Every intake page, filled with a real request's identifiers (attachments are downloads)."""
    from datashare.intake.urls import urlpatterns

    fill = {"public_id": str(r.public_id), "step": "request", "old": "1", "new": "2"}
    paths = ["/requests/"]
    for pattern in urlpatterns:
        route = str(pattern.pattern)
        if "attachment_id" in route:
            continue
        for key, value in fill.items():
            route = route.replace(f"<uuid:{key}>", value).replace(f"<slug:{key}>", value).replace(f"<int:{key}>", value)
        paths.append(f"/requests/{route}")
    return paths


def test_staff_see_intake_pages_in_the_staff_layout_and_the_requestor_never_does(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    services.request_changes(actor=steward, data_request=r, comments={"data": "Fewer years."})
    services.submit(actor=requestor, data_request=r)
    owner, staff = _client(requestor), _client(steward)
    staff_pages = set()
    for path in _intake_pages(r):
        mine = owner.get(path)
        assert mine.status_code != 500, path
        if mine.status_code == 200:
            assert 'data-area="staff"' not in mine.content.decode(errors="replace"), path
        theirs = staff.get(path)
        if theirs.status_code == 200 and 'data-area="staff"' in theirs.content.decode(errors="replace"):
            staff_pages.add(path)
    versions = f"/requests/{r.public_id}/versions/1/2/"
    assert {"/requests/queue/", f"/requests/{r.public_id}/", versions} <= staff_pages


def test_a_department_reviewer_finds_the_questions_put_to_them_on_the_staff_dashboard(requestor, steward) -> None:
    from tests.factories import make_staff

    reviewer, _ = make_staff("dept@agency.gov", "department_reviewer")
    r = complete_request(requestor, title="Asked")
    services.submit(actor=requestor, data_request=r)
    services.request_comments(actor=steward, data_request=r, reviewer=reviewer, question="Is the scope right?")
    page = _client(reviewer).get(reverse("web:staff_dashboard")).content.decode()
    assert 'data-area="staff"' in page
    assert "Is the scope right?" in page and reverse("intake:detail", args=[r.public_id]) in page


def test_a_self_declared_legislative_requestor_waits_in_line_until_a_steward_confirms_them(steward) -> None:
    # Anyone can sign up as legislative staff; the priority waits for the agency's word.
    claimant = make_user("new@leg.example", organization=make_org("Joint Committee", OrganizationKind.LEGISLATURE))
    r = complete_request(claimant, title="Budget proviso", legislative=True)
    services.submit(actor=claimant, data_request=r)
    r.refresh_from_db()
    assert r.priority_rank == PRIORITY_OTHER
    page = _client(steward).get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "Confirm" in page and "works for Joint Committee" in page
    url = reverse("intake:verify_affiliation", args=[r.public_id])
    assert _client(claimant).post(url).status_code == 403  # not by themselves
    r.refresh_from_db()
    assert r.priority_rank == PRIORITY_OTHER
    response = _client(steward).post(url)
    assert response.status_code == 302
    r.refresh_from_db()
    claimant.refresh_from_db()
    assert r.priority_rank == PRIORITY_LEGISLATIVE
    assert claimant.affiliation_verified_by == steward
    assert AuditEvent.objects.filter(action="account.affiliation_verified", target_id=str(claimant.public_id)).exists()
    page = _client(steward).get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "works for Joint Committee" not in page  # nothing left to confirm


def test_a_confirmed_affiliation_ends_when_the_requestor_changes_organization(legislator) -> None:
    assert legislator.affiliation_verified_at is not None
    set_organization(actor=legislator, user=legislator, organization=make_org("Cascade University", OrganizationKind.UNIVERSITY))
    legislator.refresh_from_db()
    assert legislator.affiliation_verified_at is None
    set_organization(actor=None, user=legislator, organization=make_org("Senate Ways and Means Committee", OrganizationKind.LEGISLATURE))
    legislator.refresh_from_db()
    assert legislator.affiliation_verified_at is None  # back in a priority organization: confirmed again first
