"""Destruction of the data at the end of an agreement (step 6) and of the agency's own copies.

Destruction is due ``Agreement.destruction_days`` (45) after the agreement ended. The researcher
is reminded 30, 14, 7 and 1 days before the due date; once it has passed, the data stewards are
told, and again every week until the certificate comes. The sweep claims each row with a
conditional UPDATE (``core.scheduler.claim_due``), so two workers never send the same reminder.
The researcher signs Exhibit C online (every copy and medium, the method, the date, who); a
steward verifies it. The agency's own copies end when the agreement ends: the receivers of
``agency_copies_due`` (delivery: SFTP access, the package's data key, then its files; extracts:
the crosswalk key when no amendment is pending) say what they erased, and each line becomes our
own certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from datashare.accounts.middleware import user_has_mfa
from datashare.accounts.models import Role, User
from datashare.agreements.models import Agreement
from datashare.agreements.signals import agency_copies_due
from datashare.audit.services import record_event
from datashare.core import clock
from datashare.core.errors import Forbidden, ValidationFailed
from datashare.core.notifications import send_notification
from datashare.core.scheduler import claim_due
from datashare.core.transitions import TransitionTable
from datashare.retention import audit_actions as actions
from datashare.retention.models import (
    REMINDER_DAYS,
    AgencyCopyErasure,
    Destruction,
    DestructionItem,
    DestructionMethod,
)
from datashare.retention.models import (
    DestructionStatus as S,
)

DESTRUCTION: TransitionTable[str, str] = TransitionTable(
    "destruction",
    {
        "certify": ({S.PENDING}, S.CERTIFIED),
        "return": ({S.CERTIFIED}, S.PENDING),
        "verify": ({S.CERTIFIED}, S.VERIFIED),
    },
)
ESCALATE_EVERY = dt.timedelta(days=7)
REMINDER_HOUR = 9  # local time: a reminder arrives in the morning of its day



def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(REMINDER_HOUR)))


def _today(now: dt.datetime) -> dt.date:
    return timezone.localdate(now)


def _next_moment(d: Destruction, today: dt.date) -> dt.datetime:
    """The next unsent reminder on or after ``today``, else the day after the due date."""
    days = [n for n in REMINDER_DAYS if n not in d.reminders_sent and d.due - dt.timedelta(days=n) >= today]
    if days:
        return _moment(d.due - dt.timedelta(days=max(days)))
    return _moment(d.due + dt.timedelta(days=1))


def _researchers(agreement: Agreement) -> list[User]:
    people = {u.pk: u for u in User.objects.filter(Q(pk=agreement.data_request.created_by_id) | Q(pk=agreement.data_request.data_manager_id))}
    for au in agreement.authorized_users.select_related("user"):
        if au.user is not None:
            people[au.user.pk] = au.user
    return [u for u in people.values() if u.is_active]


def _stewards() -> list[User]:
    return list(User.objects.filter(role_grants__role=Role.DATA_STEWARD, is_active=True).distinct())


def is_researcher_on(user: User, agreement: Agreement) -> bool:
    return any(u.pk == user.pk for u in _researchers(agreement))


def schedule_destruction(*, agreement: Agreement, termination_date: dt.date, actor: User | None = None) -> Destruction:
    """Start the 45-day clock (idempotent: an agreement has one destruction)."""
    with transaction.atomic():
        due = termination_date + dt.timedelta(days=agreement.destruction_days)
        d, created = Destruction.objects.select_for_update().get_or_create(
            agreement=agreement, defaults={"termination_date": termination_date, "due": due}
        )
        if created:
            d.next_reminder_at = _next_moment(d, _today(clock.now()))
            d.save(update_fields=["next_reminder_at"])
            record_event(actor=actor, action=actions.DESTRUCTION_SCHEDULED, target=agreement, new={"termination_date": termination_date.isoformat(), "due": due.isoformat()})
    return d


def send_due_destruction_reminders(*, now: dt.datetime | None = None) -> int:
    """Remind researchers on the scheduled days and escalate overdue destruction; returns how
    many rows were acted on. Each row is claimed first, so concurrent sweeps never double-send."""
    now = now or clock.now()
    acted = 0
    due_rows = Destruction.objects.filter(status=S.PENDING)
    for claimed in claim_due(due_rows, "next_reminder_at", push=dt.timedelta(hours=1), now=now):
        with transaction.atomic():
            d = Destruction.objects.select_for_update().select_related("agreement__data_request").get(pk=claimed.pk)
            if d.status != S.PENDING:
                continue
            today = _today(now)
            days_left = (d.due - today).days
            url = reverse("retention:destruction", args=[d.public_id])
            if days_left < 0:
                first = d.escalated_at is None
                d.escalated_at = d.escalated_at or now
                d.next_reminder_at = now + ESCALATE_EVERY
                d.save(update_fields=["escalated_at", "next_reminder_at"])
                record_event(actor=None, action=actions.DESTRUCTION_ESCALATED, target=d.agreement, new={"due": d.due.isoformat(), "days_overdue": -days_left, "first": first})
                send_notification(
                    to=[u.email for u in _stewards()],
                    subject=f"Destruction overdue: agreement {d.agreement.label}",
                    template="destruction_overdue",
                    context={"agreement": d.agreement.label, "organization": d.agreement.organization.name, "due": d.due, "days": -days_left, "url": url},
                )
            else:
                # The reminder for the nearest threshold; any passed while nobody ran count as sent.
                sent = sorted({*d.reminders_sent, *(n for n in REMINDER_DAYS if n >= days_left)}, reverse=True)
                d.reminders_sent = sent
                d.next_reminder_at = _next_moment(d, today + dt.timedelta(days=1))
                d.save(update_fields=["reminders_sent", "next_reminder_at"])
                record_event(actor=None, action=actions.DESTRUCTION_REMINDED, target=d.agreement, new={"due": d.due.isoformat(), "days_left": days_left})
                send_notification(
                    to=[u.email for u in _researchers(d.agreement)],
                    subject=f"Destroy the data of agreement {d.agreement.label} by {d.due:%Y-%m-%d}",
                    template="destruction_reminder",
                    context={"agreement": d.agreement.label, "due": d.due, "days": days_left, "url": url},
                )
            acted += 1
    return acted


def _clean_items(items: Sequence[Mapping[str, Any]], today: dt.date, termination: dt.date) -> list[dict[str, str]]:
    errors: dict[str, list[str]] = {}
    clean = []
    for i, raw in enumerate(items, start=1):
        copy, medium = str(raw.get("copy", "")).strip(), str(raw.get("medium", "")).strip()
        method, by = str(raw.get("method", "")), str(raw.get("destroyed_by", "")).strip()
        day = raw.get("destroyed_on")
        problems = []
        if not copy or not medium or not by:
            problems.append("Name the copy, its medium and who destroyed it.")
        if method not in DestructionMethod.values:
            problems.append("Choose how it was destroyed.")
        elif method == DestructionMethod.SHREDDING and "paper" not in medium.lower() and "print" not in medium.lower():
            problems.append("Shredding is for paper; electronic media are overwritten, degaussed, crypto-erased or physically destroyed.")
        if not isinstance(day, dt.date) or day > today:
            problems.append("Give the date it was destroyed (not in the future).")
        if problems:
            errors[f"item-{i}"] = problems
        else:
            assert isinstance(day, dt.date)
            clean.append({"copy": copy, "medium": medium, "method": method, "destroyed_on": day.isoformat(), "destroyed_by": by})
    if not clean and not errors:
        errors["items"] = ["List every copy of the data and how it was destroyed."]
    if errors:
        raise ValidationFailed("destruction.items", "Correct the certificate's lines.", fields=errors)
    return clean


def certificate_digest(agreement: Agreement, items: list[dict[str, str]], typed_name: str) -> str:
    body = {"agreement": agreement.label, "items": items, "signed_by": typed_name}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def certify_destruction(
    *,
    actor: User,
    destruction: Destruction,
    items: Sequence[Mapping[str, Any]],
    typed_name: str,
    password: str,
    consent: bool = True,
    ip: str | None = None,
    user_agent: str = "",
) -> Destruction:
    """The researcher signs Exhibit C the way the agreement was signed (``agreements.services.sign``:
    consent to sign electronically, the name typed as on the account, IP and browser recorded),
    and enters their password again: the signature is an act of the signed-in person, not a click."""
    agreement = destruction.agreement
    if not consent:
        raise ValidationFailed("destruction.consent", "Confirm that you agree to sign electronically.", fields={"consent": ["Confirm that you agree to sign electronically."]})
    if not is_researcher_on(actor, agreement):
        raise Forbidden("destruction.not_researcher", "Only the agreement's authorized users certify its destruction.")
    today = _today(clock.now())
    clean = _clean_items(items, today, destruction.termination_date)
    name = " ".join(typed_name.split())
    expected = " ".join((actor.full_name or "").split())
    if not name or (expected and name.lower() != expected.lower()):
        raise ValidationFailed("destruction.signature", "Type your full name as it appears on your account.", fields={"typed_name": [f"Type your full name ({expected or 'as on your account'})."]})
    if not actor.check_password(password):
        raise ValidationFailed("destruction.password", "Your password is needed to sign.", fields={"password": ["That is not your password."]})
    with transaction.atomic():
        d = Destruction.objects.select_for_update().get(pk=destruction.pk)
        to = DESTRUCTION.check("certify", d.status)
        d.items.all().delete()  # a returned certificate is signed again in full
        DestructionItem.objects.bulk_create(
            DestructionItem(destruction=d, copy=i["copy"], medium=i["medium"], method=i["method"], destroyed_on=dt.date.fromisoformat(i["destroyed_on"]), destroyed_by=i["destroyed_by"]) for i in clean
        )
        old = {"status": d.status}
        d.status, d.certified_by, d.certified_at = to, actor, clock.now()
        d.typed_name, d.certificate_sha256, d.signer_ip = name, certificate_digest(agreement, clean, name), ip
        d.consented_at = d.certified_at
        d.auth_method = "session + password re-entered" + (" (MFA enrolled)" if user_has_mfa(actor) else "")
        d.signer_user_agent = user_agent[:500]
        d.next_reminder_at = None
        d.save(update_fields=["status", "certified_by", "certified_at", "typed_name", "certificate_sha256", "signer_ip", "consented_at", "auth_method", "signer_user_agent", "next_reminder_at"])
        record_event(actor=actor, action=actions.DESTRUCTION_CERTIFIED, target=agreement, old=old, new={"status": to, "items": len(clean), "sha256": d.certificate_sha256})
        send_notification(
            to=[u.email for u in _stewards()],
            subject=f"Certificate of data destruction signed: agreement {agreement.label}",
            template="destruction_certified",
            context={"agreement": agreement.label, "url": reverse("retention:destruction", args=[d.public_id])},
        )
    return d


def _require_verifier(actor: User, d: Destruction) -> None:
    if not actor.has_role(Role.DATA_STEWARD, Role.ADMINISTRATOR):
        raise Forbidden("destruction.not_steward", "Only a data steward verifies destruction.")
    if is_researcher_on(actor, d.agreement):
        raise Forbidden("destruction.own", "You cannot verify the destruction of your own agreement's data.")


def verify_destruction(*, actor: User, destruction: Destruction) -> Destruction:
    with transaction.atomic():
        d = Destruction.objects.select_for_update().get(pk=destruction.pk)
        _require_verifier(actor, d)
        to = DESTRUCTION.check("verify", d.status)
        old = {"status": d.status}
        d.status, d.verified_by, d.verified_at = to, actor, clock.now()
        d.save(update_fields=["status", "verified_by", "verified_at"])
        record_event(actor=actor, action=actions.DESTRUCTION_VERIFIED, target=d.agreement, old=old, new={"status": to})
    return d


def return_certificate(*, actor: User, destruction: Destruction, reason: str) -> Destruction:
    if not reason.strip():
        raise ValidationFailed("destruction.reason", "Say what must be corrected.", fields={"reason": ["Say what must be corrected."]})
    with transaction.atomic():
        d = Destruction.objects.select_for_update().get(pk=destruction.pk)
        _require_verifier(actor, d)
        to = DESTRUCTION.check("return", d.status)
        old = {"status": d.status}
        d.status, d.return_reason = to, reason.strip()
        d.next_reminder_at = _next_moment(d, _today(clock.now()))
        d.save(update_fields=["status", "return_reason", "next_reminder_at"])
        record_event(actor=actor, action=actions.DESTRUCTION_RETURNED, target=d.agreement, old=old, new={"status": to})
        send_notification(
            to=[u.email for u in _researchers(d.agreement)],
            subject=f"Certificate of data destruction returned: agreement {d.agreement.label}",
            template="destruction_returned",
            context={"agreement": d.agreement.label, "reason": d.return_reason, "url": reverse("retention:destruction", args=[d.public_id])},
        )
    return d


def erase_agency_copies(*, destruction: Destruction) -> list[AgencyCopyErasure]:
    """Ask every holder of our copies to erase them (outside any transaction: file I/O), then
    record each line of our own certificate with its audit event."""
    lines: list[Mapping[str, Any]] = []
    for _receiver, response in agency_copies_due.send(sender=Agreement, agreement=destruction.agreement):
        if isinstance(response, list):
            lines.extend(response)
    done = []
    with transaction.atomic():
        for line in lines:
            erasure = AgencyCopyErasure.objects.create(
                destruction=destruction, what=str(line["what"])[:200], method=str(line["method"]), detail=str(line.get("detail", "")), done_at=clock.now()
            )
            record_event(actor=None, action=actions.AGENCY_COPY_ERASED, target=destruction.agreement, new={"what": erasure.what, "method": erasure.method})
            done.append(erasure)
    return done


def overdue(today: dt.date | None = None) -> QuerySet[Destruction]:
    today = today or _today(clock.now())
    return Destruction.objects.filter(status=S.PENDING, due__lt=today)
