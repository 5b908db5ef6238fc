"""Every audit action the code may record, with the text people read (pretix's log entry types).

``record_event`` refuses an action that is not registered, so a typo cannot write an event no
filter or report will ever find. Each app registers its own actions in its own module, imported
by its ``AppConfig.ready()`` (no shared file to edit):

    # agreements/audit_actions.py
    from datashare.audit.registry import register

    SIGNED = register("agreement.signed", "Agreement signed")
    EXPIRED = register("agreement.expired", "Agreement expired")

    # agreements/apps.py
    def ready(self) -> None:
        from datashare.agreements import audit_actions  # noqa: F401

    # agreements/services.py
    record_event(actor=actor, action=audit_actions.SIGNED, target=agreement, ...)

``register`` returns the action name as an ``AuditAction`` (a ``str``), so either the constant or
the literal string works in ``record_event``.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class UnknownAuditAction(ValueError):
    """An action string nobody registered (a programming error: register it in the app's audit_actions)."""


class AuditAction(str):
    """An action's name (``<noun>.<verb>``), carrying its display text."""

    label: str

    def __new__(cls, name: str, label: str) -> AuditAction:
        self = super().__new__(cls, name)
        self.label = label
        return self


_ACTIONS: dict[str, AuditAction] = {}


def register(name: str, label: str) -> AuditAction:
    """Register ``name`` with its display text; registering the same pair twice is harmless."""
    if not _NAME.match(name):
        raise ValueError(f"audit action {name!r} must look like 'noun.verb' (lower case, dotted)")
    existing = _ACTIONS.get(name)
    if existing is not None:
        if existing.label != label:
            raise ValueError(f"audit action {name!r} is already registered as {existing.label!r}")
        return existing
    action = AuditAction(name, label)
    _ACTIONS[name] = action
    return action


def get(name: str) -> AuditAction:
    try:
        return _ACTIONS[name]
    except KeyError:
        raise UnknownAuditAction(
            f"audit action {name!r} is not registered (add it to your app's audit_actions.py)"
        ) from None


def is_registered(name: str) -> bool:
    return name in _ACTIONS


def label(name: str) -> str:
    """The display text, or the raw name for an action no longer in the code (old log rows)."""
    action = _ACTIONS.get(name)
    return action.label if action is not None else name


def all_actions() -> list[AuditAction]:
    return sorted(_ACTIONS.values())
