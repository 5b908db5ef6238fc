"""REST API for shared results: read-only, for whoever may see the submission (404 otherwise).

Researchers' scripts poll a draft's scan and review status; auditors list what was cleared.
Uploading and reviewing stay in the portal: an upload needs the pre-submission checklist
answered by a person, and a review decision needs a steward signed in with MFA.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from ninja import Router, Schema

from datashare.api.auth import api_user
from datashare.results.access import get_submission_for, visible_submissions
from datashare.results.models import ResultsComment, ResultsSubmission

router = Router(tags=["results"])


class VersionOut(Schema):
    number: int
    file_name: str
    size: int
    sha256: str
    note: str
    uploaded_at: dt.datetime
    scan_status: str
    blocks: int
    warnings: int
    findings: list[dict[str, Any]]


class CommentOut(Schema):
    kind: str
    author: str
    body: str
    created_at: dt.datetime


class SubmissionOut(Schema):
    id: UUID
    title: str
    agreement: str
    status: str
    review_due: dt.date
    created_at: dt.datetime
    decided_at: dt.datetime | None
    versions: list[VersionOut]
    comments: list[CommentOut]


def _details() -> tuple[str | Prefetch, ...]:
    # One query each for versions and comments (with their authors), however many submissions.
    return ("versions", Prefetch("comments", queryset=ResultsComment.objects.select_related("author")))


def _out(s: ResultsSubmission) -> SubmissionOut:
    return SubmissionOut(
        id=s.public_id,
        title=s.title,
        agreement=s.agreement.label,
        status=s.status,
        review_due=s.review_due,
        created_at=s.created_at,
        decided_at=s.decided_at,
        versions=[
            VersionOut(
                number=v.number, file_name=v.original_name, size=v.size, sha256=v.sha256, note=v.note,
                uploaded_at=v.uploaded_at, scan_status=v.scan_status, blocks=v.blocks,
                warnings=v.warnings, findings=list(v.findings),
            )
            for v in s.versions.all()
        ],
        comments=[
            CommentOut(kind=c.kind, author=str(c.author), body=c.body, created_at=c.created_at)
            for c in s.comments.all()
        ],
    )


@router.get("/", response=list[SubmissionOut], summary="The results submissions the caller may see, newest first")
def list_results(request: HttpRequest, status: str = "") -> list[SubmissionOut]:
    rows = visible_submissions(api_user(request)).select_related("agreement").prefetch_related(*_details())
    if status:
        rows = rows.filter(status=status)
    return [_out(s) for s in rows.order_by("-created_at")[:200]]


@router.get("/{public_id}", response=SubmissionOut, summary="One submission with its versions, scan findings and comments")
def get_results(request: HttpRequest, public_id: UUID) -> SubmissionOut:
    submission = get_submission_for(api_user(request), public_id)  # with its agreement
    prefetch_related_objects([submission], *_details())  # not fetched a second time
    return _out(submission)
