"""Demo requests in every state, made through the real services (idempotent).

The people are the accounts seeder's demo users (``datashare.accounts.demo``), which runs first
(``datashare.demo.SEEDERS``): the README's table of demo users is the whole list.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, TextIO

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from datashare.accounts.models import User
from datashare.catalog.services import seed_catalog
from datashare.intake import services
from datashare.intake.models import AttachmentPurpose, DataRequest, FerpaException, RequestKind

_PDF = b"%PDF-1.4\n% demo security policy\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _demo_user(email: str) -> User:
    user = User.objects.select_related("organization").filter(email=email).first()
    if user is None:
        raise ImproperlyConfigured(f"{email} is missing: the accounts demo seeder must run before intake's.")
    return user


def _complete(user: User, title: str, *, kind: str = RequestKind.DEIDENTIFIED, legislative: bool = False, **extra: Any) -> DataRequest:
    r = services.create_draft(actor=user, title=title, kind=kind)
    assert user.organization is not None
    contact = {"name": user.full_name, "email": user.email, "phone": "360-555-0100", "organization": user.organization.name, "title": "Analyst", "mailing_address": "PO Box 1, Olympia WA 98504"}
    changes: dict[str, Any] = {
        "legislative_requirement": legislative,
        "legislative_citation": "ESSB 5187, sec. 501(4)" if legislative else "",
        "primary_contact": contact,
        "secondary_contact": {**contact, "name": "Second Contact", "email": "second@" + user.email.split("@")[1]},
        "purpose": "Understand how chronic absence relates to on-time graduation.",
        "research_questions": "1. Does ninth-grade absence predict dropout? 2. Do supports reduce it?",
        "analyses": "Descriptive statistics and discrete-time survival models.",
        "benefit": "Evidence for attendance policy across the state's districts.",
        "products": "A public report and a policy brief.",
        "sharing_plan": "Report published after the agency's review.",
        "pledge_to_share": True,
        "start_date": dt.date(2026, 1, 1),
        "end_date": dt.date(2027, 12, 31),
        "selections": {"grade_level": [2022, 2023, 2024], "days_absent": [2022, 2023, 2024], "outcome": [2024], "homeless": [2023, 2024]},
        "justifications": {"homeless": "Housing instability is a leading driver of chronic absence."},
        "storage_location": "Encrypted research server in the organization's data center",
        "encryption_at_rest": "AES-256 full-disk encryption",
        "encryption_in_transit": "SFTP and TLS 1.2+",
        "access_controls": "Named accounts with MFA, least privilege, quarterly review",
        "software": "R, Stata",
        "people_with_access": f"{user.full_name}, principal investigator",
        **extra,
    }
    services.update_draft(actor=user, data_request=r, changes=changes)
    services.designate_data_manager(actor=user, data_request=r, email=user.email)
    services.add_attachment(actor=user, data_request=r, purpose=AttachmentPurpose.SECURITY_POLICY, upload=io.BytesIO(_PDF), name="security-policy.pdf", size=len(_PDF))
    r.refresh_from_db()
    return r


def seed(out: TextIO | None = None) -> None:
    seed_catalog()
    researcher = _demo_user("researcher@university.example")
    analyst = _demo_user("staffer@legislature.example")
    steward = _demo_user("steward@agency.example")
    reviewer = _demo_user("reviewer@agency.example")
    if DataRequest.objects.filter(created_by=researcher).exists():
        if out is not None:
            out.write("intake: demo requests already seeded\n")
        return
    with transaction.atomic():
        _complete(researcher, "Draft: teacher mobility and student growth", purpose="")
        services.submit(actor=researcher, data_request=_complete(researcher, "Chronic absence and graduation"))
        r = _complete(researcher, "Dual-language program evaluation", kind=RequestKind.IDENTIFIABLE,
                      ferpa_exception=FerpaException.STUDIES, ferpa_explanation="A study on behalf of the agency to improve instruction in dual-language programs, under 34 CFR 99.31(a)(6).",
                      selections={"state_student_id": [2024], "grade_level": [2022, 2023, 2024], "outcome": [2024]},
                      justifications={})
        services.submit(actor=researcher, data_request=r)
        services.assign(actor=steward, data_request=r, assignee=steward)
        services.request_comments(actor=steward, data_request=r, reviewer=reviewer, question="Is the program evaluation scope right?")
        leg = _complete(analyst, "Learning assistance program outcomes (budget proviso)", legislative=True)
        services.submit(actor=analyst, data_request=leg)
        changes = _complete(researcher, "Dual credit and college enrollment")
        services.submit(actor=researcher, data_request=changes)
        services.request_changes(actor=steward, data_request=changes, comments={"project": "Please narrow the research questions to dual credit only.", "data": "Homeless status is not needed for this question."})
        resubmitted = _complete(researcher, "Math pathways (resubmitted)")
        services.submit(actor=researcher, data_request=resubmitted)
        services.request_changes(actor=steward, data_request=resubmitted, comments={"project": "Add the analyses planned for grade 8."})
        services.update_draft(actor=researcher, data_request=resubmitted, changes={"analyses": "Descriptive statistics; grade 8 math course-taking by school."})
        services.submit(actor=researcher, data_request=resubmitted)
        approved = _complete(analyst, "Graduation rates by program (legislative report)", legislative=True)
        services.submit(actor=analyst, data_request=approved)
        services.approve(actor=steward, data_request=approved, approved_selections={"grade_level": [2023, 2024], "days_absent": [2023, 2024], "outcome": [2024], "homeless": [2024]}, note="Approved for the two most recent years only.")
        denied = _complete(researcher, "School rankings for a news story", kind=RequestKind.AGGREGATE)
        services.submit(actor=researcher, data_request=denied)
        services.deny(actor=steward, data_request=denied, reason="Aggregate results by school are published on the Data Portal; unsuppressed cells cannot be shared for this purpose.")
        withdrawn = _complete(researcher, "Kindergarten readiness (withdrawn)")
        services.submit(actor=researcher, data_request=withdrawn)
        services.withdraw(actor=researcher, data_request=withdrawn, reason="Using published data instead.")
    if out is not None:
        out.write(
            f"intake: {DataRequest.objects.count()} demo requests created, one or more in every status;"
            f" sign in as {researcher.email}, {analyst.email} or {steward.email}\n"
        )
