"""What every endpoint shares: the error body, and the text type that refuses what the web
forms refuse (NUL characters, which PostgreSQL cannot store, and runaway lengths)."""

from __future__ import annotations

from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints

# No NUL character anywhere (Django's form fields refuse it too; PostgreSQL cannot store it).
NO_NUL = r"^[^\x00]*$"

ShortText = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]


class ErrorOut(Schema):
    """Every 4xx answer. ``errors`` maps a place (a step of the request form, or ``body`` /
    ``query`` / ``path`` for input that did not parse) to field names and their messages."""

    # A service's refusal (``datashare.core.errors.DomainError``) names itself, e.g.
    # "agreement.not_allowed"; empty for input that did not parse.
    code: str = ""
    detail: str
    errors: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
