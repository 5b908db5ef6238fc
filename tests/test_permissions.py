"""No anonymous visitor or requestor ever gets a staff page, from any URL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from datashare.accounts.models import Role
from datashare.accounts.permissions import require_roles, staff_required
from tests.factories import make_org, make_staff, make_user

pytestmark = pytest.mark.django_db

STAFF_MARKERS = ('data-area="staff"', "Site administration", "Staff dashboard</h1>")
_DUMMY = {"int": "1", "slug": "x", "str": "x", "path": "x/y", "uuid": str(uuid.uuid4())}


def _fill_route(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: _DUMMY.get(m.group(1) or "str", "x"), route)


def _fill_regex(regex: str) -> str:
    # Good enough for Django's and allauth's patterns: drop anchors, put a value in each group.
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "")
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", text)
    text = re.sub(r"\([^)]*\)", "x", text)
    return text.replace("\\", "").replace("?", "")


def walk(patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "/") -> Iterator[str]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        pattern = entry.pattern
        piece = _fill_route(str(pattern)) if isinstance(pattern, RoutePattern) else _fill_regex(pattern.regex.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + piece)
        else:
            yield prefix + piece


def all_paths() -> list[str]:
    return sorted(set(walk()))


def test_the_walk_covers_the_portal_the_api_allauth_and_the_admin() -> None:
    paths = all_paths()
    expected_paths = ["/", "/staff/", "/requests/", "/healthz", "/accounts/login/", "/api/v1/me", "/admin/"]
    expected_paths += ["/requests/queue/", "/requests/new/", "/api/v1/requests/queue"]
    for expected in expected_paths:
        assert expected in paths, expected
    assert len(paths) > 50


def _assert_no_staff_page(client: Client, who: str) -> None:
    for path in all_paths():
        response = client.get(path)
        assert response.status_code != 500, f"{who} GET {path}: 500"
        if response.status_code == 200:
            body = response.content.decode(errors="replace")
            for marker in STAFF_MARKERS:
                assert marker not in body, f"{who} GET {path} shows staff content ({marker!r})"


def test_an_anonymous_visitor_gets_no_staff_page_from_any_url() -> None:
    client = Client(raise_request_exception=False)
    _assert_no_staff_page(client, "anonymous")


def test_a_requestor_gets_no_staff_page_from_any_url() -> None:
    client = Client(raise_request_exception=False)
    client.force_login(make_user("ana@university.example", organization=make_org()))
    _assert_no_staff_page(client, "requestor")


def test_the_staff_dashboard_sends_anonymous_visitors_to_sign_in(client: Client) -> None:
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/staff/")


def test_a_requestor_gets_the_403_page_from_the_staff_dashboard(client: Client) -> None:
    client.force_login(make_user("ana@university.example"))
    response = client.get("/staff/")
    assert response.status_code == 403
    assert b"You may not open this page" in response.content
    assert b"Traceback" not in response.content


def test_a_data_steward_is_taken_from_the_staff_dashboard_to_the_review_queue(client: Client) -> None:
    steward, _ = make_staff("steward@agency.example", Role.DATA_STEWARD)
    client.force_login(steward)
    response = client.get("/staff/", follow=True)
    assert response.redirect_chain == [("/requests/queue/", 302)]
    assert b'data-area="staff"' in response.content
    assert b"Review queue</h1>" in response.content


def test_other_staff_with_mfa_open_the_staff_dashboard(client: Client) -> None:
    auditor, _ = make_staff("auditor@agency.example", Role.AUDITOR)
    client.force_login(auditor)
    response = client.get("/staff/")
    assert response.status_code == 200
    assert b'data-area="staff"' in response.content
    assert b"There is no work waiting for you." in response.content


def test_a_staff_member_without_mfa_is_sent_to_enrol_first(client: Client) -> None:
    reviewer = make_user("reviewer@agency.example", roles=[Role.DEPARTMENT_REVIEWER])
    client.force_login(reviewer)
    for path in ["/staff/", "/requests/", "/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/api/v1/me").status_code == 403


def test_staff_required_closes_the_page_to_staff_without_mfa_even_without_the_middleware() -> None:
    @staff_required
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("staff only")

    request = RequestFactory().get("/x")
    request.user = make_user("auditor@agency.example", roles=[Role.AUDITOR])
    response = view(request)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_require_roles_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()


def test_the_navigation_offers_my_requests_to_requestors_and_the_dashboard_to_staff(client: Client) -> None:
    client.force_login(make_user("ana@university.example"))
    body = client.get("/").content.decode()
    assert 'href="/requests/"' in body
    assert 'href="/staff/"' not in body
    steward, _ = make_staff("steward@agency.example")
    client.force_login(steward)
    body = client.get("/").content.decode()
    assert 'href="/staff/"' in body
    assert 'href="/requests/"' not in body


def test_the_walk_would_see_a_staff_page_if_one_leaked(client: Client) -> None:
    # Guards the guard: signed in as staff, the same walk does find staff content.
    steward, _ = make_staff("steward@agency.example")
    client.force_login(steward)
    with pytest.raises(AssertionError, match="shows staff content"):
        _assert_no_staff_page(client, "staff")
