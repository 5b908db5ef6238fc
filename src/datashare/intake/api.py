"""REST API for requests: requestors create, edit, submit and list their own; stewards list the
queue and decide. The same services as the web pages; outsiders get 404."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from datashare.accounts.models import Role
from datashare.api.auth import api_require_roles, api_user
from datashare.catalog.selectors import latest_school_year
from datashare.elements import format_school_year
from datashare.intake import selectors, services, validation
from datashare.intake.access import get_request_for
from datashare.intake.errors import IncompleteRequest, IntakeError, NotPermitted
from datashare.intake.models import DataRequest, RequestKind

# No auth here: the API's default (session with CSRF, or a bearer token) applies to every route.
router = Router(tags=["requests"])


class ContactIn(Schema):
    name: str = ""
    email: str = ""
    phone: str = ""
    organization: str = ""
    title: str = ""
    mailing_address: str = ""


class RequestCreate(Schema):
    title: str
    kind: RequestKind = RequestKind.DEIDENTIFIED
    organization_name: str = Field("", description="Only for a requestor not yet in an organization.")
    organization_kind: str = ""


class RequestUpdate(Schema):
    """Any subset of the form's answers. ``selections`` maps element identifiers to school-year
    labels ('2019-20'); years before 2009-10 are refused with the reason."""

    title: str | None = None
    kind: RequestKind | None = None
    ferpa_exception: str | None = None
    ferpa_explanation: str | None = None
    legislative_requirement: bool | None = None
    legislative_citation: str | None = None
    primary_contact: ContactIn | None = None
    secondary_contact: ContactIn | None = None
    data_manager_email: str | None = None
    purpose: str | None = None
    research_questions: str | None = None
    analyses: str | None = None
    benefit: str | None = None
    products: str | None = None
    sharing_plan: str | None = None
    pledge_to_share: bool | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    duration_justification: str | None = None
    selections: dict[str, list[str]] | None = None
    justifications: dict[str, str] | None = None
    storage_location: str | None = None
    encryption_at_rest: str | None = None
    encryption_in_transit: str | None = None
    access_controls: str | None = None
    software: str | None = None
    people_with_access: str | None = None
    irb_approved: bool | None = None
    irb_expires: dt.date | None = None


class RequestOut(Schema):
    id: UUID
    title: str
    kind: str
    status: str
    organization: str
    version: int
    submitted_at: dt.datetime | None
    priority_rank: int | None
    selections: dict[str, list[str]]
    approved_selections: dict[str, list[str]]
    decision_reason: str
    change_comments: dict[str, str]


class QueueItem(Schema):
    id: UUID
    title: str
    kind: str
    status: str
    organization: str
    priority_rank: int | None
    submitted_at: dt.datetime | None
    age_days: int | None
    assignee: str | None


class Decision(Schema):
    decision: Literal["approve", "deny", "request_changes"]
    reason: str = ""
    comments: dict[str, str] = Field(default_factory=dict, description="Per section: request, contacts, project, data, security.")
    approved_selections: dict[str, list[str]] | None = Field(None, description="Narrow what is approved (data minimization).")


class ErrorOut(Schema):
    detail: str
    errors: dict[str, dict[str, list[str]]] = Field(default_factory=dict)


def _labels(selections: dict[str, list[int]]) -> dict[str, list[str]]:
    return {k: [format_school_year(y) for y in v] for k, v in selections.items()}


def _out(r: DataRequest) -> dict[str, Any]:
    return {
        "id": r.public_id,
        "title": r.title,
        "kind": r.kind,
        "status": r.status,
        "organization": r.organization.name,
        "version": r.version,
        "submitted_at": r.submitted_at,
        "priority_rank": r.priority_rank,
        "selections": _labels(r.selections),
        "approved_selections": _labels(r.approved_selections),
        "decision_reason": r.decision_reason,
        "change_comments": r.change_comments,
    }


def _load(request: HttpRequest, public_id: UUID) -> DataRequest:
    try:
        return get_request_for(api_user(request), public_id)
    except Http404:
        raise HttpError(404, "No such request") from None


def _fail(exc: IntakeError) -> Status[dict[str, Any]]:
    if isinstance(exc, IncompleteRequest):
        return Status(422, {"detail": str(exc), "errors": exc.errors})
    if isinstance(exc, NotPermitted):
        return Status(403, {"detail": str(exc)})
    # AlreadyDecided ("already decided by ...") and invalid transitions: a conflict with the state.
    return Status(409, {"detail": str(exc)})


def _parse_selections(raw: dict[str, list[str]]) -> dict[str, list[int]]:
    values = [f"{k}:{label}" for k, labels in raw.items() for label in labels]
    parsed, errors = validation.parse_grid(values, latest=latest_school_year())
    if errors:
        raise IncompleteRequest({"data": {"selections": errors}})
    return parsed


@router.get("/", response=list[RequestOut], summary="My requests (created or managed by me)")
def list_mine(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(r) for r in selectors.my_requests(api_user(request))]


@router.post("/", response={201: RequestOut, 409: ErrorOut, 422: ErrorOut}, summary="Start a draft request")
def create(request: HttpRequest, payload: RequestCreate) -> Any:
    try:
        r = services.create_draft(
            actor=api_user(request),
            title=payload.title,
            kind=payload.kind,
            organization_name=payload.organization_name,
            organization_kind=payload.organization_kind,
        )
    except IntakeError as exc:
        return _fail(exc)
    return Status(201, _out(r))


@router.get("/queue", response=list[QueueItem], summary="The stewards' review queue, in review order")
def review_queue(
    request: HttpRequest, status: str = "", kind: str = "", organization: str = "", assignee: str = "", page: int = 1
) -> list[dict[str, Any]]:
    user = api_require_roles(request, Role.DATA_STEWARD)
    q = selectors.queue(
        selectors.QueueFilters(status=status, kind=kind, organization=organization, assignee=assignee),
        user=user,
        page_number=page,
    )
    return [
        {
            "id": r.public_id,
            "title": r.title,
            "kind": r.kind,
            "status": r.status,
            "organization": r.organization.name,
            "priority_rank": r.priority_rank,
            "submitted_at": r.submitted_at,
            "age_days": selectors.age_days(r),
            "assignee": str(r.assignee) if r.assignee else None,
        }
        for r in q.page
    ]


@router.get("/{public_id}", response=RequestOut, summary="One request I may see")
def read(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    return _out(_load(request, public_id))


@router.patch("/{public_id}", response={200: RequestOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}, summary="Edit my draft")
def update(request: HttpRequest, public_id: UUID, payload: RequestUpdate) -> Any:
    user = api_user(request)
    r = _load(request, public_id)
    data = payload.dict(exclude_unset=True)
    manager = data.pop("data_manager_email", None)
    try:
        if "selections" in data and data["selections"] is not None:
            data["selections"] = _parse_selections(data["selections"])
        changes = {k: ("" if v is None and k in ("ferpa_exception",) else v) for k, v in data.items()}
        changes = {k: v for k, v in changes.items() if v is not None or k in ("start_date", "end_date", "irb_expires")}
        if changes:
            r = services.update_draft(actor=user, data_request=r, changes=changes)
        if manager:
            r = services.designate_data_manager(actor=user, data_request=r, email=manager)
    except IntakeError as exc:
        return _fail(exc)
    return Status(200, _out(r))


@router.post("/{public_id}/submit", response={200: RequestOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}, summary="Submit (freezes a version)")
def submit(request: HttpRequest, public_id: UUID) -> Any:
    r = _load(request, public_id)
    try:
        services.submit(actor=api_user(request), data_request=r)
    except IntakeError as exc:
        return _fail(exc)
    r.refresh_from_db()
    return Status(200, _out(r))


@router.post("/{public_id}/withdraw", response={200: RequestOut, 403: ErrorOut, 409: ErrorOut}, summary="Withdraw my request")
def withdraw(request: HttpRequest, public_id: UUID) -> Any:
    r = _load(request, public_id)
    try:
        r = services.withdraw(actor=api_user(request), data_request=r)
    except IntakeError as exc:
        return _fail(exc)
    return Status(200, _out(r))


@router.post(
    "/{public_id}/decision",
    response={200: RequestOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Steward's decision: approve (optionally narrowed), deny (reason required) or request changes",
)
def decide(request: HttpRequest, public_id: UUID, payload: Decision) -> Any:
    user = api_require_roles(request, Role.DATA_STEWARD)
    r = _load(request, public_id)
    try:
        if payload.decision == "approve":
            approved = _parse_selections(payload.approved_selections) if payload.approved_selections is not None else None
            r = services.approve(actor=user, data_request=r, approved_selections=approved, note=payload.reason)
        elif payload.decision == "deny":
            r = services.deny(actor=user, data_request=r, reason=payload.reason)
        else:
            r = services.request_changes(actor=user, data_request=r, comments=payload.comments)
    except IntakeError as exc:
        return _fail(exc)
    return Status(200, _out(r))
