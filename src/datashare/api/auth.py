"""How /api/v1/ knows who is calling.

Two ways in: the browser's session cookie (CSRF-checked on unsafe methods, so a page on another
site cannot drive the API with a signed-in user's cookie), and ``Authorization: Bearer dsk_...``
tokens for service accounts (see ``datashare api_token``). Either way the user ends up on
``request.user`` and ``request.auth``, and endpoints check roles with ``api_require_roles``.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from datashare.accounts.middleware import MFA_REQUIRED, needs_mfa, user_has_mfa
from datashare.accounts.models import User
from datashare.accounts.services import user_for_api_token


class TokenAuth(HttpBearer):
    openapi_description = "A service account's API token (`datashare api_token issue`)."

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_api_token(token)
        if user is None:
            return None
        # StaffMFAMiddleware ran before the token was read (request.user was anonymous then):
        # a staff token works only while its user has an authenticator, like a staff session.
        if needs_mfa(user) and not user_has_mfa(user):
            raise HttpError(403, MFA_REQUIRED)
        request.user = user
        return user


class BrowserSessionAuth(SessionAuth):
    openapi_description = "The portal's session cookie; unsafe methods need the CSRF token."


AUTH = [TokenAuth(), BrowserSessionAuth(csrf=True)]


def api_user(request: HttpRequest) -> User:
    user = getattr(request, "auth", None) or request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise HttpError(401, "Sign in or send an API token.")
    return user


def api_require_roles(request: HttpRequest, *roles: str) -> User:
    """The calling user if they hold one of ``roles``; otherwise a 403 JSON error."""
    user = api_user(request)
    if not user.has_role(*roles):
        raise HttpError(403, "You do not have a role that may do this.")
    return user
