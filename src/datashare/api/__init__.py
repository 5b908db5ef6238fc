"""The REST API under /api/v1/ (django-ninja), schema at /api/v1/openapi.json.

Each app contributes a ninja Router from its own ``api.py``; they are mounted here.
"""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="datashare API",
    version="1",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
api.add_router("/requests", "datashare.intake.api.router")


@api.get("/ping", tags=["meta"], summary="Liveness of the API itself")
def ping(request):  # type: ignore[no-untyped-def]
    return {"ok": True}
