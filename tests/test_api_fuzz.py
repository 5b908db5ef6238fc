"""schemathesis over /api/v1/openapi.json, as a requestor and as a data steward: every answer
is a documented status with a body that matches the published schema, and none is a 500.

Bounded (a few examples per operation and caller, derandomized) so it runs in the ordinary
suite; half the generated cases aim at a real request of the caller's, so bodies reach the
services rather than stopping at a 404."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from datashare.accounts.models import Role
from datashare.accounts.services import issue_api_token
from datashare.catalog.services import seed_catalog
from datashare.intake import services
from tests.factories import make_org, make_staff, make_user
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db

# Per operation, caller and mode (about 6 x 12 operations x 2 callers x 2 modes calls, under a
# minute); SCHEMATHESIS_EXAMPLES=200 for a deeper run by hand.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _callers() -> dict[str, tuple[str, list[str]]]:
    """name -> (bearer token, public ids of requests the caller can reach)."""
    seed_catalog()
    requestor = make_user("rosa@university.example", organization=make_org(), full_name="Rosa Researcher")
    steward, _ = make_staff("sam@agency.example", Role.DATA_STEWARD)
    draft = services.create_draft(actor=requestor, title="A draft")
    submitted = complete_request(requestor, title="Submitted study")
    services.submit(actor=requestor, data_request=submitted)
    queued = complete_request(requestor, title="Queued study")
    services.submit(actor=requestor, data_request=queued)
    _, requestor_token = issue_api_token(actor=None, user=requestor, name="fuzz")
    _, steward_token = issue_api_token(actor=None, user=steward, name="fuzz")
    return {
        "requestor": (requestor_token, [str(draft.public_id), str(submitted.public_id)]),
        "steward": (steward_token, [str(submitted.public_id), str(queued.public_id)]),
    }


def _fuzz(strategy: Any, *, name: str, token: str, ids: list[str], failures: list[str]) -> int:
    calls = 0

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy, aim=st.sampled_from([None, *ids]))
    def run(case: Any, aim: str | None) -> None:
        nonlocal calls
        if aim is not None and "public_id" in (case.path_parameters or {}):
            case.path_parameters["public_id"] = aim
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        calls += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # one Failure, or a FailureGroup
            body = response.content[:300] if hasattr(response, "content") else b""
            failures.append(f"{name} {case.method} {case.formatted_path} -> {response.status_code}: {str(exc)[:800]} {body!r}")

    with contextlib.suppress(Unsatisfiable):  # nothing to negate (an operation without parameters)
        run()
    return calls


@pytest.fixture
def _keep_the_test_connection() -> Any:
    """Calls go through the real WSGI handler, whose request signals would close the test's
    database connection (and its transaction) after each one; Django's test client unhooks
    them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("_keep_the_test_connection")
def test_the_api_answers_every_generated_call_within_its_schema_and_never_with_a_500() -> None:
    callers = _callers()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    failures: list[str] = []
    calls = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        for name, (token, ids) in callers.items():
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                calls += _fuzz(operation.as_strategy(generation_mode=mode), name=name, token=token, ids=ids, failures=failures)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {calls} calls in {elapsed:.1f} s")
    assert calls > 100, calls
    assert not failures, "\n\n".join(failures[:8])
