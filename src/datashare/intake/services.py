"""Every write to a data sharing request: one function per transition (see ``transitions.py``).

Each locks the request row (``select_for_update``), checks the transition table, saves only the
changed fields and writes the audit event in the same transaction; emails go after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

from django.core.files.base import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from datashare.accounts.models import Organization, OrganizationKind, Role, User
from datashare.accounts.services import set_organization
from datashare.audit.services import record_event, save_changes
from datashare.catalog.selectors import catalog as load_catalog
from datashare.core.dates import DEFAULT_COMMENT_BUSINESS_DAYS, add_business_days
from datashare.core.notifications import send_notification
from datashare.intake import snapshot, validation
from datashare.intake.errors import (
    AlreadyDecided,
    Conflict,
    IncompleteRequest,
    IntakeError,
    InvalidTransition,
    NotPermitted,
)
from datashare.intake.models import (
    PRIORITY_AGENCY,
    PRIORITY_LEGISLATIVE,
    PRIORITY_OTHER,
    SHORT_FORM_KINDS,
    Attachment,
    AttachmentPurpose,
    CommentRequest,
    DataRequest,
    RequestKind,
    RequestVersion,
    Status,
)
from datashare.intake.signals import request_approved, request_submitted
from datashare.intake.transitions import DECISIONS, EDITABLE, OPEN_FOR_REVIEW, Action, target
from datashare.intake.uploads import sniff

# Fields a requestor may change in a draft, per step of the form.
EDITABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "request": ("title", "kind", "ferpa_exception", "ferpa_explanation", "legislative_requirement", "legislative_citation"),
    "contacts": ("primary_contact", "secondary_contact"),
    "project": (
        "purpose",
        "research_questions",
        "analyses",
        "benefit",
        "products",
        "sharing_plan",
        "pledge_to_share",
        "start_date",
        "end_date",
        "duration_justification",
    ),
    "data": ("selections", "justifications", "tables_requested"),
    "security": (
        "storage_location",
        "encryption_at_rest",
        "encryption_in_transit",
        "access_controls",
        "software",
        "delivery_formats",
        "people_with_access",
        "irb_approved",
        "irb_expires",
    ),
}
FIELD_STEP = {field: step for step, fields in EDITABLE_FIELDS.items() for field in fields}


def _url(r: DataRequest) -> str:
    return reverse("intake:detail", args=[r.public_id])


def _lock(data_request: DataRequest) -> DataRequest:
    return DataRequest.objects.select_for_update(of=("self",)).select_related("organization", "created_by").get(pk=data_request.pk)


def _check(locked: DataRequest, action: Action) -> Any:
    to = target(action, locked.status)
    if to is None:
        if action in DECISIONS and locked.decided_by_id is not None and locked.status in (
            Status.APPROVED,
            Status.DENIED,
            Status.CHANGES_REQUESTED,
        ):
            decider = User.objects.filter(pk=locked.decided_by_id).first()
            raise AlreadyDecided(by=str(decider) if decider else "another steward", status=locked.status)
        raise InvalidTransition(action=action.value, status=locked.status)
    return to


def _require_steward(actor: User) -> None:
    if not actor.has_role(Role.DATA_STEWARD):
        raise NotPermitted("Only data stewards review requests.")


# Separation of duties: roles whose work must stay independent of any request they could file.
# An auditor checks the record of every request and a signatory signs the agreement that follows
# approval; neither may be the requestor on the other side.
MAY_NOT_FILE = (Role.AUDITOR, Role.AGENCY_SIGNATORY)


def is_party(user: User, r: DataRequest) -> bool:
    """Whether ``user`` has a stake in the request: created it, manages its data, or is named
    as one of its contacts (by email, the only link a typed contact has to an account)."""
    if user.pk in (r.created_by_id, r.data_manager_id):
        return True
    email = user.email.strip().lower()
    return any(
        isinstance(c, dict) and str(c.get("email", "")).strip().lower() == email
        for c in (r.primary_contact, r.secondary_contact)
    )


def require_may_file(user: User) -> None:
    if user.has_role(*MAY_NOT_FILE):
        raise NotPermitted(
            "Auditors and agency signatories do not file data requests: their work must stay independent "
            "of the requests they audit or sign. Ask a colleague without that role to file it."
        )


def _require_independent(actor: User, r: DataRequest, doing: str) -> None:
    """Nobody reviews, decides or vouches for a request they are a party to (checked on the
    locked row, so a contact changed meanwhile cannot slip past)."""
    if is_party(actor, r):
        raise NotPermitted(f"You cannot {doing} a request you filed, manage the data for or are a contact on.")


def _require_owner(actor: User, r: DataRequest) -> None:
    if r.created_by_id != actor.pk:
        raise NotPermitted("Only the person who created this request can change it.")


def _text(place: str, field: str, value: str, *, label: str, limit: int = validation.LONG_TEXT) -> str:
    """Free text typed for a move (a reason, a comment): the same rules as the form's answers."""
    problems = validation.text_problems(value, limit=limit, label=label)
    if problems:
        raise IncompleteRequest({place: {field: problems}})
    return value


def _notify_status(r: DataRequest, *, extra: dict[str, Any] | None = None) -> None:
    # Only registered people of the request: typed contact addresses are not verified.
    manager_email = r.data_manager.email if r.data_manager_id and r.data_manager else ""
    send_notification(
        to=[r.created_by.email, manager_email],
        subject=f'Your data request is now "{r.get_status_display()}": {r.title}',
        template="intake_status_changed",
        context={
            "title": r.title,
            "status": r.get_status_display(),
            "url": _url(r),
            **(extra or {}),
        },
    )


# --- drafts ------------------------------------------------------------------------------


def create_draft(
    *,
    actor: User,
    title: str,
    kind: str = RequestKind.DEIDENTIFIED,
    organization_name: str = "",
    organization_kind: str = OrganizationKind.OTHER,
) -> DataRequest:
    """A new draft for the actor's organization. A requestor not yet in an organization names
    it here; an existing organization's name is refused (joining one is the agency's call)."""
    require_may_file(actor)
    errors: dict[str, list[str]] = {}
    if kind not in RequestKind.values:
        errors["kind"] = ["Choose the kind of data you are requesting."]
    title_problems = validation.text_problems(title, limit=validation.TEXT_LIMITS["title"], label="The title")
    if title_problems:
        errors["title"] = title_problems
    elif not title.strip():
        errors["title"] = ["Give the request a short title."]
    name = organization_name.strip()
    if actor.organization_id is None:
        name_problems = validation.text_problems(name, limit=validation.SHORT_TEXT, label="The organization's name")
        if name_problems:
            errors["organization_name"] = name_problems
        elif not name:
            errors["organization_name"] = ["Name the organization you are requesting for."]
        if organization_kind not in OrganizationKind.values or organization_kind == OrganizationKind.STATE_EDUCATION_AGENCY:
            errors["organization_kind"] = ["Choose the kind of organization."]
    if errors:
        raise IncompleteRequest({"request": errors})
    with transaction.atomic():
        if actor.organization_id is None:
            if Organization.objects.filter(name__iexact=name).exists():
                raise IncompleteRequest(
                    {
                        "request": {
                            "organization_name": [
                                f"{name} is already registered: ask the agency to add you to it, or contact its requestors."
                            ]
                        }
                    }
                )
            org = Organization.objects.create(name=name, kind=organization_kind)
            record_event(actor=actor, action="account.organization_created", target=org, new={"name": name, "kind": organization_kind})
            set_organization(actor=actor, user=actor, organization=org)
        assert actor.organization is not None
        primary, secondary = _remembered_contacts(actor)
        r = DataRequest.objects.create(
            organization=actor.organization,
            created_by=actor,
            title=title.strip(),
            kind=kind,
            primary_contact=primary,
            secondary_contact=secondary,
        )
        record_event(actor=actor, action="intake.draft_created", target=r, new={"title": r.title, "kind": kind})
    return r


def _remembered_contacts(actor: User) -> tuple[dict[str, str], dict[str, str]]:
    """The contacts of the actor's latest request for this organization (people rarely change
    between requests), else the actor's own details as the primary contact."""
    assert actor.organization is not None
    previous = (
        DataRequest.objects.filter(created_by=actor, organization=actor.organization)
        .exclude(primary_contact={})
        .order_by("-created_at", "-pk")
        .values("primary_contact", "secondary_contact")
        .first()
    )
    if previous:
        return dict(previous["primary_contact"] or {}), dict(previous["secondary_contact"] or {})
    return {
        "name": actor.full_name,
        "email": actor.email,
        "phone": actor.phone,
        "organization": actor.organization.name,
        "title": actor.title,
        "mailing_address": actor.organization.mailing_address,
    }, {}


def update_draft(*, actor: User, data_request: DataRequest, changes: dict[str, Any]) -> DataRequest:
    """Save answers to a draft (or a request sent back for changes). Wrong answers are refused
    with ``IncompleteRequest``; missing ones are fine until submission."""
    unknown = set(changes) - set(FIELD_STEP)
    if unknown:
        raise IntakeError(f"not editable: {', '.join(sorted(unknown))}")
    steps = {FIELD_STEP[f] for f in changes}
    if "kind" in changes:
        steps.add("data")  # a direct identifier chosen earlier may not fit the new kind
    # Read outside the row lock: the catalog changes rarely and only through the admin.
    cat = load_catalog() if "data" in steps else None
    with transaction.atomic():
        r = _lock(data_request)
        _require_owner(actor, r)
        if r.status not in EDITABLE:
            raise InvalidTransition(action="edit", status=r.status)
        if changes.get("kind") in SHORT_FORM_KINDS and "selections" not in changes and (r.selections or r.justifications):
            # Switching to suppressed aggregate tables: the student-level choices no longer
            # apply (the short form describes tables); dropping them is recorded below.
            changes = {**changes, "selections": {}, "justifications": {}}
        old = {f: getattr(r, f) for f in changes}
        for field, value in changes.items():
            setattr(r, field, value)
        errors: dict[str, dict[str, list[str]]] = {}
        for step in sorted(steps):
            errs = validation.check_step(step, r, cat, complete=False, has_policy=True)
            if errs:
                errors[step] = errs
        if errors:
            raise IncompleteRequest(errors)
        save_changes(actor=actor, obj=r, old=old, action="intake.draft_updated")
    return r



def designate_data_manager(*, actor: User, data_request: DataRequest, email: str) -> DataRequest:
    """Name the registered user directly responsible for the data; they must accept the role
    (the requestor naming themselves accepts by doing so)."""
    manager = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if manager is None:
        raise IncompleteRequest(
            {"contacts": {"data_manager_email": [f"No registered user has the email {email.strip()}: ask them to register first."]}}
        )
    # The data manager sees the request, so they must be of the requesting organization: no one
    # outside it ever sees its requests (FERPA boundary, see access.py).
    if manager.organization_id != data_request.organization_id:
        raise IncompleteRequest(
            {"contacts": {"data_manager_email": [f"The data manager must belong to {data_request.organization.name}."]}}
        )
    with transaction.atomic():
        r = _lock(data_request)
        _require_owner(actor, r)
        if r.status not in EDITABLE:
            raise InvalidTransition(action="edit", status=r.status)
        if r.data_manager_id == manager.pk:
            return r
        old = str(r.data_manager.email) if r.data_manager else None
        r.data_manager = manager
        r.data_manager_accepted_at = timezone.now() if manager.pk == actor.pk else None
        r.updated_at = timezone.now()
        r.save(update_fields=["data_manager", "data_manager_accepted_at", "updated_at"])
        record_event(
            actor=actor, action="intake.data_manager_designated", target=r, old={"data_manager": old}, new={"data_manager": manager.email}
        )
        if manager.pk != actor.pk:
            send_notification(
                to=[manager.email],
                subject=f"You were named data manager for: {r.title}",
                template="intake_data_manager",
                context={"title": r.title, "requestor": str(actor), "organization": r.organization.name, "url": _url(r)},
            )
    return r


def accept_data_manager_role(*, actor: User, data_request: DataRequest) -> DataRequest:
    with transaction.atomic():
        r = _lock(data_request)
        if r.data_manager_id != actor.pk:
            raise NotPermitted("Only the designated data manager can accept this role.")
        if r.data_manager_accepted_at is None:
            r.data_manager_accepted_at = timezone.now()
            r.save(update_fields=["data_manager_accepted_at"])
            record_event(actor=actor, action="intake.data_manager_accepted", target=r, new={"data_manager": actor.email})
    return r


def add_attachment(
    *, actor: User, data_request: DataRequest, purpose: str, upload: IO[bytes], name: str, size: int
) -> Attachment:
    """Check the file by content, store it under a random name outside the web root, then
    record it. The file is written before the transaction (no slow I/O under the row lock) and
    removed again if the transaction fails."""
    if purpose not in AttachmentPurpose.values:
        raise IncompleteRequest({"security": {"purpose": ["Unknown attachment purpose."]}})
    content_type = sniff(upload, size)
    if data_request.created_by_id != actor.pk:
        raise NotPermitted("Only the person who created this request can attach files.")
    attachment = Attachment(
        request=data_request,
        purpose=purpose,
        original_name=name[-200:],
        content_type=content_type,
        size=size,
        uploaded_by=actor,
    )
    attachment.file.save("upload", File(upload), save=False)
    try:
        with transaction.atomic():
            r = _lock(data_request)
            if r.status not in EDITABLE:
                raise InvalidTransition(action="edit", status=r.status)
            attachment.save()
            record_event(
                actor=actor,
                action="intake.attachment_added",
                target=r,
                new={"attachment": str(attachment.public_id), "purpose": purpose, "name": attachment.original_name, "size": size},
            )
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


# --- transitions -------------------------------------------------------------------------


def priority_rank_for(r: DataRequest) -> int:
    """Agency and legislative staff first, once a data steward has confirmed the requestor
    works for that organization (its kind is self-declared at sign-up)."""
    if not r.organization.is_priority or r.created_by.affiliation_verified_at is None:
        return PRIORITY_OTHER
    return PRIORITY_LEGISLATIVE if r.legislative_requirement else PRIORITY_AGENCY


def awaits_affiliation_check(r: DataRequest) -> bool:
    """The requestor claims an agency or legislative organization's priority, and no data
    steward has confirmed they work there yet."""
    return (
        r.organization.is_priority
        and r.created_by.affiliation_verified_at is None
        and r.created_by.organization_id == r.organization_id
    )


def verify_affiliation(*, actor: User, data_request: DataRequest) -> User:
    """A data steward confirms the requestor works for the organization they named, so
    their queued requests take the organization's priority (re-ranked here, in the same
    transaction as the audit event)."""
    if not actor.has_role(Role.DATA_STEWARD):
        raise NotPermitted("Only a data steward can confirm a requestor's organization.")
    if actor.pk == data_request.created_by_id:
        raise NotPermitted("You cannot confirm your own affiliation: another data steward must.")
    with transaction.atomic():
        _require_independent(actor, _lock(data_request), "confirm the affiliation on")
        requestor = User.objects.select_for_update().get(pk=data_request.created_by_id)
        if requestor.organization_id != data_request.organization_id:
            raise Conflict("the requestor no longer belongs to this request's organization")
        if requestor.affiliation_verified_at is None:
            requestor.affiliation_verified_at = timezone.now()
            requestor.affiliation_verified_by = actor
            requestor.save(update_fields=["affiliation_verified_at", "affiliation_verified_by"])
            record_event(
                actor=actor,
                action="account.affiliation_verified",
                target=requestor,
                new={"organization": data_request.organization.name},
            )
        queued = DataRequest.objects.select_for_update().filter(
            created_by=requestor, priority_rank__isnull=False
        )
        for r in queued.select_related("organization", "created_by"):
            rank = priority_rank_for(r)
            if rank != r.priority_rank:
                r.priority_rank = rank
                r.save(update_fields=["priority_rank"])
    return requestor


def submit(*, actor: User, data_request: DataRequest) -> RequestVersion:
    """Freeze the form as the next version and put it in the stewards' queue."""
    cat = load_catalog()
    with transaction.atomic():
        r = _lock(data_request)
        _require_owner(actor, r)
        to = _check(r, Action.SUBMIT)
        attachments = list(r.attachments.all())
        has_policy = any(a.purpose == AttachmentPurpose.SECURITY_POLICY for a in attachments)
        errors = validation.check_all(r, cat, complete=True, has_policy=has_policy)
        if errors:
            raise IncompleteRequest(errors)
        old_status = r.status
        previous_decider = r.decided_by
        now = timezone.now()
        r.status = to
        r.version += 1
        # Queue position is set at the first submission: a resubmission after requested
        # changes keeps its place in the order received.
        if r.submitted_at is None:
            r.submitted_at = now
        r.priority_rank = priority_rank_for(r)
        r.decided_by = None
        r.decided_at = None
        r.updated_at = now
        r.save(update_fields=["status", "version", "submitted_at", "priority_rank", "decided_by", "decided_at", "updated_at"])
        version = RequestVersion.objects.create(
            request=r, number=r.version, snapshot=snapshot.take(r, cat, attachments), submitted_at=now, submitted_by=actor
        )
        record_event(
            actor=actor,
            action="intake.submitted",
            target=r,
            old={"status": old_status},
            new={"status": r.status, "version": r.version, "priority_rank": r.priority_rank},
        )
        _notify_status(r)
        _notify_stewards_of_submission(r, previous_decider=previous_decider)
        transaction.on_commit(lambda: request_submitted.send(sender=DataRequest, data_request=r, actor=actor))
    return version


def _notify_stewards_of_submission(r: DataRequest, *, previous_decider: User | None) -> None:
    """A resubmission goes to the steward who asked for the changes and the assignee; a first
    submission (nobody on it yet) to every data steward, so it does not sit unseen."""
    people = [u for u in (previous_decider, r.assignee) if u is not None and u.is_active]
    if not people:
        people = list(User.objects.filter(role_grants__role=Role.DATA_STEWARD, is_active=True).distinct())
    resubmitted = r.version > 1
    send_notification(
        to=[u.email for u in people],
        subject=f"{'Resubmitted' if resubmitted else 'New request'} (version {r.version}): {r.title}",
        template="intake_submitted_steward",
        context={
            "title": r.title,
            "organization": r.organization.name,
            "kind": r.get_kind_display(),
            "version": r.version,
            "resubmitted": resubmitted,
            "reply": r.changes_reply if resubmitted else "",
            "url": _url(r),
        },
    )


def assign(*, actor: User, data_request: DataRequest, assignee: User | None) -> DataRequest:
    """Give the request to a reviewer; a submitted request moves into review."""
    _require_steward(actor)
    if assignee is not None and not assignee.has_role(Role.DATA_STEWARD):
        raise IncompleteRequest({"assign": {"assignee": [f"{assignee} is not a data steward."]}})
    with transaction.atomic():
        r = _lock(data_request)
        _require_independent(actor, r, "assign")
        if assignee is not None and is_party(assignee, r):
            raise NotPermitted(f"{assignee} filed this request, manages its data or is a contact on it: assign another steward.")
        if r.status not in (Status.SUBMITTED, Status.IN_REVIEW):
            raise InvalidTransition(action="assign", status=r.status)
        old = {"status": r.status, "assignee": r.assignee.email if r.assignee else None}
        fields = ["assignee", "updated_at"]
        r.assignee = assignee
        moved = r.status == Status.SUBMITTED
        if moved:
            r.status = _check(r, Action.START_REVIEW)
            fields.append("status")
        r.updated_at = timezone.now()
        r.save(update_fields=fields)
        record_event(
            actor=actor,
            action="intake.assigned",
            target=r,
            old=old,
            new={"status": r.status, "assignee": assignee.email if assignee else None},
        )
        if moved:
            _notify_status(r)
    return r


def _write_decision(r: DataRequest, *, actor: User, to: str, **fields: Any) -> str:
    """Save a steward's decision on the locked row (only the changed fields); returns the old status."""
    old_status = r.status
    r.status = to
    r.decided_by = actor
    r.decided_at = r.updated_at = timezone.now()
    for name, value in fields.items():
        setattr(r, name, value)
    r.save(update_fields=["status", "decided_by", "decided_at", "updated_at", *fields])
    return old_status


def approve(
    *, actor: User, data_request: DataRequest, approved_selections: dict[str, list[int]] | None = None, note: str = ""
) -> DataRequest:
    """Approve; anything removed from the requested elements or years is recorded as data
    minimization (on the request and in the audit event)."""
    _require_steward(actor)
    _text("decision", "reason", note, label="The note")
    with transaction.atomic():
        r = _lock(data_request)
        _require_independent(actor, r, "approve")
        to = _check(r, Action.APPROVE)
        requested = {k: sorted(v) for k, v in r.selections.items() if v}
        approved = requested if approved_selections is None else {k: sorted(v) for k, v in approved_selections.items() if v}
        widened = {k: sorted(set(v) - set(requested.get(k, []))) for k, v in approved.items()}
        widened = {k: v for k, v in widened.items() if v}
        if widened:
            raise IncompleteRequest(
                {"decision": {"approved_selections": ["An approval can only narrow what was requested, never add to it."]}}
            )
        if not approved and not r.is_short_form:
            raise IncompleteRequest({"decision": {"approved_selections": ["Approve at least one element, or deny the request."]}})
        removed = {k: sorted(set(v) - set(approved.get(k, []))) for k, v in requested.items()}
        removed = {k: v for k, v in removed.items() if v}
        old_status = _write_decision(r, actor=actor, to=to, decision_reason=note, approved_selections=approved, minimization=removed)
        record_event(
            actor=actor,
            action="intake.approved",
            target=r,
            old={"status": old_status, "requested": requested},
            new={"status": r.status, "approved": approved, "minimization": removed, "note": note},
        )
        _notify_status(r, extra={"reason": note, "minimized": bool(removed)})
        # Later apps (agreements: the draft Data Sharing Agreement) hook in here, after commit.
        transaction.on_commit(lambda: request_approved.send(sender=DataRequest, data_request=r, actor=actor))
    return r


def deny(*, actor: User, data_request: DataRequest, reason: str) -> DataRequest:
    _require_steward(actor)
    _text("decision", "reason", reason, label="The reason")
    if not reason.strip():
        raise IncompleteRequest({"decision": {"reason": ["Give the reason for the denial: it is sent to the requestor."]}})
    with transaction.atomic():
        r = _lock(data_request)
        _require_independent(actor, r, "deny")
        to = _check(r, Action.DENY)
        old_status = _write_decision(r, actor=actor, to=to, decision_reason=reason.strip())
        record_event(actor=actor, action="intake.denied", target=r, old={"status": old_status}, new={"status": r.status, "reason": r.decision_reason})
        _notify_status(r, extra={"reason": r.decision_reason})
    return r


def request_changes(*, actor: User, data_request: DataRequest, comments: dict[str, str]) -> DataRequest:
    """Send the request back with comments per section of the form."""
    _require_steward(actor)
    for section, text in comments.items():
        _text("decision", "comments", text, label=f"The comment on {validation.STEP_TITLES.get(section, 'the request')}")
    comments = {k: v.strip() for k, v in comments.items() if k in validation.STEP_TITLES and v and v.strip()}
    if not comments:
        raise IncompleteRequest({"decision": {"comments": ["Write at least one comment saying what to change."]}})
    with transaction.atomic():
        r = _lock(data_request)
        _require_independent(actor, r, "request changes to")
        to = _check(r, Action.REQUEST_CHANGES)
        # A reply to an earlier round of changes is answered by this one.
        old_status = _write_decision(r, actor=actor, to=to, change_comments=comments, changes_reply="")
        record_event(actor=actor, action="intake.changes_requested", target=r, old={"status": old_status}, new={"status": r.status, "comments": comments})
        _notify_status(r, extra={"comments": [(validation.STEP_TITLES[k], v) for k, v in comments.items()]})
    return r


def withdraw(*, actor: User, data_request: DataRequest, reason: str = "") -> DataRequest:
    _text("withdraw", "reason", reason, label="The reason")
    with transaction.atomic():
        r = _lock(data_request)
        _require_owner(actor, r)
        to = _check(r, Action.WITHDRAW)
        old_status = r.status
        r.status = to
        r.updated_at = timezone.now()
        r.save(update_fields=["status", "updated_at"])
        record_event(actor=actor, action="intake.withdrawn", target=r, old={"status": old_status}, new={"status": r.status, "reason": reason})
        _notify_status(r)
    return r


# --- department review ------------------------------------------------------------------


def request_comments(
    *, actor: User, data_request: DataRequest, reviewer: User, question: str = "", due_date: dt.date | None = None
) -> CommentRequest:
    """Ask a department reviewer for comments by a deadline (default: five business days)."""
    _require_steward(actor)
    question = question.strip()
    if not question:
        # An empty question gets an email that asks nothing: the reviewer cannot know what to read.
        raise IncompleteRequest({"comments": {"question": ["Say what the reviewer should look at."]}})
    if not reviewer.has_role(Role.DEPARTMENT_REVIEWER):
        raise IncompleteRequest({"comments": {"reviewer": [f"{reviewer} is not a department reviewer."]}})
    _text("comments", "question", question, label="The question")
    due = due_date or add_business_days(timezone.localdate(), DEFAULT_COMMENT_BUSINESS_DAYS)
    if due < timezone.localdate():
        raise IncompleteRequest({"comments": {"due_date": ["The deadline cannot be in the past."]}})
    if due > validation.LATEST_DATE:
        raise IncompleteRequest({"comments": {"due_date": ["Choose a deadline in this century."]}})
    with transaction.atomic():
        r = _lock(data_request)
        _require_independent(actor, r, "ask for comments on")
        if is_party(reviewer, r):
            raise NotPermitted(f"{reviewer} filed this request, manages its data or is a contact on it: ask another reviewer.")
        if r.status not in (Status.SUBMITTED, Status.IN_REVIEW):
            raise InvalidTransition(action="ask for comments on", status=r.status)
        cr = CommentRequest.objects.create(request=r, reviewer=reviewer, requested_by=actor, question=question, due_date=due)
        record_event(
            actor=actor,
            action="intake.comments_requested",
            target=r,
            new={"reviewer": reviewer.email, "due_date": due.isoformat(), "comment_request": str(cr.public_id)},
        )
        send_notification(
            to=[reviewer.email],
            subject=f"Comments requested by {due:%B %-d}: {r.title}",
            template="intake_comments_requested",
            context={"title": r.title, "question": question, "due": due.isoformat(), "url": _url(r), "steward": str(actor)},
        )
    return cr


def respond_to_comment_request(*, actor: User, comment_request: CommentRequest, response: str) -> CommentRequest:
    _text("comments", "response", response, label="Your comments")
    if not response.strip():
        raise IncompleteRequest({"comments": {"response": ["Write your comments."]}})
    with transaction.atomic():
        cr = CommentRequest.objects.select_for_update().select_related("request", "requested_by").get(pk=comment_request.pk)
        if cr.reviewer_id != actor.pk:
            raise NotPermitted("Only the reviewer asked can respond.")
        _require_independent(actor, cr.request, "comment on")
        if cr.responded_at is not None:
            raise Conflict("You already responded.")
        if cr.cancelled_at is not None:
            raise Conflict("the data steward cancelled this request for comments")
        if cr.request.status not in OPEN_FOR_REVIEW:
            raise Conflict("the request was already decided: your comments are no longer needed")
        cr.response = response.strip()
        cr.responded_at = timezone.now()
        cr.save(update_fields=["response", "responded_at"])
        record_event(actor=actor, action="intake.comments_given", target=cr.request, new={"comment_request": str(cr.public_id)})
        send_notification(
            to=[cr.requested_by.email],
            subject=f"Comments received: {cr.request.title}",
            template="intake_comments_given",
            context={"title": cr.request.title, "reviewer": str(actor), "url": _url(cr.request)},
        )
    return cr


def cancel_comment_request(*, actor: User, comment_request: CommentRequest) -> CommentRequest:
    """A steward withdraws a request for comments (a duplicate, or the wrong reviewer); the
    reviewer is told so they do not spend time on it. Kept, marked cancelled, for the record."""
    _require_steward(actor)
    with transaction.atomic():
        cr = CommentRequest.objects.select_for_update().select_related("request", "reviewer").get(pk=comment_request.pk)
        if cr.responded_at is not None:
            raise Conflict("the reviewer already responded; a response is kept")
        if cr.cancelled_at is not None:
            return cr
        cr.cancelled_at = timezone.now()
        cr.save(update_fields=["cancelled_at"])
        record_event(
            actor=actor,
            action="intake.comments_cancelled",
            target=cr.request,
            new={"comment_request": str(cr.public_id), "reviewer": cr.reviewer.email},
        )
        send_notification(
            to=[cr.reviewer.email],
            subject=f"Comments no longer needed: {cr.request.title}",
            template="intake_comments_cancelled",
            context={"title": cr.request.title, "steward": str(actor)},
        )
    return cr


def reply_to_changes(*, actor: User, data_request: DataRequest, message: str) -> DataRequest:
    """The requestor answers the requested changes (a question back, or what they will change);
    the steward who asked is emailed. The latest reply is shown with the request."""
    _text("reply", "message", message, label="Your reply")
    message = message.strip()
    if not message:
        raise IncompleteRequest({"reply": {"message": ["Write your reply."]}})
    with transaction.atomic():
        r = _lock(data_request)
        _require_owner(actor, r)
        if r.status != Status.CHANGES_REQUESTED:
            raise InvalidTransition(action="reply to requested changes on", status=r.status)
        old = r.changes_reply
        r.changes_reply = message
        r.updated_at = timezone.now()
        r.save(update_fields=["changes_reply", "updated_at"])
        record_event(actor=actor, action="intake.changes_replied", target=r, old={"reply": old}, new={"reply": message})
        decider = r.decided_by
        send_notification(
            to=[decider.email if decider else "", r.assignee.email if r.assignee else ""],
            subject=f"The requestor replied to your requested changes: {r.title}",
            template="intake_changes_replied",
            context={"title": r.title, "requestor": str(actor), "url": _url(r)},
        )
    return r
