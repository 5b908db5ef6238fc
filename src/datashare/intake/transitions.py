"""The allowed moves of a data sharing request: one visible table, read by every service."""

from __future__ import annotations

from enum import StrEnum

from datashare.intake.models import Status


class Action(StrEnum):
    SUBMIT = "submit"
    START_REVIEW = "start_review"
    REQUEST_CHANGES = "request_changes"
    APPROVE = "approve"
    DENY = "deny"
    WITHDRAW = "withdraw"


# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.SUBMIT: (frozenset({Status.DRAFT, Status.CHANGES_REQUESTED}), Status.SUBMITTED),
    Action.START_REVIEW: (frozenset({Status.SUBMITTED}), Status.IN_REVIEW),
    Action.REQUEST_CHANGES: (frozenset({Status.SUBMITTED, Status.IN_REVIEW}), Status.CHANGES_REQUESTED),
    Action.APPROVE: (frozenset({Status.SUBMITTED, Status.IN_REVIEW}), Status.APPROVED),
    Action.DENY: (frozenset({Status.SUBMITTED, Status.IN_REVIEW}), Status.DENIED),
    Action.WITHDRAW: (
        frozenset({Status.DRAFT, Status.SUBMITTED, Status.IN_REVIEW, Status.CHANGES_REQUESTED}),
        Status.WITHDRAWN,
    ),
}

# The steward decisions: a second decision on the same version is refused with who decided.
DECISIONS = frozenset({Action.REQUEST_CHANGES, Action.APPROVE, Action.DENY})
# The requestor may edit the form only in these.
EDITABLE = frozenset({Status.DRAFT, Status.CHANGES_REQUESTED})
# Open for review in the stewards' queue.
OPEN_FOR_REVIEW = frozenset({Status.SUBMITTED, Status.IN_REVIEW})


def target(action: Action, current: str) -> Status | None:
    sources, to = TRANSITIONS[action]
    return to if current in sources else None


def allowed_actions(current: str) -> list[Action]:
    return [a for a, (sources, _) in TRANSITIONS.items() if current in sources]
