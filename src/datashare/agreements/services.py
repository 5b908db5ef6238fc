"""Every write to an agreement: one function per transition (see ``transitions.py``).

Each locks the agreement row (``select_for_update``) or claims it with a conditional UPDATE,
checks the transition table, saves only the changed fields and writes the audit event in the
same transaction; emails and signals go after commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from datashare.accounts.middleware import user_has_mfa
from datashare.accounts.models import Role, User
from datashare.agreements import audit_actions, pdf, sealing, signals
from datashare.agreements.errors import (
    AgreementError,
    AlreadySigned,
    InvalidTransition,
    NotPermitted,
    OutOfOrder,
    PreflightFailed,
)
from datashare.agreements.models import (
    Agreement,
    AgreementStatus,
    AgreementTemplate,
    Amendment,
    AuthorizedUser,
    Department,
    NumberSequence,
    SignatureRoute,
    Signer,
    SignerParty,
    SignerStatus,
    WorkItem,
    WorkItemKind,
    WorkItemRule,
    WorkItemStatus,
)
from datashare.agreements.permissions import can_manage, is_party
from datashare.agreements.transitions import Action, target
from datashare.audit.services import record_event, save_changes
from datashare.core import clock
from datashare.core.dates import add_business_days
from datashare.core.notifications import send_notification
from datashare.intake.models import SHORT_FORM_KINDS, DataRequest, DeliveryFormat
from datashare.intake.models import Status as RequestStatus

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


def delivery_formats_term(r: DataRequest) -> list[str]:
    """The files the agreement promises besides Parquet and CSV: the requestor's choice on the
    request, or the agency's default (EXTRACT_FORMATS) when they did not answer. Resolved when
    the agreement is drafted, so a later change of either does not change what is delivered."""
    chosen = r.delivery_formats if r.delivery_formats is not None else settings.EXTRACT_FORMATS
    return [f for f in DeliveryFormat.values if f in chosen]


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
        "delivery_formats": delivery_formats_term(r),
    }


def _authorized_people(r: DataRequest) -> list[tuple[User, str]]:
    people: list[tuple[User, str]] = [(r.created_by, "Principal investigator")]
    if r.data_manager_id and r.data_manager and r.data_manager_id != r.created_by_id:
        people.append((r.data_manager, "Data manager"))
    elif r.data_manager_id == r.created_by_id:
        people[0] = (r.created_by, "Principal investigator and data manager")
    return people


# Suppressed aggregate tables need no agreement (the reference process asks for one only for
# student-level data and aggregates without disclosure avoidance): the one place this is decided.
KINDS_WITHOUT_AGREEMENT = SHORT_FORM_KINDS


def needs_agreement(r: DataRequest) -> bool:
    return r.kind not in KINDS_WITHOUT_AGREEMENT


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
        if not needs_agreement(r):
            raise AgreementError("Suppressed aggregate tables need no data sharing agreement.")
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
                "delivery_formats": agreement.delivery_formats,
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
        save_changes(actor=actor, obj=a, old=old, action="agreements.draft_updated")
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


# --- routing and sending -----------------------------------------------------------------


def _route_people(a: Agreement) -> list[tuple[str, User, str]]:
    """(party, user, role label) in signing order: the agency's active route, else the default
    (requestor's signatory, data manager, then every agency signatory)."""
    r = a.data_request
    signatory = a.requestor_signatory or r.created_by
    route = SignatureRoute.objects.filter(active=True).prefetch_related("steps__user").first()
    steps: list[tuple[str, User | None, str]]
    if route is not None and route.steps.exists():
        steps = [(s.party, s.user, s.role_label) for s in route.steps.all()]
    else:
        steps = [
            (SignerParty.REQUESTOR_SIGNATORY, None, "Authorized signatory, " + a.organization.name),
            (SignerParty.DATA_MANAGER, None, "Data manager, " + a.organization.name),
        ]
        agency = User.objects.filter(role_grants__role=Role.AGENCY_SIGNATORY, is_active=True).order_by("pk")
        steps += [(SignerParty.AGENCY, u, u.title or "Agency signatory") for u in agency]
    people: list[tuple[str, User, str]] = []
    for party, user, label in steps:
        if party == SignerParty.REQUESTOR_SIGNATORY:
            user = signatory
        elif party == SignerParty.DATA_MANAGER:
            user = r.data_manager
        if user is None or any(p[1].pk == user.pk for p in people):
            continue  # no data manager, or the same person already signs (once is enough)
        people.append((party, user, label))
    return people


def _send_to(signer: Signer, a: Agreement, *, reminder: bool = False) -> None:
    send_notification(
        to=[signer.email],
        subject=("Reminder: " if reminder else "") + f"Please sign Data Sharing Agreement {a.label}",
        template="agreements_sign",
        context={
            "number": a.label,
            "title": a.title,
            "role": signer.role_label,
            "reminder": reminder,
            "sign_url": reverse("agreements:sign", args=[signer.public_id]),
        },
    )


def _store(data: bytes) -> str:
    """Write a PDF under a random name (before the transaction: no slow I/O under a row lock)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    return str(default_storage.save(f"agreements/{uuid.uuid4().hex}.pdf", ContentFile(data)))


def _discard(name: str) -> None:
    from django.core.files.storage import default_storage

    if name:
        default_storage.delete(name)


def send_for_signature(*, actor: User, agreement: Agreement) -> Agreement:
    """Pre-flight, render the PDF the signers will review, and send it to the first signer."""
    _require_manager(actor)
    a = Agreement.objects.select_related("organization", "data_request", "template").get(pk=agreement.pk)
    _check(a, Action.SEND)
    require_preflight(a)
    people = _route_people(a)
    if not any(party == SignerParty.AGENCY for party, _, _ in people):
        raise PreflightFailed(["an agency signatory in the signature route"])
    if actor.pk in (a.data_request.created_by_id, a.data_request.data_manager_id):
        # Separation of duties: staff who are also a request's requestor never act for the agency on it.
        raise NotPermitted("You cannot send an agreement for your own request.")
    data = pdf.render_agreement(a)  # slow: before the lock
    name = _store(data)
    try:
        with transaction.atomic():
            locked = _lock(a)
            to = _check(locked, Action.SEND)
            if locked.updated_at != a.updated_at:
                raise AgreementError("The draft changed while it was being prepared: send it again.")
            now = clock.now()
            locked.status = to
            locked.sent_at = now
            locked.document.name = name
            locked.document_sha256 = pdf.sha256(data)
            locked.updated_at = now
            locked.save(update_fields=["status", "sent_at", "document", "document_sha256", "updated_at"])
            locked.signers.all().delete()  # none: a draft was never sent (a re-issue is a new row)
            signers = Signer.objects.bulk_create(
                Signer(
                    agreement=locked,
                    position=i,
                    party=party,
                    user=user,
                    name=str(user),
                    email=user.email,
                    role_label=label,
                    status=SignerStatus.SENT if i == 1 else SignerStatus.WAITING,
                    sent_at=now if i == 1 else None,
                )
                for i, (party, user, label) in enumerate(people, start=1)
            )
            record_event(
                actor=actor,
                action=audit_actions.SENT,
                target=locked,
                old={"status": AgreementStatus.DRAFT},
                new={
                    "status": locked.status,
                    "document_sha256": locked.document_sha256,
                    "signers": [f"{s.position}. {s.email} ({s.role_label})" for s in signers],
                },
            )
            _send_to(signers[0], locked)
    except Exception:
        _discard(name)
        raise
    return locked


# --- signing -----------------------------------------------------------------------------


def _lock_signer(signer: Signer) -> tuple[Agreement, Signer]:
    # Agreement first, then its signer rows: every path takes the locks in this order.
    a = _lock(signer.agreement)
    s = Signer.objects.select_for_update().get(pk=signer.pk)
    return a, s


def _current_turn(a: Agreement) -> Signer | None:
    return a.signers.exclude(status=SignerStatus.SIGNED).order_by("position").first()


def record_view(*, actor: User, signer: Signer, ip: str | None = None, user_agent: str = "") -> Signer:
    """The signer opened the agreement to review it (the certificate's "viewed" time)."""
    with transaction.atomic():
        a, s = _lock_signer(signer)
        if s.user_id != actor.pk:
            raise NotPermitted("This signature link is for someone else.")
        if s.viewed_at is None and s.status == SignerStatus.SENT and a.status == AgreementStatus.OUT_FOR_SIGNATURE:
            s.viewed_at = clock.now()
            s.status = SignerStatus.VIEWED
            s.ip = ip or s.ip
            s.user_agent = user_agent[:500]
            s.save(update_fields=["viewed_at", "status", "ip", "user_agent"])
            record_event(actor=actor, action=audit_actions.VIEWED, target=a, new={"signer": s.email, "position": s.position})
    return s


def sign(
    *,
    actor: User,
    signer: Signer,
    typed_name: str,
    consent: bool,
    auth_method: str,
    ip: str | None = None,
    user_agent: str = "",
) -> Signer:
    """Sign in turn: only the signer it was sent to, only when every earlier signer has signed,
    only once, with the name typed and consent to sign electronically given."""
    if not consent:
        raise AgreementError("Confirm that you agree to sign electronically.", code="agreement.consent", status=422)
    with transaction.atomic():
        a, s = _lock_signer(signer)
        if s.user_id != actor.pk:
            raise NotPermitted("This signature link is for someone else.")
        if s.status == SignerStatus.SIGNED:
            raise AlreadySigned("You have already signed this agreement.")
        _check(a, Action.SIGN)
        turn = _current_turn(a)
        if turn is None or turn.pk != s.pk:
            raise OutOfOrder(f"It is not your turn to sign: {turn.name if turn else 'nobody'} signs first.")
        if actor.is_agency_staff and not user_has_mfa(actor):
            raise NotPermitted("Agency staff sign only with two-factor authentication enrolled.")
        if " ".join(typed_name.split()).casefold() != " ".join(s.name.split()).casefold():
            raise AgreementError(f"Type your name exactly as shown: {s.name}.", code="agreement.typed_name", status=422)
        now = clock.now()
        s.status = SignerStatus.SIGNED
        s.typed_name = " ".join(typed_name.split())
        s.consented_at = s.signed_at = now
        s.viewed_at = s.viewed_at or now
        s.auth_method = auth_method[:100]
        s.ip = ip or s.ip
        s.user_agent = (user_agent or s.user_agent)[:500]
        s.save(update_fields=["status", "typed_name", "consented_at", "signed_at", "viewed_at", "auth_method", "ip", "user_agent"])
        record_event(
            actor=actor,
            action=audit_actions.SIGNED,
            target=a,
            new={"signer": s.email, "position": s.position, "role": s.role_label, "auth_method": s.auth_method},
        )
        following = _current_turn(a)
        if following is not None:
            following.status = SignerStatus.SENT
            following.sent_at = now
            following.save(update_fields=["status", "sent_at"])
            _send_to(following, a)
        else:
            # The last signature: render, seal and execute after commit (slow I/O outside the
            # transaction); the periodic sweep retries it if that fails.
            pk = a.pk
            transaction.on_commit(lambda: _execute_later(pk))
    return s


def _execute_later(pk: int) -> None:
    from datashare.agreements.tasks import execute_agreement

    execute_agreement.enqueue(agreement_id=pk)


def decline(*, actor: User, signer: Signer, reason: str) -> Agreement:
    if not reason.strip():
        raise AgreementError("Say why you decline: the agency reads it.", code="agreement.reason", status=422)
    with transaction.atomic():
        a, s = _lock_signer(signer)
        if s.user_id != actor.pk:
            raise NotPermitted("This signature link is for someone else.")
        to = _check(a, Action.DECLINE)
        turn = _current_turn(a)
        if turn is None or turn.pk != s.pk:
            raise OutOfOrder("It is not your turn on this agreement.")
        s.status = SignerStatus.DECLINED
        s.decline_reason = reason.strip()
        s.save(update_fields=["status", "decline_reason"])
        old = a.status
        a.status = to
        a.updated_at = clock.now()
        a.save(update_fields=["status", "updated_at"])
        record_event(actor=actor, action=audit_actions.DECLINED, target=a, old={"status": old}, new={"status": a.status, "signer": s.email, "reason": s.decline_reason})
        _notify(a, to=_agency_contacts(a), subject=f"Agreement {a.label} declined by {s.name}", template="agreements_status", extra={"reason": s.decline_reason})
    return a


def _agency_contacts(a: Agreement) -> list[str]:
    r = a.data_request
    people = [a.created_by, r.assignee, r.decided_by]
    return [u.email for u in people if u is not None]


def _party_contacts(a: Agreement) -> list[str]:
    r = a.data_request
    return [r.created_by.email, r.data_manager.email if r.data_manager else ""]


# --- execution ---------------------------------------------------------------------------


def seal_config() -> sealing.SealConfig:
    return sealing.SealConfig(
        key_file=Path(settings.AGREEMENT_SIGNING_KEY_FILE),
        cert_file=Path(settings.AGREEMENT_SIGNING_CERT_FILE),
        ca_file=Path(settings.AGREEMENT_CA_CERT_FILE),
        tsa_url=settings.AGREEMENT_TSA_URL,
    )


def execute(*, agreement: Agreement, actor: User | None = None) -> Agreement:
    """Every signature is in: append the certificate of completion, seal the PDF with the
    agency's certificate, store it (its SHA-256 in the audit log), mark the agreement executed
    and create the departments' work items. Idempotent: an executed agreement is returned as is."""
    a = Agreement.objects.select_related("organization", "data_request", "template").get(pk=agreement.pk)
    if a.status != AgreementStatus.OUT_FOR_SIGNATURE:
        return a
    signers = list(a.signers.order_by("position"))
    if not signers or any(s.status != SignerStatus.SIGNED for s in signers):
        return a
    sealed = sealing.seal_pdf(
        pdf.render_completed(a, signers), seal_config(), reason=f"Data Sharing Agreement {a.label} executed", location=agency_name()
    )
    name = _store(sealed)
    try:
        with transaction.atomic():
            locked = _lock(a)
            if locked.status != AgreementStatus.OUT_FOR_SIGNATURE:
                _discard(name)  # another worker executed it first
                return locked
            to = _check(locked, Action.COMPLETE)
            now = clock.now()
            locked.status = to
            locked.executed_at = now
            locked.sealed_document.name = name
            locked.sealed_sha256 = pdf.sha256(sealed)
            locked.updated_at = now
            locked.save(update_fields=["status", "executed_at", "sealed_document", "sealed_sha256", "updated_at"])
            record_event(
                actor=actor,
                action=audit_actions.EXECUTED,
                target=locked,
                old={"status": AgreementStatus.OUT_FOR_SIGNATURE},
                new={"status": locked.status, "sealed_sha256": locked.sealed_sha256, "document_sha256": locked.document_sha256},
            )
            items = _create_work_items(locked, actor=actor)
            _notify(
                locked,
                to=[*_party_contacts(locked), *_agency_contacts(locked)],
                subject=f"Agreement {locked.label} executed",
                template="agreements_status",
                extra={"next_steps": NEXT_STEPS_EXECUTED},
            )
            for item in items:
                if item.assignee is not None:
                    send_notification(
                        to=[item.assignee.email],
                        subject=f"New work: {item.title} ({locked.label})",
                        template="agreements_work_item",
                        context={"department": item.get_department_display(), "work": item.title, "number": locked.label, "title": locked.title, "due": item.due_date.isoformat(), "queue_url": reverse("agreements:work_queue")},
                    )
            transaction.on_commit(lambda: signals.agreement_executed.send(sender=Agreement, agreement=locked, actor=actor))
    except Exception:
        _discard(name)
        raise
    return locked


NEXT_STEPS_EXECUTED = (
    "Student Information prepares your extract from the approved elements and years (Exhibit A). "
    "You will get an email when it is ready to download over SFTP. The data must be destroyed "
    "within 45 days of the agreement's end, with the signed Certification of Data Destruction (Exhibit C)."
)


def _create_work_items(a: Agreement, *, actor: User | None) -> list[WorkItem]:
    rules = list(WorkItemRule.objects.filter(active=True).select_related("assignee"))
    specs = [(r.department, r.kind, r.business_days, r.assignee) for r in rules] or [
        (Department.STUDENT_INFORMATION, WorkItemKind.PREPARE_EXTRACT, 5, None)
    ]
    today = timezone.localdate(clock.now())
    items = WorkItem.objects.bulk_create(
        WorkItem(
            agreement=a,
            department=department,
            kind=kind,
            title=f"{WorkItemKind(kind).label} for {a.label}",
            assignee=assignee,
            due_date=add_business_days(today, days),
        )
        for department, kind, days, assignee in specs
    )
    for item in items:
        record_event(
            actor=actor,
            action=audit_actions.WORK_ITEM_CREATED,
            target=a,
            new={"department": item.department, "kind": item.kind, "due_date": item.due_date.isoformat(), "assignee": item.assignee.email if item.assignee else None},
        )
    return items


WORK_ITEM_MOVES: dict[str, frozenset[str]] = {
    WorkItemStatus.OPEN: frozenset({WorkItemStatus.IN_PROGRESS, WorkItemStatus.DONE, WorkItemStatus.CANCELLED}),
    WorkItemStatus.IN_PROGRESS: frozenset({WorkItemStatus.DONE, WorkItemStatus.OPEN, WorkItemStatus.CANCELLED}),
    WorkItemStatus.DONE: frozenset(),
    WorkItemStatus.CANCELLED: frozenset(),
}


def update_work_item(*, actor: User, item: WorkItem, status: str, assignee: User | None = None) -> WorkItem:
    if not actor.is_agency_staff:
        raise NotPermitted("Only agency staff work the department queues.")
    with transaction.atomic():
        w = WorkItem.objects.select_for_update().get(pk=item.pk)
        if status not in WORK_ITEM_MOVES.get(w.status, frozenset()) and status != w.status:
            raise AgreementError(f"A work item that is {w.get_status_display().lower()} cannot become {status.replace('_', ' ')}.", code="work_item.not_allowed")
        old = {"status": w.status, "assignee": w.assignee.email if w.assignee else None}
        w.status = status
        if assignee is not None:
            w.assignee = assignee
        elif status == WorkItemStatus.IN_PROGRESS and w.assignee_id is None:
            w.assignee = actor
        w.completed_at = clock.now() if status == WorkItemStatus.DONE else None
        w.save(update_fields=["status", "assignee", "completed_at"])
        record_event(actor=actor, action=audit_actions.WORK_ITEM_UPDATED, target=w.agreement, old=old, new={"status": w.status, "assignee": w.assignee.email if w.assignee else None, "work_item": str(w.public_id)})
    return w


# --- void and re-issue -------------------------------------------------------------------


def void(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    _require_manager(actor)
    if not reason.strip():
        raise AgreementError("Give the reason for voiding.", code="agreement.reason", status=422)
    with transaction.atomic():
        a = _lock(agreement)
        to = _check(a, Action.VOID)
        old = a.status
        a.status = to
        a.voided_at = a.updated_at = clock.now()
        a.void_reason = reason.strip()
        a.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
        record_event(actor=actor, action=audit_actions.VOIDED, target=a, old={"status": old}, new={"status": a.status, "reason": a.void_reason})
        if old != AgreementStatus.DRAFT:
            _notify(a, to=[s.email for s in a.signers.all()], subject=f"Agreement {a.label} was voided", template="agreements_status", extra={"reason": a.void_reason})
    return a


def reissue(*, actor: User, agreement: Agreement) -> Agreement:
    """A voided agreement's next version, as a new draft (the voided one is kept as it was)."""
    _require_manager(actor)
    with transaction.atomic():
        a = _lock(agreement)
        _check(a, Action.REISSUE)
        if Agreement.objects.filter(replaces=a).exists():
            raise AgreementError(f"{a.label} was already re-issued.", code="agreement.already_reissued")
        new = Agreement.objects.create(
            number=a.number,
            version=a.version + 1,
            replaces=a,
            data_request=a.data_request,
            organization=a.organization,
            template=current_template(a.template.key),
            created_by=actor,
            title=a.title,
            purpose=a.purpose,
            scope=a.scope,
            ferpa_exception=a.ferpa_exception,
            term_start=a.term_start,
            term_end=a.term_end,
            exhibit_a=a.exhibit_a,
            exhibit_b=a.exhibit_b,
            # A version voided before the formats were a term states them now (it is re-sent).
            delivery_formats=a.delivery_formats if a.delivery_formats is not None else delivery_formats_term(a.data_request),
            destruction_days=a.destruction_days,
            requestor_signatory=a.requestor_signatory,
        )
        AuthorizedUser.objects.bulk_create(
            AuthorizedUser(agreement=new, user=u.user, name=u.name, email=u.email, role=u.role) for u in a.authorized_users.all()
        )
        record_event(actor=actor, action=audit_actions.REISSUED, target=new, old={"voided": a.label}, new={"number": new.number, "version": new.version})
    return new


# --- reminders, term ----------------------------------------------------------------------


def send_due_reminders(*, now: dt.datetime | None = None, business_days: int | None = None) -> int:
    """Remind every signer whose turn it is and who has not signed for ``business_days``
    (default ``AGREEMENT_REMINDER_BUSINESS_DAYS``), at most once per that period. Each reminder
    is claimed with a conditional UPDATE, so two sweeps never send the same one twice."""
    now = now or clock.now()
    days = business_days if business_days is not None else settings.AGREEMENT_REMINDER_BUSINESS_DAYS
    today = timezone.localdate(now)
    sent = 0
    waiting = Signer.objects.filter(
        status__in=[SignerStatus.SENT, SignerStatus.VIEWED], agreement__status=AgreementStatus.OUT_FOR_SIGNATURE
    ).select_related("agreement")
    for s in waiting:
        since = s.last_reminded_at or s.sent_at
        if since is None or add_business_days(timezone.localdate(since), days) > today:
            continue
        with transaction.atomic():
            won = Signer.objects.filter(pk=s.pk, last_reminded_at=s.last_reminded_at, status__in=[SignerStatus.SENT, SignerStatus.VIEWED]).update(last_reminded_at=now)
            if won != 1:
                continue
            record_event(actor=None, action=audit_actions.REMINDED, target=s.agreement, new={"signer": s.email, "position": s.position})
            _send_to(s, s.agreement, reminder=True)
            sent += 1
    return sent


def activate(*, agreement: Agreement, actor: User | None = None) -> Agreement:
    with transaction.atomic():
        a = _lock(agreement)
        to = _check(a, Action.ACTIVATE)
        a.status = to
        a.activated_at = a.updated_at = clock.now()
        a.save(update_fields=["status", "activated_at", "updated_at"])
        record_event(actor=actor, action=audit_actions.ACTIVATED, target=a, old={"status": AgreementStatus.EXECUTED}, new={"status": a.status})
    return a


def _end(a: Agreement, *, actor: User | None, action: Action, audit: str, termination_date: dt.date, reason: str) -> Agreement:
    to = _check(a, action)
    old = a.status
    a.status = to
    a.termination_date = termination_date
    a.end_reason = reason
    a.ended_by = actor
    a.updated_at = clock.now()
    a.save(update_fields=["status", "termination_date", "end_reason", "ended_by", "updated_at"])
    record_event(
        actor=actor,
        action=audit,
        target=a,
        old={"status": old},
        new={"status": a.status, "termination_date": termination_date.isoformat(), "destruction_due": a.destruction_due.isoformat() if a.destruction_due else None, "reason": reason},
    )
    _notify(
        a,
        to=[*_party_contacts(a), *_agency_contacts(a)],
        subject=f"Agreement {a.label} {a.get_status_display().lower()}",
        template="agreements_status",
        extra={"reason": reason, "next_steps": f"Destroy the data by {a.destruction_due:%B %-d, %Y} and return the signed Certification of Data Destruction (Exhibit C)."},
    )
    transaction.on_commit(lambda: signals.agreement_ended.send(sender=Agreement, agreement=a, termination_date=termination_date, actor=actor))
    return a


def expire(*, agreement: Agreement, actor: User | None = None) -> Agreement:
    """The term ran out: the termination date is the last day of the term."""
    with transaction.atomic():
        a = _lock(agreement)
        if a.term_end is None:
            raise AgreementError("The agreement has no end date.")
        return _end(a, actor=actor, action=Action.EXPIRE, audit=audit_actions.EXPIRED, termination_date=a.term_end, reason="The term ended.")


def terminate(*, actor: User, agreement: Agreement, reason: str, termination_date: dt.date | None = None) -> Agreement:
    """Early termination by either party (the agency's stewards, or the requesting side)."""
    if not reason.strip():
        raise AgreementError("Give the reason for ending the agreement early.", code="agreement.reason", status=422)
    with transaction.atomic():
        a = _lock(agreement)
        if not (can_manage(actor) or is_party(actor, a)):
            raise NotPermitted("Only the agency or the requesting organization can terminate this agreement.")
        day = termination_date or timezone.localdate(clock.now())
        if day < timezone.localdate(clock.now()):
            raise AgreementError("The termination date cannot be in the past.", code="agreement.date", status=422)
        return _end(a, actor=actor, action=Action.TERMINATE, audit=audit_actions.TERMINATED, termination_date=day, reason=reason.strip())


def activate_due(*, now: dt.datetime | None = None) -> list[Agreement]:
    today = timezone.localdate(now or clock.now())
    done = []
    for pk in Agreement.objects.filter(status=AgreementStatus.EXECUTED, term_start__lte=today).values_list("pk", flat=True)[:200]:
        try:
            done.append(activate(agreement=Agreement(pk=pk)))
        except InvalidTransition:
            continue  # ended or activated by someone else since the read
    return done


def expire_due(*, now: dt.datetime | None = None) -> list[Agreement]:
    """Agreements in force whose last day has passed (the status is checked again under the lock)."""
    today = timezone.localdate(now or clock.now())
    done = []
    for pk in Agreement.objects.filter(status__in=[AgreementStatus.EXECUTED, AgreementStatus.ACTIVE], term_end__lt=today).values_list("pk", flat=True)[:200]:
        try:
            done.append(expire(agreement=Agreement(pk=pk)))
        except InvalidTransition:
            continue
    return done


def execute_pending() -> list[Agreement]:
    """Retry executions that did not finish (a worker died between the last signature and the seal)."""
    pending = Agreement.objects.filter(status=AgreementStatus.OUT_FOR_SIGNATURE).exclude(signers__status__in=[SignerStatus.WAITING, SignerStatus.SENT, SignerStatus.VIEWED, SignerStatus.DECLINED])
    return [execute(agreement=a) for a in pending.filter(signers__isnull=False).distinct()[:20]]


# --- amendment ---------------------------------------------------------------------------


def request_amendment(*, actor: User, agreement: Agreement, description: str) -> Amendment:
    """Added years or elements: a new request, prefilled from the agreement's, that goes through
    review and references the agreement. (A new purpose needs a new request, not an amendment.)"""
    from datashare.intake import services as intake_services
    from datashare.intake.errors import IntakeError

    if not description.strip():
        raise AgreementError("Say what the amendment adds.", code="agreement.reason", status=422)
    a = Agreement.objects.select_related("data_request").get(pk=agreement.pk)
    if not is_party(actor, a):
        raise NotPermitted("Only the requesting organization asks for an amendment.")
    _check(a, Action.AMEND)
    r = a.data_request
    with transaction.atomic():
        draft = intake_services.create_draft(actor=actor, title=f"Amendment to {a.number}: {r.title}"[:200], kind=r.kind)
        copied = {f: getattr(r, f) for f in ("purpose", "research_questions", "analyses", "benefit", "products", "sharing_plan", "pledge_to_share", "start_date", "end_date", "selections", "justifications", "storage_location", "encryption_at_rest", "encryption_in_transit", "access_controls", "software", "people_with_access", "ferpa_exception", "ferpa_explanation", "primary_contact", "secondary_contact")}
        # The formats the agreement states (not the request's current answer): the amendment
        # starts from the terms in force.
        copied["delivery_formats"] = a.delivery_formats if a.delivery_formats is not None else r.delivery_formats
        try:
            with transaction.atomic():
                intake_services.update_draft(actor=actor, data_request=draft, changes=copied)
        except IntakeError:
            pass  # the requestor completes the copy on the form
        amendment = Amendment.objects.create(agreement=a, data_request=draft, description=description.strip(), requested_by=actor)
        record_event(actor=actor, action=audit_actions.AMENDMENT_REQUESTED, target=a, new={"request": str(draft.public_id), "description": amendment.description})
    return amendment
