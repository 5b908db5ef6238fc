"""``{% destruction_flag user organization %}``: the read-only hook that flags, on a new
request's staff page, a requestor (or their organization) with overdue destruction. Intake's
template loads it by name, so intake's code never imports retention."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Q

from datashare.core import clock
from datashare.retention.models import Destruction, DestructionStatus

register = template.Library()


def overdue_for(user: Any, organization: Any) -> list[Destruction]:
    today = clock.now().date()
    who = Q()
    if getattr(user, "pk", None):
        who |= Q(agreement__data_request__created_by=user) | Q(agreement__data_request__data_manager=user) | Q(agreement__authorized_users__user=user)
    if getattr(organization, "pk", None):
        who |= Q(agreement__organization=organization)
    if not who:
        return []
    return list(
        Destruction.objects.filter(who, status=DestructionStatus.PENDING, due__lt=today)
        .select_related("agreement")
        .distinct()
        .order_by("due")
    )


@register.inclusion_tag("retention/_destruction_flag.html")
def destruction_flag(user: Any, organization: Any = None) -> dict[str, Any]:
    return {"overdue": overdue_for(user, organization)}
