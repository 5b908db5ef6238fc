"""Signing in: throttled per account and per client address (behind the agency's proxies, the
real client address), every sign-in, failure, sign-out and MFA change audited without secrets,
and nothing holding request data left in a cache."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client, RequestFactory, override_settings

from datashare.audit.context import client_ip
from datashare.audit.models import AuditEvent
from tests.factories import PASSWORD, make_staff, make_user, totp_code

pytestmark = pytest.mark.django_db


def _password_step(client: Client, email: str, ip: str) -> None:
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD}, REMOTE_ADDR=ip)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/authenticate"), response


def test_five_wrong_totp_codes_lock_out_only_that_person_not_a_colleague_on_the_same_address() -> None:
    office = "198.51.100.20"
    sam, _ = make_staff("sam@agency.example")
    pat, pat_secret = make_staff("pat@agency.example")
    fumbler = Client()
    _password_step(fumbler, sam.email, office)
    for _ in range(5):
        fumbler.post("/accounts/2fa/authenticate/", {"code": "000000"}, REMOTE_ADDR=office)
    sixth = fumbler.post("/accounts/2fa/authenticate/", {"code": "000000"}, REMOTE_ADDR=office)
    assert b"Too many failed login attempts" in sixth.content

    colleague = Client()
    _password_step(colleague, pat.email, office)
    signed_in = colleague.post("/accounts/2fa/authenticate/", {"code": totp_code(pat_secret)}, REMOTE_ADDR=office)
    assert signed_in.status_code == 302, signed_in.content.decode()
    assert colleague.session["_auth_user_id"] == str(pat.pk)
    assert AuditEvent.objects.filter(action="account.mfa_failed", target_id=str(sam.public_id)).count() >= 5


def test_wrong_passwords_for_one_account_do_not_lock_out_another_on_the_same_address(client: Client) -> None:
    make_user("ana@university.example")
    make_user("ben@university.example")
    for _ in range(5):
        client.post("/accounts/login/", {"login": "ana@university.example", "password": "nope-nope-nope"}, REMOTE_ADDR="203.0.113.5")
    other = Client()
    response = other.post("/accounts/login/", {"login": "ben@university.example", "password": PASSWORD}, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 302
    assert other.session["_auth_user_id"]


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_trusted_proxy_the_client_address_is_the_one_it_forwarded() -> None:
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.44", REMOTE_ADDR="10.0.0.1")
    # The proxy appended what it saw (192.0.2.44); what the client wrote before it is ignored.
    assert client_ip(request) == "192.0.2.44"


def test_without_a_trusted_proxy_a_forged_forwarded_header_is_ignored() -> None:
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="192.0.2.99", REMOTE_ADDR="203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


@override_settings(TRUSTED_CLIENT_IP_HEADER="X-Real-IP")
def test_a_trusted_client_ip_header_names_the_client() -> None:
    request = RequestFactory().get("/", HTTP_X_REAL_IP="192.0.2.77", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "192.0.2.77"


def test_a_failed_sign_in_is_audited_against_the_account_without_what_was_typed(client: Client) -> None:
    ana = make_user("ana@university.example")
    client.post("/accounts/login/", {"login": "ana@university.example", "password": "hunter2-wrong"}, REMOTE_ADDR="192.0.2.8")
    client.post("/accounts/login/", {"login": "nobody@university.example", "password": "x-wrong-x"}, REMOTE_ADDR="192.0.2.8")
    events = list(AuditEvent.objects.filter(action="account.sign_in_failed").order_by("seq"))
    assert [(e.target_id, e.new_values, e.ip) for e in events] == [
        (str(ana.public_id), {"reason": "wrong password"}, "192.0.2.8"),
        ("", {"reason": "unknown account"}, "192.0.2.8"),
    ]
    stored = " ".join(f"{e.old_values} {e.new_values} {e.target_label}" for e in events)
    assert "hunter2" not in stored and "nobody@" not in stored


def test_signing_out_is_audited(client: Client) -> None:
    ana = make_user("ana@university.example")
    client.force_login(ana)
    client.post("/accounts/logout/")
    assert AuditEvent.objects.filter(action="account.signed_out", actor_id=ana.pk).count() == 1


def test_enrolling_and_removing_an_authenticator_are_audited_without_the_secret(django_capture_on_commit_callbacks) -> None:
    ana = make_user("ana@university.example")
    client = Client()
    client.post("/accounts/login/", {"login": ana.email, "password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    if page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/"):
        client.post(page["Location"], {"password": PASSWORD})  # allauth asks for the password again
        page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200, (page.status_code, page.get("Location"))
    secret = client.session["mfa.totp.secret"]
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()
    added = AuditEvent.objects.get(action="account.mfa_added", new_values__type="totp")
    assert added.new_values == {"type": "totp"}
    assert Authenticator.objects.filter(user=ana, type="totp").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302, response.content.decode()
    removed = AuditEvent.objects.get(action="account.mfa_removed", old_values__type="totp")
    assert removed.old_values == {"type": "totp"}
    every_value = str(list(AuditEvent.objects.values_list("old_values", "new_values")))
    assert secret not in every_value


def test_pages_and_api_answers_for_a_signed_in_user_are_not_stored_but_static_files_are(client: Client) -> None:
    ana = make_user("ana@university.example")
    client.force_login(ana)
    for url in ("/requests/", "/api/v1/me", "/api/v1/requests/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
    anonymous_api = Client().get("/api/v1/requests/")
    assert "no-store" in anonymous_api["Cache-Control"]


@override_settings(STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}})
def test_static_files_keep_their_cache_lifetime() -> None:
    from django.http import HttpResponse

    from datashare.web.middleware import NoStoreMiddleware

    response = HttpResponse("body{}")
    response["Cache-Control"] = "max-age=60, public"
    request = RequestFactory().get("/static/web/site.css")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert NoStoreMiddleware(lambda r: response)(request)["Cache-Control"] == "max-age=60, public"
