"""Staff must enrol MFA before any staff page opens."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

# Paths a staff member without MFA may still reach: enrolment itself (allauth), sign-out,
# static files and the health check.
_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/favicon.ico")
MFA_REQUIRED = "Enrol two-factor authentication first."


def user_has_mfa(user: object) -> bool:
    """Whether the user has a real authenticator (recovery codes alone don't count).

    Remembered on the user object, which lives for one request: the middleware and
    ``staff_required`` both ask, and a staff page should not pay for the query twice.
    """
    cached = getattr(user, "_has_mfa", None)
    if cached is None:
        from allauth.mfa.models import Authenticator

        cached = (
            Authenticator.objects.filter(user=user)
            .exclude(type=Authenticator.Type.RECOVERY_CODES)
            .exists()
        )
        user._has_mfa = cached  # type: ignore[attr-defined]
    return bool(cached)


def needs_mfa(user: object) -> bool:
    """Agency roles and Django admin access both see other people's data."""
    return bool(getattr(user, "is_agency_staff", False) or getattr(user, "is_staff", False))


class StaffMFAMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and needs_mfa(user)
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and not user_has_mfa(user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MFA_REQUIRED}, status=403)
            return redirect("mfa_activate_totp")
        return self.get_response(request)
