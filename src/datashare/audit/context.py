"""Who is making the current request (IP, user agent), for audit events written deep in services."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None
    user_agent: str


current_origin: ContextVar[RequestOrigin | None] = ContextVar("audit_origin", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from. Behind proxies the agency runs (TRUSTED_PROXY_COUNT
    of them, each appending to X-Forwarded-For, or one that sets TRUSTED_CLIENT_IP_HEADER) it is
    the address the outermost trusted proxy saw; anything a client wrote further left is ignored.
    Without that setting every user behind the proxy would share one address, and so one
    sign-in rate limit. Used for rate limits (the allauth adapter) and audit rows alike."""
    header = getattr(settings, "TRUSTED_CLIENT_IP_HEADER", "")
    if header:
        value = request.headers.get(header, "").strip()
        if value:
            return value[:45]
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    forwarded = request.headers.get("X-Forwarded-For", "")
    if count > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count][:45]
    return request.META.get("REMOTE_ADDR") or None


def origin_of(request: HttpRequest) -> RequestOrigin:
    return RequestOrigin(
        ip=client_ip(request),
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
