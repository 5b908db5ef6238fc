"""The API's side of ``DomainError``: the NinjaAPI exception handler.

``install(api)`` (called in ``datashare.api``) makes any ``DomainError`` an endpoint lets
through answer ``{"code", "detail", "errors"}`` with its status: the ``ErrorOut`` body of
``datashare.api.schemas``, which the published schema lists for every operation.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from datashare.core.errors import DomainError


def install(api: NinjaAPI) -> None:
    def on_domain_error(request: HttpRequest, exc: DomainError | type[DomainError]) -> HttpResponse:
        assert isinstance(exc, DomainError)
        return api.create_response(request, exc.as_dict(), status=exc.status)

    api.add_exception_handler(DomainError, on_domain_error)
