"""One domain error for every app, rendered the same way by web views and the API.

A service refuses something by raising a ``DomainError`` with a stable machine code (for API
clients and tests), a message fit for the user, and the HTTP status it means (Zulip's
``JsonableError`` shape). Views may catch it to show the message next to a form; anything
uncaught is rendered by ``DomainErrorMiddleware`` (web) or the NinjaAPI exception handler that
``datashare.core.api.install`` registers (API, JSON ``{"code", "detail", "errors"}``, the
``ErrorOut`` of ``datashare.api.schemas``: ``errors`` maps a place, ``body`` by default, to
field names and their messages).

    raise TransitionNotAllowed("agreement.not_allowed", "cannot sign an expired agreement")
    raise ValidationFailed("agreement.invalid", "fix the fields", fields={"ends_on": ["too late"]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class DomainError(Exception):
    """A request the service refuses. ``status`` defaults to the class's (409: a conflict with the state)."""

    default_status: ClassVar[int] = 409

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        place: str = "body",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else self.default_status
        # field name -> messages (a form's errors); empty when the error is about the whole object
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        self.place = place  # where the fields are: "body", "query", "path" or a step of a form

    def as_dict(self) -> dict[str, Any]:
        """The JSON body the API answers with (``datashare.api.schemas.ErrorOut``)."""
        return {"code": self.code, "detail": self.message, "errors": {self.place: self.fields} if self.fields else {}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, status={self.status})"


class TransitionNotAllowed(DomainError):
    """The object's state does not allow this action (the transition table says no)."""

    default_status = 409


class Conflict(DomainError):
    """Someone else changed the object first (e.g. already decided)."""

    default_status = 409


class Forbidden(DomainError):
    """The actor may not do this to this object (role, ownership, separation of duties)."""

    default_status = 403


class NotFound(DomainError):
    """No such object, or one the actor may not see (never say which)."""

    default_status = 404


class ValidationFailed(DomainError):
    """Input the service refuses; ``fields`` says which field and why."""

    default_status = 422
