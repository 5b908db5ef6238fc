"""Hashing and verification of the audit chain, keyed with an HMAC.

Each row's ``hash`` is HMAC-SHA256(``AUDIT_HMAC_KEY``, the row's canonical content including the
previous row's hash). A plain SHA-256 chain only shows that rows were changed *without*
recomputing the rest; anyone with SQL access could rewrite a row and recompute every later hash,
and the chain would verify. Without the key that rewrite is no longer possible: rows written
without it carry a plain hash (or a wrong MAC), and ``verify`` names the first one.

Rows written before the key existed (plain SHA-256) are accepted only up to
``AUDIT_UNKEYED_UP_TO``, a setting outside the database, so an attacker cannot "downgrade" the
whole log to plain hashes. Deleting the newest rows (and fixing ``ChainHead``) is caught by a
signed chain head exported periodically (``head.py``) and checked with ``audit verify --against``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from datashare.audit.models import AuditEvent, ChainHead

GENESIS_HASH = "0" * 64


def audit_key() -> bytes | None:
    key = getattr(settings, "AUDIT_HMAC_KEY", None)
    return key.encode("utf-8") if key else None


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode(
        "utf-8"
    )


def plain_hash(fields: dict[str, Any]) -> str:
    """The unkeyed SHA-256 the chain used before it was keyed (and uses with no key set)."""
    return hashlib.sha256(canonical(fields)).hexdigest()


def keyed_hash(fields: dict[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical(fields), hashlib.sha256).hexdigest()


def content_hash(fields: dict[str, Any]) -> str:
    """The hash a new row gets: the HMAC with the configured key (plain SHA-256 if none)."""
    key = audit_key()
    return keyed_hash(fields, key) if key else plain_hash(fields)


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "old_values": event.old_values,
        "new_values": event.new_values,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "prev_hash": event.prev_hash,
    }


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    event_id: int | None
    kind: str  # "edited", "unkeyed", "deleted", "reordered", "truncated", "head"
    detail: str

    def __str__(self) -> str:
        where = f"row #{self.seq}" + (f" (id {self.event_id})" if self.event_id is not None else "")
        return f"{where} {self.kind}: {self.detail}"


def _events() -> Iterator[AuditEvent]:
    # Ordered by seq, streamed: the log grows without bound.
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)


def _check_row(event: AuditEvent, key: bytes | None, unkeyed_up_to: int) -> ChainProblem | None:
    # JSON columns round-trip through the database: hash what is stored, as it reads back.
    fields = hashed_fields(event)
    if key is None:
        if hmac.compare_digest(plain_hash(fields), event.hash):
            return None
        return ChainProblem(event.seq, event.pk, "edited", "its stored content does not match its hash")
    if hmac.compare_digest(keyed_hash(fields, key), event.hash):
        return None
    if hmac.compare_digest(plain_hash(fields), event.hash):
        if event.seq <= unkeyed_up_to:
            return None  # written before the chain was keyed, and accepted as such
        return ChainProblem(
            event.seq,
            event.pk,
            "unkeyed",
            "its hash is a plain SHA-256, not the audit key's HMAC: written or rewritten without the key",
        )
    return ChainProblem(event.seq, event.pk, "edited", "its stored content does not match its hash")


def verify() -> list[ChainProblem]:
    """Every break in the chain, first one first. An empty list means the log is intact."""
    key = audit_key()
    unkeyed_up_to = int(getattr(settings, "AUDIT_UNKEYED_UP_TO", 0))
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for event in _events():
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(
                    expected_seq,
                    None,
                    "deleted",
                    f"rows #{expected_seq}..#{event.seq - 1} are missing (next present row is #{event.seq}, id {event.pk})",
                )
            )
        elif event.prev_hash != prev_hash:
            problems.append(
                ChainProblem(
                    event.seq,
                    event.pk,
                    "reordered",
                    "its previous-row hash does not match the row before it",
                )
            )
        problem = _check_row(event, key, unkeyed_up_to)
        if problem is not None:
            problems.append(problem)
        expected_seq = event.seq + 1
        prev_hash = event.hash
    head = ChainHead.objects.filter(pk=1).first()
    last_seq = expected_seq - 1
    if head is not None and (
        head.last_seq != last_seq or (last_seq and head.last_hash != prev_hash)
    ):
        problems.append(
            ChainProblem(
                last_seq + 1,
                None,
                "truncated",
                f"the chain head records #{head.last_seq} but the log ends at #{last_seq}",
            )
        )
    return problems
