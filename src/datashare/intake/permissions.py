"""SHIM until the foundation's ``datashare.accounts.permissions`` lands: same semantics.

``require_roles(*roles)``: anonymous -> sign-in page; signed in without one of the roles -> 403.
``api_require_roles(request, *roles)``: ninja HttpError 403 (401 when anonymous).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja.errors import HttpError


def require_roles(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def api_require_roles(request: HttpRequest, *roles: str) -> None:
    if not request.user.is_authenticated:
        raise HttpError(401, "Sign in first.")
    if not request.user.has_role(*roles):
        raise HttpError(403, "You do not have a role that allows this.")
