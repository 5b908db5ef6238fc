"""A request's life through the services: validation, submission, the queue order, decisions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from datashare.audit.models import AuditEvent
from datashare.catalog.selectors import catalog, latest_school_year
from datashare.intake import services, validation
from datashare.intake.dates import add_business_days
from datashare.intake.errors import (
    AlreadyDecided,
    IncompleteRequest,
    InvalidTransition,
    NotPermitted,
)
from datashare.intake.models import (
    PRIORITY_AGENCY,
    PRIORITY_LEGISLATIVE,
    PRIORITY_OTHER,
    RequestKind,
    Status,
)
from datashare.intake.selectors import QueueFilters, queue
from tests.factories import make_user
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db


def test_the_latest_school_year_is_computed_from_the_loaded_years() -> None:
    assert latest_school_year() == 2025
    assert catalog().years[0] == 2010


def test_a_school_year_before_2009_10_is_refused_with_the_reason() -> None:
    selections, errors = validation.parse_grid(["gender:2008-09", "gender:2012-13"], latest=2025)
    assert selections == {"gender": [2013]}
    assert "before 2009-10" in errors[0] and "changes in tests and data structure" in errors[0]


def test_a_year_not_yet_loaded_is_refused() -> None:
    _, errors = validation.parse_grid(["gender:2030-31"], latest=2025)
    assert "latest school year loaded is 2024-25" in errors[0]


def test_end_before_start_and_terms_over_three_years_are_refused(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    with pytest.raises(IncompleteRequest) as exc:
        services.update_draft(actor=requestor, data_request=r, changes={"start_date": dt.date(2026, 1, 1), "end_date": dt.date(2025, 1, 1)})
    assert exc.value.errors["project"]["end_date"] == ["The end date must be after the start date."]
    with pytest.raises(IncompleteRequest) as exc:
        services.update_draft(actor=requestor, data_request=r, changes={"start_date": dt.date(2026, 1, 1), "end_date": dt.date(2029, 6, 1)})
    assert "at most three years" in exc.value.errors["project"]["end_date"][0]
    with pytest.raises(IncompleteRequest) as exc:
        services.update_draft(actor=requestor, data_request=r, changes={"start_date": dt.date(2026, 1, 1), "end_date": dt.date(2028, 6, 1)})
    assert exc.value.errors["project"]["duration_justification"] == ["A term longer than two years needs a justification."]


def test_a_direct_identifier_in_a_deidentified_request_is_refused(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    with pytest.raises(IncompleteRequest) as exc:
        services.update_draft(actor=requestor, data_request=r, changes={"selections": {"birth_date": [2020]}})
    assert "direct identifier" in exc.value.errors["data"]["el_birth_date"][0]


def test_an_element_not_collected_in_a_chosen_year_is_refused(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    with pytest.raises(IncompleteRequest) as exc:
        services.update_draft(actor=requestor, data_request=r, changes={"selections": {"foster_care": [2012]}})
    assert exc.value.errors["data"]["el_foster_care"] == ["Foster care is not available in 2011-12: it is collected from 2016-17."]


def test_a_sensitive_element_without_justification_blocks_submission(requestor) -> None:
    r = complete_request(requestor)
    services.update_draft(actor=requestor, data_request=r, changes={"justifications": {}})
    with pytest.raises(IncompleteRequest) as exc:
        services.submit(actor=requestor, data_request=r)
    assert exc.value.errors == {"data": {"just_homeless": ["Homeless is a sensitive element: explain why your project needs it."]}}


def test_identifiable_requests_must_name_and_explain_a_ferpa_exception(requestor) -> None:
    r = complete_request(requestor, kind=RequestKind.IDENTIFIABLE)
    with pytest.raises(IncompleteRequest) as exc:
        services.submit(actor=requestor, data_request=r)
    assert set(exc.value.errors["request"]) == {"ferpa_exception", "ferpa_explanation"}


def test_submission_freezes_a_version_and_emails_the_requestor(requestor, django_capture_on_commit_callbacks) -> None:
    r = complete_request(requestor)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.submit(actor=requestor, data_request=r)
    r.refresh_from_db()
    assert (r.status, r.version, version.number, r.priority_rank) == (Status.SUBMITTED, 1, 1, PRIORITY_OTHER)
    assert "Days absent: 2021-22, 2022-23" in version.snapshot["Data elements and school years"]
    assert [m.subject for m in mail.outbox][-1].endswith('Your data request is now "Submitted": Attendance and outcomes')
    # The link is absolute (SITE_URL): an email client has no page to resolve a path against.
    assert f"http://testserver/requests/{r.public_id}/" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="intake.submitted", target_id=str(r.public_id)).exists()


def test_the_queue_puts_legislative_requirements_first_then_agency_staff_then_the_order_received(requestor, legislator, steward) -> None:
    early = complete_request(requestor, title="University, first in")
    services.submit(actor=requestor, data_request=early)
    agency = complete_request(legislator, title="Legislative staff, no requirement")
    services.submit(actor=legislator, data_request=agency)
    required = complete_request(legislator, title="Legislative requirement", legislative=True)
    services.submit(actor=legislator, data_request=required)
    rows = list(queue(QueueFilters(), user=steward).page)
    assert [r.title for r in rows] == ["Legislative requirement", "Legislative staff, no requirement", "University, first in"]
    assert [r.priority_rank for r in rows] == [PRIORITY_LEGISLATIVE, PRIORITY_AGENCY, PRIORITY_OTHER]


def test_approving_with_narrowing_records_data_minimization(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    services.approve(actor=steward, data_request=r, approved_selections={"days_absent": [2023]})
    r.refresh_from_db()
    assert r.status == Status.APPROVED
    assert r.minimization == {"days_absent": [2022], "homeless": [2023]}
    event = AuditEvent.objects.get(action="intake.approved")
    assert event.new_values["minimization"] == {"days_absent": [2022], "homeless": [2023]}


def test_an_approval_cannot_add_data_that_was_not_requested(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    with pytest.raises(Exception, match="only narrow"):
        services.approve(actor=steward, data_request=r, approved_selections={"gender": [2023]})


def test_a_second_decision_says_who_already_decided(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    services.deny(actor=steward, data_request=r, reason="Available on the portal.")
    other = make_user("other@agency.gov", roles=["data_steward"], full_name="Olive Other")
    with pytest.raises(AlreadyDecided, match="already decided by Sam Steward"):
        services.approve(actor=other, data_request=r)


def test_a_denial_needs_a_reason_which_is_sent_to_the_requestor(requestor, steward, django_capture_on_commit_callbacks) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    with pytest.raises(IncompleteRequest):
        services.deny(actor=steward, data_request=r, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        services.deny(actor=steward, data_request=r, reason="The data are on the public portal.")
    assert "The data are on the public portal." in mail.outbox[-1].body


def test_changes_requested_then_resubmitted_keeps_the_queue_place_and_adds_a_version(requestor, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    first_submitted = _submitted_at(r)
    services.request_changes(actor=steward, data_request=r, comments={"project": "Narrow the research questions."})
    services.update_draft(actor=requestor, data_request=r, changes={"research_questions": "Does absence in grade 9 predict dropout?"})
    services.submit(actor=requestor, data_request=r)
    r.refresh_from_db()
    assert r.version == 2 and r.submitted_at == first_submitted
    assert [v.number for v in r.versions.all()] == [1, 2]


def _submitted_at(r):
    r.refresh_from_db()
    return r.submitted_at


def test_stewards_only_decide_and_requestors_only_withdraw_their_own(requestor, outsider, steward) -> None:
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    with pytest.raises(NotPermitted):
        services.approve(actor=requestor, data_request=r)
    with pytest.raises(NotPermitted):
        services.withdraw(actor=outsider, data_request=r)
    services.withdraw(actor=requestor, data_request=r)
    with pytest.raises(InvalidTransition):
        services.withdraw(actor=requestor, data_request=r)


def test_department_comments_are_due_in_five_business_days_by_default(requestor, steward) -> None:
    reviewer = make_user("dept@agency.gov", roles=["department_reviewer"])
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    cr = services.request_comments(actor=steward, data_request=r, reviewer=reviewer, question="Special ed elements OK?")
    assert cr.due_date == add_business_days(dt.date.today(), 5)
    assert add_business_days(dt.date(2026, 11, 27), 5) == dt.date(2026, 12, 4)  # Friday -> next Friday
    services.respond_to_comment_request(actor=reviewer, comment_request=cr, response="Fine.")


def test_a_new_requestor_names_a_new_organization_but_cannot_join_an_existing_one(requestor) -> None:
    newcomer = make_user("new@startup.org")
    with pytest.raises(Exception, match="already registered"):
        services.create_draft(actor=newcomer, title="T", organization_name="evergreen state university", organization_kind="university")
    r = services.create_draft(actor=newcomer, title="T", organization_name="Startup Research", organization_kind="nonprofit")
    assert r.organization.name == "Startup Research"


def test_loading_a_new_school_year_makes_it_requestable_without_any_form_change(requestor) -> None:
    from datashare.catalog.models import SourceLoad

    _, errors = validation.parse_grid(["gender:2025-26"], latest=latest_school_year())
    assert errors
    SourceLoad.objects.create(school_year=2026)
    selections, errors = validation.parse_grid(["gender:2025-26"], latest=latest_school_year())
    assert selections == {"gender": [2026]} and not errors


def test_the_suppressed_aggregate_short_form_needs_no_security_plan_or_data_manager(requestor) -> None:
    r = services.create_draft(actor=requestor, title="County tables", kind=RequestKind.SUPPRESSED_AGGREGATE)
    services.update_draft(
        actor=requestor,
        data_request=r,
        changes={
            "primary_contact": {"name": "Ada", "email": "ada@evergreen.edu", "phone": "1", "organization": "Evergreen", "title": "PI", "mailing_address": "Olympia"},
            "purpose": "County-level graduation tables.",
            "tables_requested": "Four-year graduation rate by county and race/ethnicity, 2023-24.",
        },
    )
    services.submit(actor=requestor, data_request=r)
    r.refresh_from_db()
    snap = r.versions.get().snapshot
    assert r.status == Status.SUBMITTED and "Data security" not in snap
    assert snap["Tables requested"] == ["Tables requested: Four-year graduation rate by county and race/ethnicity, 2023-24."]


def test_the_requestor_gets_an_email_at_every_change_of_status(requestor, steward, django_capture_on_commit_callbacks) -> None:
    r = complete_request(requestor)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(actor=requestor, data_request=r)
        services.assign(actor=steward, data_request=r, assignee=steward)
        services.request_changes(actor=steward, data_request=r, comments={"data": "Fewer years, please."})
        services.submit(actor=requestor, data_request=r)
        services.approve(actor=steward, data_request=r)
    other = complete_request(requestor, title="Second")
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(actor=requestor, data_request=other)
        services.withdraw(actor=requestor, data_request=other)
    to_requestor = [m.subject.split("] ", 1)[1] for m in mail.outbox if m.to == [requestor.email]]
    assert to_requestor == [
        'Your data request is now "Submitted": Attendance and outcomes',
        'Your data request is now "In review": Attendance and outcomes',
        'Your data request is now "Changes requested": Attendance and outcomes',
        'Your data request is now "Submitted": Attendance and outcomes',
        'Your data request is now "Approved": Attendance and outcomes',
        'Your data request is now "Submitted": Second',
        'Your data request is now "Withdrawn": Second',
    ]
    changes_mail = next(m for m in mail.outbox if m.to == [requestor.email] and "Changes requested" in m.subject)
    assert "- Data elements and school years: Fewer years, please." in changes_mail.body
