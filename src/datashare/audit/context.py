"""Who is making the current request (IP, user agent), for audit events written deep in services."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None
    user_agent: str


current_origin: ContextVar[RequestOrigin | None] = ContextVar("audit_origin", default=None)


def origin_of(request: HttpRequest) -> RequestOrigin:
    return RequestOrigin(
        ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:300],
    )


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_origin.set(origin_of(request))
        try:
            return self.get_response(request)
        finally:
            current_origin.reset(token)
