"""Delivery fixtures: intake's fixed roles (requestor, steward, outsider) and complete request."""

from __future__ import annotations

from tests.intake.conftest import catalog, complete_request, outsider, requestor, steward  # noqa: F401
