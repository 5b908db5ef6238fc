"""Every write to an agreement: one function per transition (see ``transitions.py``).

Each locks the agreement row (``select_for_update``) or claims it with a conditional UPDATE,
checks the transition table, saves only the changed fields and writes the audit event in the
same transaction; emails and signals go after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from datashare.accounts.models import User
from datashare.agreements import signals
from datashare.agreements.errors import (
    AgreementError,
    InvalidTransition,
    NotPermitted,
    PreflightFailed,
)
from datashare.agreements.models import (
    Agreement,
    AgreementStatus,
    AgreementTemplate,
    AuthorizedUser,
    NumberSequence,
)
from datashare.agreements.permissions import can_manage
from datashare.agreements.transitions import Action, target
from datashare.audit.services import record_event
from datashare.intake.models import DataRequest
from datashare.intake.models import Status as RequestStatus
from datashare.notifications import send_notification

# The longest term the agency signs (the reference agency's rule: at most three years).
MAX_TERM_YEARS = 3
DEFAULT_TEMPLATE_KEY = "dsa"
# The request's security answers that make Exhibit B, with their labels.
SECURITY_FIELDS: tuple[tuple[str, str], ...] = (
    ("storage_location", "Where the data will be stored"),
    ("encryption_at_rest", "Encryption at rest"),
    ("encryption_in_transit", "Encryption in transit"),
    ("access_controls", "Access controls"),
    ("software", "Software used"),
    ("people_with_access", "People with access"),
)
STANDARD_SECURITY_TERMS = (
    "The Recipient stores the data only in the location named in its security plan, encrypted at rest "
    "and in transit, on systems that require named accounts and multi-factor authentication. "
    "The Recipient keeps the data off portable devices and personal email, logs access, and reports any "
    "suspected unauthorized access or disclosure to the Agency within one business day. "
    "The Agency may audit the Recipient's compliance with these terms during the agreement and until "
    "the data are destroyed."
)


def detail_url(agreement: Agreement) -> str:
    return reverse("agreements:detail", args=[agreement.public_id])


def _lock(agreement: Agreement) -> Agreement:
    return (
        Agreement.objects.select_for_update(of=("self",))
        .select_related("organization", "data_request", "template")
        .get(pk=agreement.pk)
    )


def _check(locked: Agreement, action: Action) -> AgreementStatus:
    to = target(action, locked.status)
    if to is None:
        raise InvalidTransition(action=action.value, status=locked.status)
    return to


def _require_manager(actor: User | None) -> None:
    if actor is not None and not can_manage(actor):
        raise NotPermitted("Only data stewards prepare and send agreements.")


# --- templates ---------------------------------------------------------------------------


def bundled_template_body() -> str:
    from django.template.loader import get_template

    template = get_template("agreements/pdf/dsa_v1.html")
    return str(template.template.source)  # type: ignore[attr-defined]


def current_template(key: str = DEFAULT_TEMPLATE_KEY) -> AgreementTemplate:
    """The latest version of the agency's template; version 1 (the bundled text) if none yet."""
    latest = AgreementTemplate.objects.filter(key=key).order_by("-version").first()
    if latest is not None:
        return latest
    template, _ = AgreementTemplate.objects.get_or_create(
        key=key,
        version=1,
        defaults={"title": "Data Sharing Agreement", "body": bundled_template_body(), "security_terms": STANDARD_SECURITY_TERMS},
    )
    return template


def edit_template(*, actor: User, key: str = DEFAULT_TEMPLATE_KEY, title: str, body: str, security_terms: str) -> AgreementTemplate:
    """An edit is the next version; agreements already generated keep the version they have."""
    _require_manager(actor)
    from django.template import Template, TemplateSyntaxError

    try:
        Template(body)
    except TemplateSyntaxError as exc:
        raise AgreementError(f"The template does not render: {exc}") from None
    with transaction.atomic():
        current = current_template(key)
        current = AgreementTemplate.objects.select_for_update().get(pk=current.pk)
        latest = AgreementTemplate.objects.filter(key=key).order_by("-version").values_list("version", flat=True).first() or 0
        new = AgreementTemplate.objects.create(
            key=key, version=latest + 1, title=title.strip() or current.title, body=body, security_terms=security_terms, created_by=actor
        )
        record_event(actor=actor, action="agreements.template_edited", target=new, old={"version": latest}, new={"version": new.version})
    return new


# --- creation ----------------------------------------------------------------------------


def next_number(year: int) -> str:
    """``DSA-YYYY-NNNN``, sequential per year; call inside a transaction (the row lock holds
    until it commits, so two agreements created at once get different numbers)."""
    NumberSequence.objects.get_or_create(year=year)
    seq = NumberSequence.objects.select_for_update().get(year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"DSA-{year}-{seq.last:04d}"


def default_term(r: DataRequest, today: dt.date) -> tuple[dt.date, dt.date]:
    """From the requested start (not before today) to the requested end, at most three years."""
    start = max(r.start_date or today, today)
    limit = _add_years(start, MAX_TERM_YEARS) - dt.timedelta(days=1)
    end = min(r.end_date, limit) if r.end_date else limit
    return start, max(end, start)


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _terms_from_request(r: DataRequest) -> dict[str, Any]:
    scope = "\n\n".join(part for part in (r.research_questions, r.analyses) if part)
    return {
        "title": r.title,
        "purpose": r.purpose,
        "scope": scope,
        "ferpa_exception": r.ferpa_exception,
        # The steward's approved (possibly narrowed) selection, never the requested one.
        "exhibit_a": {k: sorted(v) for k, v in sorted(r.approved_selections.items()) if v},
        "exhibit_b": {field: getattr(r, field) for field, _ in SECURITY_FIELDS},
    }


def _authorized_people(r: DataRequest) -> list[tuple[User, str]]:
    people: list[tuple[User, str]] = [(r.created_by, "Principal investigator")]
    if r.data_manager_id and r.data_manager and r.data_manager_id != r.created_by_id:
        people.append((r.data_manager, "Data manager"))
    elif r.data_manager_id == r.created_by_id:
        people[0] = (r.created_by, "Principal investigator and data manager")
    return people


def create_from_request(*, actor: User | None, data_request: DataRequest) -> Agreement:
    """The draft agreement for an approved request (idempotent: a request keeps its one live
    agreement; a voided one is replaced through ``reissue``, not here)."""
    _require_manager(actor)
    with transaction.atomic():
        r = DataRequest.objects.select_for_update(of=("self",)).select_related("organization", "created_by", "data_manager").get(
            pk=data_request.pk
        )
        if r.status != RequestStatus.APPROVED:
            raise AgreementError("Only an approved request gets an agreement.")
        existing = r.agreements.order_by("-version").first()
        if existing is not None:
            return existing
        template = current_template()
        today = timezone.localdate()
        start, end = default_term(r, today)
        agreement = Agreement.objects.create(
            number=next_number(today.year),
            data_request=r,
            organization=r.organization,
            template=template,
            created_by=actor,
            term_start=start,
            term_end=end,
            requestor_signatory=r.created_by,
            **_terms_from_request(r),
        )
        AuthorizedUser.objects.bulk_create(
            AuthorizedUser(agreement=agreement, user=u, name=str(u), email=u.email, role=role) for u, role in _authorized_people(r)
        )
        record_event(
            actor=actor,
            action="agreements.created",
            target=agreement,
            new={
                "number": agreement.number,
                "request": str(r.public_id),
                "template_version": template.version,
                "term": [start.isoformat(), end.isoformat()],
                "exhibit_a": agreement.exhibit_a,
            },
        )
        _notify(
            agreement,
            to=[r.assignee.email if r.assignee_id and r.assignee else "", actor.email if actor else ""],
            subject=f"Agreement {agreement.number} drafted: {agreement.title}",
            template="agreements_drafted",
        )
        transaction.on_commit(lambda: signals.agreement_created.send(sender=Agreement, agreement=agreement, actor=actor))
    return agreement


def _notify(agreement: Agreement, *, to: list[str], subject: str, template: str, extra: dict[str, Any] | None = None) -> None:
    send_notification(
        to=to,
        subject=subject,
        template=template,
        context={"number": agreement.label, "title": agreement.title, "status": agreement.get_status_display(), "url": detail_url(agreement), **(extra or {})},
    )


# --- the draft ---------------------------------------------------------------------------

EDITABLE_FIELDS = ("title", "purpose", "scope", "term_start", "term_end", "requestor_signatory")


def update_draft(*, actor: User, agreement: Agreement, changes: dict[str, Any]) -> Agreement:
    """The steward adjusts the draft's terms before sending (Exhibit A is the approval: it
    changes only through an amendment)."""
    _require_manager(actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise AgreementError(f"not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        a = _lock(agreement)
        _check(a, Action.EDIT)
        old = {f: getattr(a, f) for f in changes}
        for field, value in changes.items():
            setattr(a, field, value)
        _check_term(a)
        if a.requestor_signatory is not None and a.requestor_signatory.organization_id != a.organization_id:
            raise AgreementError(f"The requestor's signatory must belong to {a.organization.name}.")
        changed = [f for f in changes if old[f] != changes[f]]
        if changed:
            a.updated_at = timezone.now()
            a.save(update_fields=[*changed, "updated_at"])
            record_event(
                actor=actor,
                action="agreements.draft_updated",
                target=a,
                old={f: _jsonable(old[f]) for f in changed},
                new={f: _jsonable(changes[f]) for f in changed},
            )
    return a


def _check_term(a: Agreement) -> None:
    if a.term_start and a.term_end:
        if a.term_end < a.term_start:
            raise AgreementError("The term must end after it starts.")
        if a.term_end >= _add_years(a.term_start, MAX_TERM_YEARS):
            raise AgreementError(f"The term may be at most {MAX_TERM_YEARS} years.")
        r = a.data_request
        if r.end_date and a.term_end > r.end_date:
            raise AgreementError(f"The term may not end after the approved end date, {r.end_date:%B %-d, %Y}.")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, User):
        return value.email
    return value


def add_authorized_user(*, actor: User, agreement: Agreement, name: str, email: str, role: str) -> AuthorizedUser:
    _require_manager(actor)
    if not name.strip() or not role.strip():
        raise AgreementError("Give the authorized user's name and role.")
    with transaction.atomic():
        a = _lock(agreement)
        _check(a, Action.EDIT)
        user = User.objects.filter(email__iexact=email.strip()).first() if email.strip() else None
        au = AuthorizedUser.objects.create(agreement=a, user=user, name=name.strip(), email=email.strip(), role=role.strip())
        record_event(actor=actor, action="agreements.authorized_user_added", target=a, new={"name": au.name, "email": au.email, "role": au.role})
    return au


def remove_authorized_user(*, actor: User, authorized_user: AuthorizedUser) -> None:
    _require_manager(actor)
    with transaction.atomic():
        a = _lock(authorized_user.agreement)
        _check(a, Action.EDIT)
        old = {"name": authorized_user.name, "email": authorized_user.email, "role": authorized_user.role}
        AuthorizedUser.objects.filter(pk=authorized_user.pk, agreement=a).delete()
        record_event(actor=actor, action="agreements.authorized_user_removed", target=a, old=old)


# --- pre-flight --------------------------------------------------------------------------

# FERPA's written-agreement elements, 34 CFR 99.31(a)(6)(iii)(C) (studies) and 99.35(a)(3)
# (audit/evaluation): the section id the template must contain, and what it is called.
REQUIRED_SECTIONS: tuple[tuple[str, str], ...] = (
    ("purpose", "the purpose of the study"),
    ("scope", "the scope of the study"),
    ("duration", "the duration of the agreement"),
    ("information", "the information to be disclosed"),
    ("use", "use of the data only for the stated purpose"),
    ("access", "access only by authorized representatives"),
    ("destruction", "destruction of the data with its time period"),
    ("publication", "sharing results before publication"),
    ("exhibit-a", "Exhibit A (data elements and school years)"),
    ("exhibit-b", "Exhibit B (security requirements)"),
    ("exhibit-c", "Exhibit C (Certification of Data Destruction)"),
)


def preflight(agreement: Agreement) -> list[str]:
    """What is missing before the agreement may go out, in words; empty when it may be sent."""
    a = agreement
    missing: list[str] = []
    if not a.purpose.strip():
        missing.append("the purpose of the study")
    if not a.scope.strip():
        missing.append("the scope of the study")
    if a.term_start is None or a.term_end is None:
        missing.append("the duration (term start and end)")
    if not any(a.exhibit_a.values()):
        missing.append("Exhibit A is empty (no approved data elements and years)")
    if not a.authorized_users.exists():
        missing.append("the authorized representatives (no authorized users)")
    if not any(str(v).strip() for v in a.exhibit_b.values()) and not a.template.security_terms.strip():
        missing.append("Exhibit B is empty (no security requirements)")
    if not a.destruction_days:
        missing.append("the time period for destroying the data")
    body = a.template.body
    for section, label in REQUIRED_SECTIONS:
        if f'id="{section}"' not in body and label not in missing:
            missing.append(f"the template has no section for {label}")
    return missing


def require_preflight(agreement: Agreement) -> None:
    missing = preflight(agreement)
    if missing:
        raise PreflightFailed(missing)


def agency_name() -> str:
    return str(settings.AGENCY_NAME)
