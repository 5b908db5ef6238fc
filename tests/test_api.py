"""The REST API: session auth (CSRF-checked) for the browser, hashed tokens for service accounts."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.utils import timezone
from ninja.errors import HttpError

from datashare.accounts.models import ApiToken, Role
from datashare.accounts.services import issue_api_token, revoke_api_token
from datashare.api.auth import api_require_roles
from datashare.audit.models import AuditEvent
from tests.factories import enable_totp, make_staff, make_user

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_is_published_with_both_ways_to_authenticate(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/me" in schema["paths"]
    assert {"TokenAuth", "BrowserSessionAuth"} <= set(schema["components"]["securitySchemes"])


def test_an_anonymous_caller_gets_401(client: Client) -> None:
    assert client.get("/api/v1/me").status_code == 401


def test_a_signed_in_browser_session_reads_the_api(client: Client) -> None:
    client.force_login(make_user("ana@university.example"))
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["roles"] == ["requestor"]


def test_a_session_write_needs_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    ana = make_user("ana@university.example")
    client.force_login(ana)
    refused = client.patch("/api/v1/me", {"full_name": "Mallory"}, content_type="application/json")
    assert refused.status_code == 403
    ana.refresh_from_db()
    assert ana.full_name != "Mallory"
    client.get("/")  # the page visit that hands the browser its CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.patch(
        "/api/v1/me", {"full_name": "Ana Lopez"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["full_name"] == "Ana Lopez"
    event = AuditEvent.objects.get(action="account.profile_changed")
    assert event.new_values == {"full_name": "Ana Lopez"}


def test_a_token_write_needs_no_csrf_token(client: Client) -> None:
    robot = make_user("etl@agency.example")
    _, raw = issue_api_token(actor=None, user=robot, name="a")
    response = client.patch(
        "/api/v1/me", {"full_name": "ETL robot"}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200


def test_a_service_account_token_authenticates_and_only_its_digest_is_stored(client: Client) -> None:
    robot, _ = make_staff("etl@agency.example", Role.DATA_STEWARD)
    token, raw = issue_api_token(actor=None, user=robot, name="nightly load")
    assert raw.startswith("dsk_") and raw not in token.digest and token.prefix == raw[:10]
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["email"] == "etl@agency.example"
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert AuditEvent.objects.filter(action="account.api_token_issued").count() == 1


def test_a_wrong_revoked_or_expired_token_gets_401(client: Client) -> None:
    robot = make_user("etl@agency.example")
    live, raw = issue_api_token(actor=None, user=robot, name="a")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}x").status_code == 401
    revoke_api_token(actor=None, token=live)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    _, expired = issue_api_token(actor=None, user=robot, name="b", expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {expired}").status_code == 401
    assert AuditEvent.objects.filter(action="account.api_token_revoked").count() == 1


def test_the_api_token_command_shows_the_token_once_and_revokes_it(client: Client) -> None:
    make_user("etl@agency.example")
    out = io.StringIO()
    call_command("api_token", "issue", "etl@agency.example", "--name", "loader", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    call_command("api_token", "revoke", ApiToken.objects.get().prefix, stdout=io.StringIO())
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_api_require_roles_refuses_a_user_without_the_role_with_403() -> None:
    request = RequestFactory().get("/api/v1/x")
    request.user = make_user("ana@university.example")
    with pytest.raises(HttpError) as refused:
        api_require_roles(request, Role.DATA_STEWARD)
    assert refused.value.status_code == 403
    steward, _ = make_staff("steward@agency.example")
    request.user = steward
    assert api_require_roles(request, Role.DATA_STEWARD) == steward


def test_a_steward_without_mfa_cannot_act_through_an_api_token(client: Client) -> None:
    steward = make_user("new-steward@agency.example", roles=[Role.DATA_STEWARD])
    _, raw = issue_api_token(actor=None, user=steward, name="scripts")
    refused = client.get("/api/v1/requests/queue", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Enrol two-factor authentication first."}
    enable_totp(steward)
    assert client.get("/api/v1/requests/queue", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_a_staff_token_stops_working_when_its_user_removes_mfa(client: Client) -> None:
    from allauth.mfa.models import Authenticator

    steward, _ = make_staff("steward@agency.example", Role.DATA_STEWARD)
    _, raw = issue_api_token(actor=None, user=steward, name="scripts")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    Authenticator.objects.filter(user=steward).delete()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 403


def test_a_token_expires_after_90_days_unless_issued_for_less(client: Client) -> None:
    robot = make_user("etl@agency.example")
    token, raw = issue_api_token(actor=None, user=robot, name="a")
    assert token.expires_at is not None
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_a_token_issued_before_expiry_was_mandatory_ends_90_days_after_issue(client: Client) -> None:
    robot = make_user("etl@agency.example")
    token, raw = issue_api_token(actor=None, user=robot, name="old")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None, created_at=timezone.now() - timedelta(days=91))
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_the_api_token_command_sets_the_expiry_in_days_and_refuses_a_bad_one() -> None:
    make_user("etl@agency.example")
    out = io.StringIO()
    call_command("api_token", "issue", "etl@agency.example", "--name", "loader", "--expires-in", "7", stdout=out)
    token = ApiToken.objects.get()
    assert token.expires_at is not None
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert "valid until" in out.getvalue()
    with pytest.raises(CommandError, match="--expires-in must be from 1 to"):
        call_command("api_token", "issue", "etl@agency.example", "--name", "x", "--expires-in", "0", stdout=io.StringIO())
    assert ApiToken.objects.count() == 1
