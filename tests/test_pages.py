"""Server-rendered pages: what a visitor sees, and what they never see (tracebacks)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import path

from datashare.accounts.models import Organization, OrganizationKind, Role, User
from datashare.urls import urlpatterns as real_urlpatterns
from tests.factories import PASSWORD, make_org, make_user

pytestmark = pytest.mark.django_db


def _explode(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("secret internals: student 123-45-6789")


# A URLconf with one view that fails, to see the 500 page a user would get.
urlpatterns = [path("explode/", _explode), *real_urlpatterns]
handler500 = "datashare.web.views.server_error"


def test_the_home_page_explains_the_steps_to_a_requestor(client: Client) -> None:
    body = client.get("/").content.decode()
    for step in ["Review the process", "data sharing request", "Sign the data sharing agreement", "Receive the data", "Share your results", "Destroy the data"]:
        assert step in body


def test_pages_carry_a_strict_content_security_policy(client: Client) -> None:
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_an_unknown_address_gets_the_404_page(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_a_failing_view_gets_the_500_page_and_no_traceback(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/explode/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "Traceback" not in body and "123-45-6789" not in body and "RuntimeError" not in body


def test_a_wrong_password_gets_a_generic_message(client: Client) -> None:
    make_user("ana@university.example")
    wrong_password = client.post("/accounts/login/", {"login": "ana@university.example", "password": "nope-nope-nope"})
    no_such_user = client.post("/accounts/login/", {"login": "nobody@university.example", "password": "nope-nope-nope"})
    for response in (wrong_password, no_such_user):
        assert response.status_code == 200
        assert b"The email address and/or password you specified are not correct." in response.content


def test_signing_in_is_audited_with_the_address_it_came_from(client: Client) -> None:
    from datashare.audit.models import AuditEvent

    make_user("ana@university.example")
    response = client.post(
        "/accounts/login/", {"login": "ana@university.example", "password": PASSWORD}, REMOTE_ADDR="192.0.2.7"
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="account.signed_in")
    assert (event.actor_label, event.ip) == ("ana@university.example", "192.0.2.7")


def test_repeated_wrong_passwords_are_rate_limited(client: Client) -> None:
    make_user("ana@university.example")
    for _ in range(5):
        client.post("/accounts/login/", {"login": "ana@university.example", "password": "nope-nope-nope"})
    # Even the right password is refused while the limit holds.
    response = client.post("/accounts/login/", {"login": "ana@university.example", "password": PASSWORD})
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def _sign_up(client: Client, email: str, organization: str, kind: str) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "New Researcher",
            "email": email,
            "organization": organization,
            "organization_kind": kind,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/accounts/confirm-email/"


def test_signing_up_makes_a_requestor_who_must_verify_their_email(client: Client) -> None:
    _sign_up(client, "new@university.example", "Cascade University", OrganizationKind.UNIVERSITY)
    user = User.objects.select_related("organization").get(email="new@university.example")
    assert user.role_set == {Role.REQUESTOR}
    assert user.full_name == "New Researcher"
    assert user.organization is not None
    assert (user.organization.name, user.organization.kind) == ("Cascade University", OrganizationKind.UNIVERSITY)
    assert not user.emailaddress_set.get().verified
    assert len(mail.outbox) == 1
    assert "_auth_user_id" not in client.session  # not signed in before verifying


def test_signing_up_into_an_existing_organization_cannot_change_its_kind(client: Client) -> None:
    make_org("Cascade University", OrganizationKind.UNIVERSITY)
    _sign_up(client, "new@university.example", "cascade university", OrganizationKind.LEGISLATURE)
    user = User.objects.select_related("organization").get(email="new@university.example")
    assert user.organization is not None
    assert (user.organization.name, user.organization.kind) == ("Cascade University", OrganizationKind.UNIVERSITY)
    assert Organization.objects.count() == 1


def test_the_account_page_shows_roles_and_links_to_mfa(client: Client) -> None:
    client.force_login(make_user("ana@university.example"))
    body = client.get("/account/").content.decode()
    assert "<dt>Roles</dt><dd>Requestor</dd>" in body
    assert 'href="/accounts/2fa/"' in body


def test_the_production_cache_is_a_database_table_the_migrations_created() -> None:
    from django.core.cache import caches
    from django.test import override_settings

    from datashare import settings as production

    with override_settings(CACHES=production.CACHES):
        cache = caches.create_connection("default")
        cache.set("login_failed:ip", 3, 60)
        assert cache.get("login_failed:ip") == 3
