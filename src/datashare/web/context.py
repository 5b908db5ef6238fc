from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from datashare.accounts.models import Role


def site(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    return {
        "SITE_NAME": settings.SITE_NAME,
        "AGENCY_NAME": settings.AGENCY_NAME,
        "CONTACT_EMAIL": settings.CONTACT_EMAIL,
        # What the navigation offers; the views check again (a link is not a permission).
        "nav_requestor": signed_in and user.has_role(Role.REQUESTOR),  # type: ignore[union-attr]
        "nav_staff": signed_in and user.is_agency_staff,  # type: ignore[union-attr]
        # Results review, destruction, the record of disclosures and the reports.
        "nav_oversight": signed_in and user.has_role(Role.DATA_STEWARD, Role.ADMINISTRATOR, Role.AUDITOR),  # type: ignore[union-attr]
    }
