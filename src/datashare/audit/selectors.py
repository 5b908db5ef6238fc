"""Reads of the audit log for the auditor's page and its CSV export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from datashare.audit.models import AuditEvent


@dataclass(frozen=True)
class EventFilters:
    actor: str = ""  # part of the actor's email ("system" for the system)
    action: str = ""  # an exact registered action
    target_type: str = ""  # e.g. "intake.datarequest"
    target_id: str = ""  # the object's public id
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


def events(filters: EventFilters) -> QuerySet[AuditEvent]:
    """Newest first; one query per page (no relations to follow: actor and target are copied in)."""
    qs = AuditEvent.objects.order_by("-seq")
    if filters.actor:
        qs = qs.filter(actor_label__icontains=filters.actor)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.target_type:
        qs = qs.filter(target_type=filters.target_type)
    if filters.target_id:
        qs = qs.filter(target_id=filters.target_id)
    if filters.since:
        qs = qs.filter(occurred_at__date__gte=filters.since)
    if filters.until:
        qs = qs.filter(occurred_at__date__lte=filters.until)
    return qs


def target_types() -> list[str]:
    return list(AuditEvent.objects.exclude(target_type="").values_list("target_type", flat=True).distinct().order_by("target_type"))
