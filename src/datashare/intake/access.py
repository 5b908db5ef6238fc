"""Who may see which request: the one place object access is decided (FERPA boundary).

Requestors see the requests they created or manage the data for (a data manager must belong to
the request's organization), nothing else. Data stewards,
auditors and administrators see every submitted request (never another person's draft).
Department reviewers see the requests they were asked to comment on.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from datashare.accounts.models import Role, User
from datashare.intake.models import DataRequest

REVIEW_ROLES = (Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR)


def visible_requests(user: User) -> QuerySet[DataRequest]:
    if not user.is_authenticated:
        return DataRequest.objects.none()
    own = Q(created_by=user) | Q(data_manager=user)
    if user.has_role(*REVIEW_ROLES):
        # Submitted at least once: a draft (or a draft withdrawn before submission) stays private.
        return DataRequest.objects.filter(own | Q(submitted_at__isnull=False))
    if user.has_role(Role.DEPARTMENT_REVIEWER):
        return DataRequest.objects.filter(own | Q(comment_requests__reviewer=user)).distinct()
    return DataRequest.objects.filter(own)


def get_request_for(user: User, public_id: UUID | str) -> DataRequest:
    """The request if ``user`` may see it, else 404 (outsiders cannot even learn it exists)."""
    try:
        return visible_requests(user).select_related("organization", "created_by", "data_manager", "assignee").get(
            public_id=public_id
        )
    except (DataRequest.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such request") from None


def can_edit(user: User, r: DataRequest) -> bool:
    return r.created_by_id == user.pk


def is_steward(user: User) -> bool:
    return user.is_authenticated and user.has_role(Role.DATA_STEWARD)
