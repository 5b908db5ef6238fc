"""Every change to shared results: one service each, row lock, transition table, audit event.

The agency checks a product for disclosure before release; it does not approve the findings
(the reference process, step 5). So a steward comments, asks for changes, or clears it for
release, and a version whose scan still blocks cannot be cleared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse

from datashare.accounts.models import Role, User
from datashare.agreements.models import Agreement
from datashare.audit.services import record_event
from datashare.core import clock
from datashare.core.errors import Conflict, Forbidden, ValidationFailed
from datashare.core.notifications import send_notification
from datashare.outputcheck import Limits, ScanError, scan_bytes
from datashare.outputcheck.readers import KINDS
from datashare.results import audit_actions as actions
from datashare.results.access import SHARING_STATUSES, can_review, is_researcher_on
from datashare.results.models import (
    CommentKind,
    ResultsComment,
    ResultsSubmission,
    ResultsVersion,
    ScanStatus,
)
from datashare.results.transitions import OPEN, RESULTS

# The pre-submission checklist (SACRO practice): the researcher confirms each before sending.
CHECKLIST: tuple[tuple[str, str], ...] = (
    ("small_cells", "Every count of 1 to 9 is suppressed (shown as \"N<10\") or groups are combined."),
    ("percentages", "Percentages, rates and means show no group under 10, and their numerators cannot be worked back to 1 to 9."),
    ("combinations", "No student, staff member or small school can be identified by combining tables, totals or earlier releases."),
    ("scope", "The product uses only the data elements and years of the agreement's Exhibit A."),
    ("review_role", "I understand the agency checks the product for disclosure and does not approve its findings."),
)
MAX_TITLE = 200


def review_days() -> int:
    return int(getattr(settings, "RESULTS_REVIEW_DAYS", 30))


def _today() -> dt.date:
    return clock.now().date()


def _max_bytes() -> int:
    from datashare.intake.uploads import max_upload_bytes  # the same limit as every upload

    return max_upload_bytes()


def _check_file(upload: IO[bytes], name: str, size: int) -> bytes:
    """The upload's bytes, if it is a CSV, XLSX, DOCX or PDF by name *and* content."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in KINDS:
        raise ValidationFailed("results.file_type", "Send a PDF, Word (.docx), Excel (.xlsx) or CSV file.", fields={"file": ["Send a PDF, Word (.docx), Excel (.xlsx) or CSV file."]})
    limit = _max_bytes()
    if size > limit:
        raise ValidationFailed("results.too_large", "The file is too large.", fields={"file": [f"The file is too large; the limit is {limit / 1e6:.1f} MB."]})
    upload.seek(0)
    data = upload.read(limit + 1)
    if not data:
        raise ValidationFailed("results.empty", "The file is empty.", fields={"file": ["The file is empty."]})
    looks = {
        ".pdf": data.lstrip()[:5] == b"%PDF-",
        ".xlsx": data[:4] == b"PK\x03\x04" and b"xl/" in data[:65536],
        ".docx": data[:4] == b"PK\x03\x04" and b"word/" in data[:65536],
        ".csv": b"\x00" not in data[:65536],
    }[suffix]
    if not looks:
        message = f"This is not really a {KINDS[suffix]} file."
        raise ValidationFailed("results.file_content", message, fields={"file": [message]})
    return data


def _lock(submission: ResultsSubmission) -> ResultsSubmission:
    return ResultsSubmission.objects.select_for_update().get(pk=submission.pk)


def _require_reviewer(actor: User, locked: ResultsSubmission) -> None:
    if not can_review(actor):
        raise Forbidden("results.not_reviewer", "Only a data steward reviews results.")
    # Separation of duties: nobody reviews results they sent or that come from their agreement.
    if locked.submitted_by_id == actor.pk or is_researcher_on(actor, locked.agreement):
        raise Forbidden("results.own", "You cannot review results from your own agreement.")


def _require_researcher(actor: User, agreement: Agreement) -> None:
    if not is_researcher_on(actor, agreement):
        raise Forbidden("results.not_researcher", "Only the agreement's authorized users send its results.")


def _enqueue_scan(version: ResultsVersion) -> None:
    from datashare.results.tasks import scan_results_version

    transaction.on_commit(lambda: scan_results_version.enqueue(version_id=version.pk))


def _notify_stewards(submission: ResultsSubmission, version: ResultsVersion) -> None:
    stewards = User.objects.filter(role_grants__role=Role.DATA_STEWARD, is_active=True).distinct()
    send_notification(
        to=[u.email for u in stewards],
        subject=f"Results to review (version {version.number}): {submission.title}",
        template="results_submitted",
        context={"title": submission.title, "agreement": submission.agreement.label, "version": version.number, "due": submission.review_due, "url": reverse("results:detail", args=[submission.public_id])},
    )


def _notify_researcher(submission: ResultsSubmission, what: str, body: str) -> None:
    send_notification(
        to=[submission.submitted_by.email],
        subject=f"Your results: {what}",
        template="results_decided",
        context={"title": submission.title, "what": what, "body": body, "url": reverse("results:detail", args=[submission.public_id])},
    )


def _new_version(*, actor: User, submission: ResultsSubmission, data: bytes, name: str, note: str, number: int) -> ResultsVersion:
    version = ResultsVersion(
        submission=submission,
        number=number,
        original_name=name[:200],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        note=note,
        uploaded_by=actor,
        uploaded_at=clock.now(),
    )
    version.file.save("results", File(io.BytesIO(data)), save=False)
    version.save()
    return version


def submit_results(
    *,
    actor: User,
    agreement: Agreement,
    title: str,
    checklist: Mapping[str, bool],
    upload: IO[bytes],
    name: str,
    size: int,
) -> ResultsSubmission:
    """A researcher sends a draft product; its scan runs after commit."""
    _require_researcher(actor, agreement)
    if agreement.status not in SHARING_STATUSES:
        raise Conflict("results.agreement_not_executed", "Results can be sent once the agreement is executed.")
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed("results.title", "Give the product a title.", fields={"title": ["Give the product a title (up to 200 characters)."]})
    missing = [key for key, _ in CHECKLIST if not checklist.get(key)]
    if missing:
        raise ValidationFailed("results.checklist", "Confirm every item of the checklist.", fields={key: ["Confirm this before sending."] for key in missing})
    data = _check_file(upload, name, size)
    with transaction.atomic():
        submission = ResultsSubmission.objects.create(
            agreement=agreement,
            title=title,
            submitted_by=actor,
            checklist={key: True for key, _ in CHECKLIST},
            created_at=clock.now(),
            review_due=_today() + dt.timedelta(days=review_days()),
        )
        version = _new_version(actor=actor, submission=submission, data=data, name=name, note="", number=1)
        record_event(actor=actor, action=actions.SUBMITTED, target=submission, new={"agreement": agreement.label, "title": title, "file": version.original_name, "sha256": version.sha256})
        _enqueue_scan(version)
        _notify_stewards(submission, version)
    return submission


def add_version(*, actor: User, submission: ResultsSubmission, upload: IO[bytes], name: str, size: int, note: str = "") -> ResultsVersion:
    """A corrected product: a new version, scanned, and back in review with a fresh window."""
    _require_researcher(actor, submission.agreement)
    data = _check_file(upload, name, size)
    with transaction.atomic():
        locked = _lock(submission)
        to = RESULTS.check("add_version", locked.status)
        last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = _new_version(actor=actor, submission=locked, data=data, name=name, note=note.strip(), number=last + 1)
        old = {"status": locked.status, "review_due": locked.review_due.isoformat()}
        locked.status = to
        locked.review_due = _today() + dt.timedelta(days=review_days())
        locked.save(update_fields=["status", "review_due"])
        record_event(actor=actor, action=actions.VERSION_ADDED, target=locked, old=old, new={"status": to, "version": version.number, "sha256": version.sha256, "review_due": locked.review_due.isoformat()})
        _enqueue_scan(version)
        _notify_stewards(locked, version)
    return version


def run_scan(*, version_id: int) -> ResultsVersion | None:
    """Scan one version (the task's body). Reads and scans outside any transaction; the result
    is written by a conditional UPDATE, so a retried task never scans a version twice."""
    from datashare.disclosure.policy import load_policy
    from datashare.outputcheck import Rules

    version = ResultsVersion.objects.filter(pk=version_id, scan_status=ScanStatus.PENDING).first()
    if version is None:
        return None
    limit = _max_bytes()
    with version.file.open("rb") as handle:
        data = handle.read(limit + 1)
    rules = Rules.from_policy(load_policy(getattr(settings, "RESULTS_DISCLOSURE_POLICY", "ospi")))
    values: dict[str, Any]
    try:
        report = scan_bytes(version.original_name, data, rules=rules, limits=Limits(max_bytes=limit))
        values = {"scan_status": ScanStatus.DONE, "findings": [f.as_dict() for f in report.findings], "notes": report.notes, "blocks": report.blocks, "warnings": report.warnings}
    except ScanError as exc:
        values = {"scan_status": ScanStatus.FAILED, "scan_error": str(exc)[:300]}
    with transaction.atomic():
        changed = ResultsVersion.objects.filter(pk=version.pk, scan_status=ScanStatus.PENDING).update(scanned_at=clock.now(), **values)
        if changed != 1:
            return None
        version.refresh_from_db()
        record_event(actor=None, action=actions.SCANNED, target=version.submission, new={"version": version.number, "scan": version.scan_status, "blocks": version.blocks, "warnings": version.warnings})
    return version


def comment(*, actor: User, submission: ResultsSubmission, body: str) -> ResultsComment:
    body = body.strip()
    if not body:
        raise ValidationFailed("results.comment_empty", "Write a comment.", fields={"body": ["Write a comment."]})
    with transaction.atomic():
        locked = _lock(submission)
        staff = can_review(actor)
        if staff:
            _require_reviewer(actor, locked)
        else:
            _require_researcher(actor, locked.agreement)
        if locked.status not in OPEN:
            raise Conflict("results.closed", f"The review is closed ({locked.get_status_display().lower()}).")
        latest = locked.versions.order_by("-number").values_list("number", flat=True).first() or 1
        note = ResultsComment.objects.create(submission=locked, version_number=latest, author=actor, kind=CommentKind.COMMENT if staff else CommentKind.RESPONSE, body=body, created_at=clock.now())
        record_event(actor=actor, action=actions.COMMENTED, target=locked, new={"version": latest})
        if staff:
            _notify_researcher(locked, "a comment from the agency", body)
    return note


def _decide(*, actor: User, submission: ResultsSubmission, action: str, kind: str, body: str) -> ResultsSubmission:
    with transaction.atomic():
        locked = _lock(submission)
        _require_reviewer(actor, locked)
        to = RESULTS.check(action, locked.status)
        latest = locked.versions.order_by("-number").first()
        assert latest is not None
        if action == "clear":
            if latest.scan_status == ScanStatus.PENDING:
                raise Conflict("results.scan_pending", "The check of the latest version has not finished yet.")
            if latest.scan_status == ScanStatus.FAILED:
                raise Conflict("results.scan_failed", "The latest version could not be read; ask for a readable file.")
            if latest.blocks:
                raise Conflict("results.blocked", f"The latest version still has {latest.blocks} blocking finding{'s' if latest.blocks != 1 else ''}; ask for changes.")
        old = {"status": locked.status}
        locked.status = to
        locked.decided_at = clock.now()
        locked.decided_by = actor
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        ResultsComment.objects.create(submission=locked, version_number=latest.number, author=actor, kind=kind, body=body, created_at=clock.now())
        record_event(actor=actor, action=actions.CLEARED if action == "clear" else actions.CHANGES_REQUESTED, target=locked, old=old, new={"status": to, "version": latest.number})
        _notify_researcher(locked, locked.get_status_display().lower(), body)
    return locked


def request_changes(*, actor: User, submission: ResultsSubmission, body: str) -> ResultsSubmission:
    if not body.strip():
        raise ValidationFailed("results.reason", "Say what must change.", fields={"body": ["Say what must change."]})
    return _decide(actor=actor, submission=submission, action="request_changes", kind=CommentKind.CHANGES_REQUESTED, body=body.strip())


def clear_for_release(*, actor: User, submission: ResultsSubmission, body: str = "") -> ResultsSubmission:
    return _decide(actor=actor, submission=submission, action="clear", kind=CommentKind.CLEARED, body=body.strip())


def withdraw(*, actor: User, submission: ResultsSubmission) -> ResultsSubmission:
    with transaction.atomic():
        locked = _lock(submission)
        if locked.submitted_by_id != actor.pk:
            raise Forbidden("results.not_submitter", "Only the person who sent the results withdraws them.")
        to = RESULTS.check("withdraw", locked.status)
        old = {"status": locked.status}
        locked.status = to
        locked.save(update_fields=["status"])
        record_event(actor=actor, action=actions.WITHDRAWN, target=locked, old=old, new={"status": to})
    return locked
