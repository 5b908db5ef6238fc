"""REST API for requests: requestors create, edit, submit and list their own; stewards list the
queue and decide. The same services as the web pages; outsiders get 404."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import StringConstraints

from datashare.accounts.models import Role
from datashare.api.auth import api_require_roles, api_user
from datashare.api.schemas import NO_NUL, ErrorOut, LongText, ShortText
from datashare.catalog.selectors import latest_school_year
from datashare.elements import format_school_year
from datashare.intake import selectors, services, validation
from datashare.intake.access import get_request_for
from datashare.intake.errors import IncompleteRequest, IntakeError
from datashare.intake.models import DataRequest, RequestKind

# No auth here: the API's default (session with CSRF, or a bearer token) applies to every route.
router = Router(tags=["requests"])


# The schema states the limits the form has (the services check them again, for the web too).
YearLabel = Annotated[str, StringConstraints(max_length=7, pattern=NO_NUL)]
ElementId = Annotated[str, StringConstraints(max_length=60, pattern=NO_NUL)]


# FerpaException's values, and "" for none (tests/intake/test_input_validation.py keeps them equal).
FerpaChoice = Literal["", "studies", "audit_evaluation"]


class ContactIn(Schema):
    name: ShortText = ""
    email: ShortText = ""
    phone: ShortText = ""
    organization: ShortText = ""
    title: ShortText = ""
    mailing_address: Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)] = ""


class RequestCreate(Schema):
    title: ShortText
    kind: RequestKind = RequestKind.DEIDENTIFIED
    organization_name: ShortText = Field("", description="Only for a requestor not yet in an organization.")
    organization_kind: ShortText = ""


class RequestUpdate(Schema):
    """Any subset of the form's answers. ``selections`` maps element identifiers to school-year
    labels ('2019-20'); years before 2009-10 are refused with the reason."""

    title: ShortText | None = None
    kind: RequestKind | None = None
    ferpa_exception: FerpaChoice | None = Field(None, description="'' when the request is not identifiable.")
    ferpa_explanation: LongText | None = None
    legislative_requirement: bool | None = None
    legislative_citation: Annotated[str, StringConstraints(max_length=300, pattern=NO_NUL)] | None = None
    primary_contact: ContactIn | None = None
    secondary_contact: ContactIn | None = None
    data_manager_email: ShortText | None = None
    purpose: LongText | None = None
    research_questions: LongText | None = None
    analyses: LongText | None = None
    benefit: LongText | None = None
    products: LongText | None = None
    sharing_plan: LongText | None = None
    pledge_to_share: bool | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    duration_justification: LongText | None = None
    selections: dict[ElementId, list[YearLabel]] | None = None
    justifications: dict[ElementId, LongText] | None = None
    tables_requested: LongText | None = Field(None, description="Suppressed aggregate requests only: the tables wanted, in words.")
    storage_location: LongText | None = None
    encryption_at_rest: LongText | None = None
    encryption_in_transit: LongText | None = None
    access_controls: LongText | None = None
    software: LongText | None = None
    delivery_formats: list[Literal["dta", "sav", "xpt"]] | None = Field(
        None, description="Files wanted besides Parquet and CSV (always delivered); null: the agency's default."
    )
    people_with_access: LongText | None = None
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
    tables_requested: str
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
    reason: LongText = ""
    comments: dict[Literal["request", "contacts", "project", "data", "security"], LongText] = Field(
        default_factory=dict, description="Per section of the form."
    )
    approved_selections: dict[ElementId, list[YearLabel]] | None = Field(
        None, description="Narrow what is approved (data minimization)."
    )


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
        "tables_requested": r.tables_requested,
        "decision_reason": r.decision_reason,
        "change_comments": r.change_comments,
    }


def _load(request: HttpRequest, public_id: UUID) -> DataRequest:
    try:
        return get_request_for(api_user(request), public_id)
    except Http404:
        raise HttpError(404, "No such request") from None


# What a service's refusal answers (see _fail); every write may give any of them.
REFUSALS: dict[int, type[ErrorOut]] = {403: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _fail(exc: IntakeError) -> Status[dict[str, Any]]:
    """422 for refused input (per field when the service said which), 409 only for a move the
    request's state does not allow (``InvalidTransition``, ``AlreadyDecided``, ``Conflict``),
    403 for the wrong person."""
    return Status(exc.http_status, {"detail": str(exc), "errors": getattr(exc, "errors", {})})


def _parse_selections(raw: dict[str, list[str]]) -> dict[str, list[int]]:
    values = [f"{k}:{label}" for k, labels in raw.items() for label in labels]
    parsed, errors = validation.parse_grid(values, latest=latest_school_year())
    if errors:
        raise IncompleteRequest({"data": {"selections": errors}})
    return parsed


@router.get("/", response=list[RequestOut], summary="My requests (created or managed by me)")
def list_mine(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(r) for r in selectors.my_requests(api_user(request))]


@router.post("/", response={201: RequestOut, **REFUSALS}, summary="Start a draft request")
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


@router.get("/queue", response={200: list[QueueItem], **REFUSALS}, summary="The stewards' review queue, in review order")
def review_queue(
    request: HttpRequest,
    status: Annotated[str, Query(max_length=30, pattern=NO_NUL)] = "",
    kind: Annotated[str, Query(max_length=30, pattern=NO_NUL)] = "",
    organization: Annotated[str, Query(max_length=200, pattern=NO_NUL)] = "",
    assignee: Annotated[str, Query(max_length=36, pattern=NO_NUL, description="A steward's id, 'me' or 'none'.")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Any:
    user = api_require_roles(request, Role.DATA_STEWARD)
    if not selectors.valid_assignee_filter(assignee):
        return Status(422, {"detail": "Unknown assignee.", "errors": {"query": {"assignee": ["Give a steward's id, 'me' or 'none'."]}}})
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


@router.patch("/{public_id}", response={200: RequestOut, **REFUSALS}, summary="Edit my draft")
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


@router.post("/{public_id}/submit", response={200: RequestOut, **REFUSALS}, summary="Submit (freezes a version)")
def submit(request: HttpRequest, public_id: UUID) -> Any:
    r = _load(request, public_id)
    try:
        services.submit(actor=api_user(request), data_request=r)
    except IntakeError as exc:
        return _fail(exc)
    r.refresh_from_db()
    return Status(200, _out(r))


@router.post("/{public_id}/withdraw", response={200: RequestOut, **REFUSALS}, summary="Withdraw my request")
def withdraw(request: HttpRequest, public_id: UUID) -> Any:
    r = _load(request, public_id)
    try:
        r = services.withdraw(actor=api_user(request), data_request=r)
    except IntakeError as exc:
        return _fail(exc)
    return Status(200, _out(r))


@router.post(
    "/{public_id}/decision",
    response={200: RequestOut, **REFUSALS},
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
            r = services.request_changes(actor=user, data_request=r, comments={str(k): v for k, v in payload.comments.items()})
    except IntakeError as exc:
        return _fail(exc)
    return Status(200, _out(r))
