"""The REST API under /api/v1/ (django-ninja), schema at /api/v1/openapi.json.

Every endpoint needs a signed-in user (session or token, see ``datashare.api.auth``) unless it
says ``auth=None``. Each app contributes a ninja Router from its own ``api.py``; they are
mounted here with ``api.add_router("/prefix", router)``.

Every error answers the one ``ErrorOut`` body (``schemas.py``), and the published schema says
so for every operation: input that does not parse is a 422 with a message per field, like a
refused form, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema, Status
from ninja.errors import ValidationError
from ninja.openapi.schema import OpenAPISchema

from datashare.accounts.models import User
from datashare.accounts.services import ProfileError, update_profile
from datashare.api.auth import AUTH, api_user
from datashare.api.schemas import NO_NUL, ErrorOut
from datashare.core.api import install as install_domain_errors

# Answers any operation may give besides its own: bad input, no or wrong credentials, a role
# or MFA missing, and (for a path naming an object) an object the caller may not see.
_COMMON_ERRORS = {
    "400": "The body is not valid JSON.",
    "401": "Sign in or send an API token.",
    "403": "Not allowed (role, ownership or MFA).",
    "422": "Input refused: a message per field.",
}


class DatashareAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        ref = {"$ref": "#/components/schemas/ErrorOut"}
        schema.setdefault("components", {}).setdefault("schemas", {})["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                extra = dict(_COMMON_ERRORS)
                if not operation.get("security"):
                    extra = {"400": extra["400"], "422": extra["422"]}
                if "{" in path:
                    extra["404"] = "No such object, or not yours to see."
                for code, description in extra.items():
                    responses.setdefault(code, {"description": description, "content": {"application/json": {"schema": ref}}})
        return schema


api = DatashareAPI(
    title="datashare API",
    version="1",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=AUTH,
)


@api.exception_handler(ValidationError)
def input_refused(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Pydantic's parse errors in the ``ErrorOut`` shape: {"body": {"title": ["..."]}}."""
    errors: dict[str, dict[str, list[str]]] = {}
    for error in exc.errors:
        # Union members name themselves in the location ("literal['']"): not a field, dropped.
        loc = [str(part) for part in error.get("loc", ()) if "[" not in str(part)]
        where = loc[0] if loc else "body"
        rest = loc[1:]
        if where == "body" and len(rest) > 1:
            rest = rest[1:]  # drop the payload parameter's own name
        messages = errors.setdefault(where, {}).setdefault(".".join(rest) or "__all__", [])
        if str(error.get("msg", "invalid")) not in messages:
            messages.append(str(error.get("msg", "invalid")))
    count = sum(len(m) for fields in errors.values() for m in fields.values())
    return api.create_response(request, {"detail": f"the input was refused: {count} problem(s) to fix", "errors": errors}, status=422)


# A DomainError an endpoint lets through answers {"code", "detail", "errors"} with its status.
install_domain_errors(api)
api.add_router("/requests", "datashare.intake.api.router")
api.add_router("/agreements", "datashare.agreements.api.router")
api.add_router("/portal", "datashare.portal.api.router")
api.add_router("/results", "datashare.results.api.router")


class Me(Schema):
    email: str
    full_name: str
    organization: str | None
    roles: list[str]


@api.get("/ping", tags=["meta"], summary="Liveness of the API itself", auth=None)
def ping(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}


class ProfileChange(Schema):
    full_name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


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


@api.patch("/me", tags=["account"], summary="Change the calling user's display name", response={200: Me, 422: ErrorOut})
def change_me(request: HttpRequest, change: ProfileChange) -> Any:
    user = api_user(request)
    try:
        return _me(update_profile(actor=user, user=user, full_name=change.full_name))
    except ProfileError as exc:
        return Status(422, {"detail": str(exc), "errors": {"body": {"full_name": [str(exc)]}}})
