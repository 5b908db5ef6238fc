"""The allowed moves of an agreement: one visible table, read by every service.

    draft ──send──> out_for_signature ──(last signature) complete──> executed ──activate──> active
      │                   │  └──decline──> declined                    │  └──terminate──┐   │
      └──void──> voided <─┴───────────────────void────────────────────-┘                ▼   ▼
                                                         expired <──expire── active  terminated

A void keeps the row (marked voided) and a re-issue makes the next version as a new draft.
"""

from __future__ import annotations

from enum import StrEnum

from datashare.agreements.models import AgreementStatus as S


class Action(StrEnum):
    EDIT = "edit"
    SEND = "send"
    SIGN = "sign"
    DECLINE = "decline"
    COMPLETE = "complete"
    ACTIVATE = "activate"
    EXPIRE = "expire"
    TERMINATE = "terminate"
    VOID = "void"
    REISSUE = "reissue"
    AMEND = "amend"


# action -> (statuses it may start from, status it leads to; None: the status stays)
TRANSITIONS: dict[Action, tuple[frozenset[S], S | None]] = {
    Action.EDIT: (frozenset({S.DRAFT}), None),
    Action.SEND: (frozenset({S.DRAFT}), S.OUT_FOR_SIGNATURE),
    Action.SIGN: (frozenset({S.OUT_FOR_SIGNATURE}), None),
    Action.DECLINE: (frozenset({S.OUT_FOR_SIGNATURE}), S.DECLINED),
    Action.COMPLETE: (frozenset({S.OUT_FOR_SIGNATURE}), S.EXECUTED),
    Action.ACTIVATE: (frozenset({S.EXECUTED}), S.ACTIVE),
    Action.EXPIRE: (frozenset({S.EXECUTED, S.ACTIVE}), S.EXPIRED),
    Action.TERMINATE: (frozenset({S.EXECUTED, S.ACTIVE}), S.TERMINATED),
    Action.VOID: (frozenset({S.DRAFT, S.OUT_FOR_SIGNATURE, S.DECLINED}), S.VOIDED),
    Action.REISSUE: (frozenset({S.VOIDED}), None),
    Action.AMEND: (frozenset({S.EXECUTED, S.ACTIVE}), None),
}

# In force: the data may be held and used (delivery may send files only then).
IN_FORCE = frozenset({S.EXECUTED, S.ACTIVE})
# Ended: the destruction clock runs from termination_date.
ENDED = frozenset({S.EXPIRED, S.TERMINATED})


def allowed(action: Action, current: str) -> bool:
    return current in TRANSITIONS[action][0]


def target(action: Action, current: str) -> S | None:
    """The status ``action`` leads to from ``current`` (the same status for in-place actions);
    None if the action is not allowed from ``current``."""
    sources, to = TRANSITIONS[action]
    if current not in sources:
        return None
    return to if to is not None else S(current)
