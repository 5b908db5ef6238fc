"""Retention fixtures: the results app's executed agreement and intake's fixed roles."""

from tests.results.conftest import agreement, catalog, outsider, requestor, steward  # noqa: F401
