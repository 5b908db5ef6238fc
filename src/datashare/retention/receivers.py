"""Retention listens to intake and agreements; neither imports retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from datashare.agreements.signals import agreement_ended, agreement_executed
from datashare.intake.signals import request_submitted


def on_agreement_ended(sender: Any, agreement: Any, termination_date: dt.date, actor: Any = None, **kwargs: Any) -> None:
    from datashare.retention.destruction import schedule_destruction
    from datashare.retention.tasks import erase_agency_copies_task

    d = schedule_destruction(agreement=agreement, termination_date=termination_date, actor=actor)
    # Our own copies end with the agreement; the erasure touches files, so it runs in a task.
    transaction.on_commit(lambda: erase_agency_copies_task.enqueue(destruction_id=d.pk))


agreement_ended.connect(on_agreement_ended, dispatch_uid="retention.on_agreement_ended")


def on_agreement_executed(sender: Any, agreement: Any, actor: Any = None, **kwargs: Any) -> None:
    """34 CFR 99.32(a): the disclosure an executed agreement authorizes enters the record, with
    the parties (the authorized users), their legitimate interest (the agreement's purpose under
    its FERPA exception) and Exhibit A's elements and years."""
    from datashare.core import clock
    from datashare.retention.models import RecordKind
    from datashare.retention.services import record_disclosure

    exhibit = agreement.exhibit_a or {}
    years = sorted({int(y) for ys in exhibit.values() for y in (ys or [])})
    executed = agreement.executed_at or clock.now()
    record_disclosure(
        actor=actor,
        source_key=f"agreement:{agreement.public_id}",
        kind=RecordKind.DISCLOSURE,
        occurred_on=executed.date(),
        organization=agreement.organization.name,
        parties=[f"{au.name} ({au.role})" for au in agreement.authorized_users.all()],
        legitimate_interest=(agreement.purpose or agreement.title).strip() or agreement.title,
        ferpa_exception=agreement.ferpa_exception,
        agreement_number=agreement.label,
        elements=sorted(exhibit),
        school_years=years,
        # The agreement allows no re-disclosure; a future clause naming parties lands here.
        redisclosure_parties=[],
    )


agreement_executed.connect(on_agreement_executed, dispatch_uid="retention.on_agreement_executed")


def on_request_submitted(sender: Any, data_request: Any, actor: Any = None, **kwargs: Any) -> None:
    """34 CFR 99.32(a)(1): each *request* for access enters the record too, not only the
    disclosures that follow, with who asked, their stated interest and what they asked for.
    Once per request (a resubmission after changes is the same request). Suppressed aggregate
    tables are not education records (they are made safe to publish), so they are not recorded."""
    from datashare.intake.models import SHORT_FORM_KINDS
    from datashare.retention.models import RecordKind
    from datashare.retention.services import record_disclosure

    r = data_request
    if r.kind in SHORT_FORM_KINDS:
        return
    requestor = r.created_by
    parties = [f"{requestor.full_name or requestor.email} ({r.organization.name})"]
    contact = (r.primary_contact or {}).get("name", "").strip()
    if contact and contact not in parties[0]:
        parties.append(f"{contact} (primary contact)")
    selections = r.selections or {}
    record_disclosure(
        actor=actor,
        source_key=f"request:{r.public_id}",
        kind=RecordKind.REQUEST,
        occurred_on=(r.submitted_at or r.updated_at).date(),
        organization=r.organization.name,
        parties=parties,
        legitimate_interest=(r.purpose or r.title).strip() or r.title,
        ferpa_exception=r.ferpa_exception,
        elements=sorted(selections),
        school_years=sorted({int(y) for ys in selections.values() for y in (ys or [])}),
    )


request_submitted.connect(on_request_submitted, dispatch_uid="retention.on_request_submitted")
