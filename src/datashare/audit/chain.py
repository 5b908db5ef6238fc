"""Hashing and verification of the audit chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from datashare.audit.models import AuditEvent, ChainHead

GENESIS_HASH = "0" * 64


def content_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
    kind: str  # "edited", "deleted", "reordered", "truncated"
    detail: str

    def __str__(self) -> str:
        where = f"row #{self.seq}" + (f" (id {self.event_id})" if self.event_id is not None else "")
        return f"{where} {self.kind}: {self.detail}"


def _events() -> Iterator[AuditEvent]:
    # Ordered by seq, streamed: the log grows without bound.
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)


def verify() -> list[ChainProblem]:
    """Every break in the chain, first one first. An empty list means the log is intact."""
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for event in _events():
        # JSON columns round-trip through the database: hash what is stored, as it reads back.
        recomputed = content_hash(hashed_fields(event))
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
        if recomputed != event.hash:
            problems.append(
                ChainProblem(
                    event.seq, event.pk, "edited", "its stored content does not match its hash"
                )
            )
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
