"""Typed domain errors of request intake; views and the API turn them into messages/HTTP codes."""

from __future__ import annotations


class IntakeError(Exception):
    """Base: a request the service refuses, with a message fit for the user."""


class InvalidTransition(IntakeError):
    def __init__(self, *, action: str, status: str) -> None:
        self.action, self.status = action, status
        super().__init__(f"cannot {action.replace('_', ' ')} a request that is {status.replace('_', ' ')}")


class AlreadyDecided(IntakeError):
    def __init__(self, *, by: str, status: str) -> None:
        self.by, self.status = by, status
        super().__init__(f"This request was already decided by {by} ({status.replace('_', ' ')}).")


class NotPermitted(IntakeError):
    """The actor may not do this to this request."""


class IncompleteRequest(IntakeError):
    """Submission refused: ``errors`` maps step -> field -> messages."""

    def __init__(self, errors: dict[str, dict[str, list[str]]]) -> None:
        self.errors = errors
        count = sum(len(m) for fields in errors.values() for m in fields.values())
        super().__init__(f"the request is not complete: {count} problem(s) to fix")


class InvalidAttachment(IntakeError):
    pass
