"""The REST API under /api/v1/ (django-ninja), schema at /api/v1/openapi.json.

Every endpoint needs a signed-in user (session or token, see ``datashare.api.auth``) unless it
says ``auth=None``. Each app contributes a ninja Router from its own ``api.py``; they are
mounted here with ``api.add_router("/prefix", router)``.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, NinjaAPI, Schema

from datashare.accounts.models import User
from datashare.accounts.services import update_profile
from datashare.api.auth import AUTH, api_user

api = NinjaAPI(
    title="datashare API",
    version="1",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=AUTH,
)
api.add_router("/requests", "datashare.intake.api.router")


class Me(Schema):
    email: str
    full_name: str
    organization: str | None
    roles: list[str]


@api.get("/ping", tags=["meta"], summary="Liveness of the API itself", auth=None)
def ping(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}


class ProfileChange(Schema):
    full_name: str = Field(max_length=200)


def _me(user: User) -> Me:
    return Me(
        email=user.email,
        full_name=user.full_name,
        organization=user.organization.name if user.organization else None,
        roles=sorted(user.role_set),
    )


@api.get("/me", tags=["account"], summary="The calling user and their roles", response=Me)
def me(request: HttpRequest) -> Me:
    return _me(api_user(request))


@api.patch("/me", tags=["account"], summary="Change the calling user's display name", response=Me)
def change_me(request: HttpRequest, change: ProfileChange) -> Me:
    user = api_user(request)
    return _me(update_profile(actor=user, user=user, full_name=change.full_name.strip()))
