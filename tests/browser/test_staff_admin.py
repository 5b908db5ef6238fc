"""An administrator grants a role and an auditor reads the log, in Chromium, axe-clean."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from datashare.accounts.models import Role, User
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, make_org, make_staff, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_administrator_grants_a_role_with_a_reason_and_an_auditor_finds_it_in_the_log(page: Page) -> None:
    _, admin_secret = make_staff("root@agency.example", Role.ADMINISTRATOR)
    _, auditor_secret = make_staff("eye@agency.example", Role.AUDITOR)
    make_user("lee@agency.example", organization=make_org("State Education Agency"))

    sign_in(page, "root@agency.example", PASSWORD, admin_secret)
    page.goto("/staff/")
    page.get_by_role("link", name="People and roles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People and roles")
    assert_accessible(page)
    page.get_by_role("link", name="Organizations").click()
    assert_accessible(page)
    page.get_by_role("link", name="People and roles").click()
    page.get_by_role("link", name="lee@agency.example").click()
    assert_accessible(page)
    page.get_by_label("Op").first.select_option("grant")
    page.locator("#id_role-role").select_option(Role.DATA_STEWARD)
    page.locator("#id_role-reason").fill("Joined the data governance team")
    page.get_by_role("button", name="Change role").click()
    expect(page.get_by_text("Saved and recorded in the audit log.")).to_be_visible()
    assert User.objects.get(email="lee@agency.example").has_role(Role.DATA_STEWARD)
    # A missing reason is an accessible form error.
    page.locator("#id_standing-op").select_option("deactivate")
    page.get_by_role("button", name="Change account").click()
    assert_accessible(page)
    page.goto("/accounts/logout/")
    page.get_by_role("button", name="Sign Out").click()

    sign_in(page, "eye@agency.example", PASSWORD, auditor_secret)
    page.goto("/staff/")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    assert_accessible(page)
    page.get_by_label("Actor (email contains)").fill("root@")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Joined the data governance team")).to_be_visible()
    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_text("Intact: the keyed chain")).to_be_visible()
    assert_accessible(page)
