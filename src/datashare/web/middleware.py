"""Answer /healthz before the host check, so a load balancer can probe by IP address."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from datashare.web.views import healthz


class HealthzMiddleware:
    """Serve GET/HEAD /healthz without consulting ``ALLOWED_HOSTS``.

    Probes from a load balancer or an orchestrator address the server by IP, which is not (and
    should not be) an allowed host, so Django's host check answers them 400 and the instance
    looks dead. /healthz reveals only "database ok/error, worker ok/stale" and builds no URL
    from the Host header, so skipping the check here is safe; every other path still gets it.
    Placed after SecurityMiddleware, so the answer still carries its headers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer to a signed-in user and on every API answer:
    request pages and JSON hold student-data requests and must not stay in a shared proxy or
    the browser's disk cache after sign-out. Static files never reach this middleware
    (WhiteNoise answers them first, with their long cache lifetime)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path_info.startswith("/api/") or (user is not None and user.is_authenticated):
            patch_cache_control(response, no_store=True, private=True)
        return response
