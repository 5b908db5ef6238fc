"""Reads for the stewards' queue and the requestor's pages, with constant query counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.utils import timezone

from datashare.accounts.models import Role, User
from datashare.audit.models import AuditEvent
from datashare.env import env_int
from datashare.intake.models import CommentRequest, DataRequest, Status
from datashare.intake.transitions import OPEN_FOR_REVIEW

QUEUE_PAGE_SIZE = 50


def service_target_days() -> int:
    """Days within which the agency aims to decide a request (configurable)."""
    return int(getattr(settings, "INTAKE_SERVICE_TARGET_DAYS", env_int("INTAKE_SERVICE_TARGET_DAYS", 30)))


@dataclass
class QueueFilters:
    status: str = ""  # "" = open (submitted or in review); "all"; or a status
    kind: str = ""
    organization: str = ""  # name contains
    assignee: str = ""  # a user's public_id, "me" or "none"
    min_age_days: int | None = None
    title: str = ""  # title contains
    sort: str = ""  # "" = review order; see QUEUE_SORTS


# Other orders a steward may want; the default stays the agency's review order.
QUEUE_SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "": ("Review order (priority, then order received)", ("priority_rank", "submitted_at", "pk")),
    "oldest": ("Oldest first", ("submitted_at", "pk")),
    "newest": ("Newest first", ("-submitted_at", "-pk")),
    "title": ("Title (A to Z)", ("title", "pk")),
    "organization": ("Organization (A to Z)", ("organization__name", "submitted_at", "pk")),
}


@dataclass
class Queue:
    page: Page
    counts: dict[str, int]
    target_days: int
    filters: QueueFilters
    stewards: list[User] = field(default_factory=list)


# The oldest submission age a filter can ask for: past it the date arithmetic overflows.
MAX_AGE_DAYS = 36_500


def valid_assignee_filter(value: str) -> bool:
    """'' (anyone), 'me', 'none' or a steward's public id."""
    if value in ("", "me", "none"):
        return True
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def queue_queryset(filters: QueueFilters, *, user: User) -> QuerySet[DataRequest]:
    qs = DataRequest.objects.filter(submitted_at__isnull=False)
    if filters.status == "all":
        pass
    elif filters.status in Status.values:
        qs = qs.filter(status=filters.status)
    else:
        qs = qs.filter(status__in=[Status.SUBMITTED, Status.IN_REVIEW])
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.organization:
        qs = qs.filter(organization__name__icontains=filters.organization)
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        # A malformed id matches no one (callers that answer with an error check it first).
        qs = qs.filter(assignee__public_id=filters.assignee) if valid_assignee_filter(filters.assignee) else qs.none()
    if filters.min_age_days is not None:
        days = min(max(filters.min_age_days, 0), MAX_AGE_DAYS)
        qs = qs.filter(submitted_at__lte=timezone.now() - dt.timedelta(days=days))
    if filters.title:
        qs = qs.filter(title__icontains=filters.title)
    # The agency's order by default: priority tier, then the order received (index intake_queue_order).
    order = QUEUE_SORTS.get(filters.sort, QUEUE_SORTS[""])[1]
    return qs.select_related("organization", "assignee").order_by(*order)


def queue(filters: QueueFilters, *, user: User, page_number: int | str = 1) -> Queue:
    """One page of the queue plus counts per status: a fixed number of queries at any size."""
    paginator = Paginator(
        queue_queryset(filters, user=user).only(
            "public_id", "title", "kind", "status", "priority_rank", "submitted_at", "legislative_requirement",
            "organization__name", "organization__kind", "assignee__full_name", "assignee__email",
        ),
        QUEUE_PAGE_SIZE,
    )
    page = paginator.get_page(page_number)
    counts = {s: 0 for s in Status.values if s != Status.DRAFT}
    for row in DataRequest.objects.filter(submitted_at__isnull=False).values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    stewards = list(User.objects.filter(role_grants__role=Role.DATA_STEWARD).order_by("full_name", "email"))
    return Queue(page=page, counts=counts, target_days=service_target_days(), filters=filters, stewards=stewards)


def age_days(r: DataRequest, *, now: dt.datetime | None = None) -> int | None:
    if r.submitted_at is None:
        return None
    return ((now or timezone.now()) - r.submitted_at).days


PUBLIC_ACTIONS = {
    "intake.draft_created": "Draft started",
    "intake.submitted": "Submitted",
    "intake.assigned": "Review started",
    "intake.changes_requested": "Changes requested",
    "intake.approved": "Approved",
    "intake.denied": "Denied",
    "intake.withdrawn": "Withdrawn",
    "intake.data_manager_designated": "Data manager designated",
    "intake.data_manager_accepted": "Data manager accepted the role",
    "intake.attachment_added": "Attachment added",
    "intake.changes_replied": "Replied to the requested changes",
}
STAFF_ACTIONS = {
    **PUBLIC_ACTIONS,
    "intake.draft_updated": "Form edited",
    "intake.comments_requested": "Department comments requested",
    "intake.comments_given": "Department comments received",
    "intake.comments_cancelled": "Request for department comments cancelled",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    label: str
    actor: str


def timeline(r: DataRequest, *, staff: bool, viewer: User | None = None) -> list[TimelineEntry]:
    """Every event of the request from the audit log. Requestors and data managers see the
    people of their own request by name ("you" only for what the viewer did) and staff only as
    'the agency' (staff names are not theirs to collect)."""
    labels = STAFF_ACTIONS if staff else PUBLIC_ACTIONS
    events = AuditEvent.objects.filter(
        target_type=DataRequest._meta.label_lower, target_id=str(r.public_id), action__in=list(labels)
    ).order_by("seq")
    entries = []
    for e in events:
        who = e.actor_label if staff else _public_actor(r, e.actor_id, viewer)
        entries.append(TimelineEntry(e.occurred_at, labels[e.action], who))
    return entries


def _public_actor(r: DataRequest, actor_id: int | None, viewer: User | None) -> str:
    if viewer is not None and actor_id == viewer.pk:
        return "you"
    if actor_id == r.created_by_id:
        return f"{r.created_by}, the requestor"
    if actor_id is not None and actor_id == r.data_manager_id and r.data_manager is not None:
        return f"{r.data_manager}, the data manager"
    return "the agency"


def pending_comment_requests(r: DataRequest) -> list[CommentRequest]:
    """Requests for department comments still waiting for an answer (deciding now ignores them)."""
    return list(r.comment_requests.filter(responded_at__isnull=True, cancelled_at__isnull=True).select_related("reviewer"))


def my_requests(user: User) -> QuerySet[DataRequest]:
    from django.db.models import Q

    return (
        DataRequest.objects.filter(Q(created_by=user) | Q(data_manager=user))
        .select_related("organization")
        .order_by("-updated_at")
    )


def open_comment_requests(user: User) -> QuerySet[CommentRequest]:
    """The questions a department reviewer still has to answer, soonest due first."""
    return (
        # Cancelled ones, and those on a request already decided, are no longer asked for.
        CommentRequest.objects.filter(
            reviewer=user, responded_at__isnull=True, cancelled_at__isnull=True, request__status__in=list(OPEN_FOR_REVIEW)
        )
        .select_related("request")
        .order_by("due_date", "requested_at")
    )
