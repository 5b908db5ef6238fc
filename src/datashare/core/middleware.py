"""The web's side of ``DomainError``: a view that lets one through renders it as a page.

Views that can show the message next to a form catch the error themselves; this middleware is
the fallback, so a refused action is never a 500. The page says what was refused (the message
is written for the user) with the error's status.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from datashare.core.errors import DomainError


def render_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "core/domain_error.html", {"error": error}, status=error.status)


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DomainError):
            return render_domain_error(request, exception)
        return None
