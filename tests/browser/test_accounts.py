"""A person in Chromium: signs up and verifies their email, signs in, enrols MFA as staff."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from playwright.sync_api import Page, expect

from datashare.accounts.models import Role
from tests.browser.conftest import assert_accessible, sign_in, sign_up
from tests.factories import PASSWORD, make_org, make_staff, make_user, totp_code

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_requestor_signs_up_verifies_their_email_and_lands_signed_in(page: Page) -> None:
    page.goto("/")
    assert_accessible(page)
    page.get_by_role("link", name="Create an account").first.click()
    assert_accessible(page)
    sign_up(
        page,
        email="new.researcher@university.example",
        password=PASSWORD,
        full_name="New Researcher",
        organization="Cascade University",
        kind="University",
    )
    assert_accessible(page)

    link = re.search(r"https?://\S+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(link.group(1))  # the path: the email names the production host
    assert_accessible(page)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("link", name="My requests", exact=True)).to_be_visible()
    page.get_by_role("link", name="My requests", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    assert_accessible(page)


def test_a_requestor_signs_in_sees_their_account_and_signs_out(page: Page) -> None:
    make_user("ana@university.example", organization=make_org())
    page.goto("/accounts/login/")
    assert_accessible(page)
    sign_in(page, "ana@university.example", PASSWORD)
    expect(page.get_by_role("link", name="My requests", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Staff dashboard", exact=True)).to_have_count(0)
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert_accessible(page)
    for link in ["Change your password", "Email addresses", "Two-factor authentication"]:
        page.get_by_role("link", name=link).click()
        assert_accessible(page)
        page.go_back()
    page.goto("/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You may not open this page")
    assert_accessible(page)
    page.get_by_role("link", name="Sign out").click()
    assert_accessible(page)
    page.get_by_role("button", name="Sign Out").click()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()


def test_a_wrong_password_shows_a_generic_accessible_error(page: Page) -> None:
    make_user("ana@university.example")
    sign_in(page, "ana@university.example", "not-the-password-at-all")
    expect(page.get_by_text("The email address and/or password you specified are not correct.")).to_be_visible()
    assert_accessible(page)


def test_a_staff_member_must_enrol_totp_before_the_dashboard_opens(page: Page) -> None:
    steward = make_user("steward@agency.example", roles=[Role.DATA_STEWARD])
    sign_in(page, "steward@agency.example", PASSWORD)
    page.goto("/staff/")
    # Any page sends them to enrolment, which allauth guards with a fresh password check.
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    assert_accessible(page)
    page.get_by_label("Password:").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    assert_accessible(page)
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    # The database is read only once the server has answered the activation.
    expect(page).not_to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    assert_accessible(page)
    # Activation also hands out recovery codes, for the day the phone is lost.
    kinds = set(Authenticator.objects.filter(user=steward).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    page.goto("/staff/")
    # A data steward's dashboard is the review queue.
    expect(page).to_have_url(re.compile(r"/requests/queue/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    assert_accessible(page)
    page.goto("/accounts/2fa/")
    assert_accessible(page)


def test_an_enrolled_staff_member_signs_in_with_a_totp_code(page: Page) -> None:
    _, secret = make_staff("reviewer@agency.example", Role.DEPARTMENT_REVIEWER)
    sign_in(page, "reviewer@agency.example", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    assert_accessible(page)
    page.get_by_label("Code:", exact=True).fill(totp_code(secret))
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.get_by_role("link", name="Staff dashboard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff dashboard")
    assert_accessible(page)
