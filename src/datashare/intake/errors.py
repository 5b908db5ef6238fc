"""Typed domain errors of request intake; views and the API turn them into messages/HTTP codes."""

from __future__ import annotations

import re

from datashare.core.errors import DomainError


class IntakeError(DomainError):
    """Base: a request the service refuses, with a message fit for the user.

    ``http_status`` is what the API answers (the web shows the message): 422 for input that is
    refused, 409 for a move the request's current state does not allow, 403 for the wrong person.
    A ``DomainError`` (``core.errors``), so one a view or endpoint lets through is rendered with
    that status and a code such as ``intake.not_permitted``, never a 500.
    """

    http_status = 422

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        super().__init__(code or f"intake.{name}", message, self.http_status)


class Conflict(IntakeError):
    """The request (or a person on it) changed in a way that makes this move impossible now."""

    http_status = 409


class InvalidTransition(IntakeError):
    http_status = 409

    def __init__(self, *, action: str, status: str) -> None:
        # request_status, not status: DomainError.status is the HTTP status.
        self.action, self.request_status = action, status
        super().__init__(f"cannot {action.replace('_', ' ')} a request that is {status.replace('_', ' ')}")


class AlreadyDecided(IntakeError):
    http_status = 409

    def __init__(self, *, by: str, status: str) -> None:
        self.by, self.request_status = by, status
        super().__init__(f"This request was already decided by {by} ({status.replace('_', ' ')}).")


class NotPermitted(IntakeError):
    """The actor may not do this to this request."""

    http_status = 403


class IncompleteRequest(IntakeError):
    """Submission refused: ``errors`` maps step -> field -> messages."""

    def __init__(self, errors: dict[str, dict[str, list[str]]]) -> None:
        self.errors = errors
        messages = [m for fields in errors.values() for msgs in fields.values() for m in msgs]
        # One problem is its own summary (a refused reason, a refused narrowing ...).
        super().__init__(messages[0] if len(messages) == 1 else f"the request is not complete: {len(messages)} problem(s) to fix")


class InvalidAttachment(IntakeError):
    pass
