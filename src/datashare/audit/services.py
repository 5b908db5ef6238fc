"""The one way to write to the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from datashare.audit.chain import content_hash, hashed_fields
from datashare.audit.context import current_origin, origin_of
from datashare.audit.models import AuditEvent, ChainHead
from datashare.audit.registry import get as registered_action


def _target_fields(target: models.Model | None) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    meta = target._meta
    public_id = getattr(target, "public_id", None)
    return meta.label_lower, str(public_id or target.pk), str(target)[:200]


def record_event(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records.

    ``actor`` is a user (or None for the system). IP and user agent come from ``request`` or,
    when called from a web request, from the audit middleware's context. ``action`` must be
    registered (``datashare.audit.registry``); an unknown one raises ``UnknownAuditAction``.
    """
    registered_action(action)
    origin = origin_of(request) if request is not None else current_origin.get()
    target_type, target_id, target_label = _target_fields(target)
    actor_id = getattr(actor, "pk", None)
    with transaction.atomic():
        # The row lock serializes appends across processes (PostgreSQL); SQLite serializes
        # writers anyway. Migration 0002 creates the row, so one locking read is the usual
        # path; only a flushed database (transactional tests) needs it made again.
        head = ChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            ChainHead.objects.get_or_create(pk=1)
            head = ChainHead.objects.select_for_update().get(pk=1)
        event = AuditEvent(
            seq=head.last_seq + 1,
            occurred_at=timezone.now(),
            actor_id=actor_id,
            actor_label=str(getattr(actor, "email", "") or "system")[:254]
            if actor is not None
            else "system",
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_label=target_label,
            old_values=old,
            new_values=new,
            ip=origin.ip if origin else None,
            user_agent=origin.user_agent if origin else "",
            prev_hash=head.last_hash,
        )
        event.hash = content_hash(hashed_fields(event))
        event.save(force_insert=True)
        ChainHead.objects.filter(pk=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


def _jsonable(value: Any) -> Any:
    """A field value as the log stores it: dates as ISO text, related objects by their email
    (people) or their text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return getattr(value, "email", None) or str(value)
    return value


def save_changes(*, actor: Any, obj: models.Model, old: dict[str, Any], action: str) -> list[str]:
    """Save the fields of ``obj`` that differ from ``old`` (field -> value before the change)
    with ``updated_at``, and record one event with both sides. Nothing is saved or recorded
    when nothing changed. Call inside the change's transaction. Returns the changed fields."""
    changed = [f for f in old if old[f] != getattr(obj, f)]
    if changed:
        obj.updated_at = timezone.now()  # type: ignore[attr-defined]
        obj.save(update_fields=[*changed, "updated_at"])
        record_event(
            actor=actor,
            action=action,
            target=obj,
            old={f: _jsonable(old[f]) for f in changed},
            new={f: _jsonable(getattr(obj, f)) for f in changed},
        )
    return changed
