"""Who may open what: the one place views check roles.

``require_roles`` sends an anonymous visitor to sign in and answers a signed-in user without
the role with the 403 page (never a traceback, never the page). Views that load an object
the user may not see should answer 404 (``get_object_or_404`` on a queryset already narrowed
to what the user may see), so an outsider cannot probe which objects exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from datashare.accounts.middleware import user_has_mfa
from datashare.accounts.models import STAFF_ROLES

View = TypeVar("View", bound=Callable[..., HttpResponse])


def require_roles(*roles: str) -> Callable[[View], View]:
    if not roles:
        raise ValueError("require_roles needs at least one role")
    needed = frozenset(roles)
    staff_only = needed <= STAFF_ROLES

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.has_role(*needed):  # type: ignore[union-attr]
                raise PermissionDenied("You do not have a role that may open this page.")
            # StaffMFAMiddleware enforces this for every path; checking again here keeps a
            # staff page closed even if the middleware is ever left out of MIDDLEWARE.
            if staff_only and not user_has_mfa(user):
                return redirect("mfa_activate_totp")
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


staff_required = require_roles(*sorted(STAFF_ROLES))
