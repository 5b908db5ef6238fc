"""The agreement's story in the browser: a steward approves, the agreement is generated and sent,
the requestor signs, two agency signatories sign in order, the sealed PDF validates, the work
item appears and the requestor sees "Executed". Every page passes axe-core."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from datashare.accounts.models import Role
from datashare.agreements.models import Agreement, AgreementStatus
from datashare.agreements.sealing import verify_pdf
from datashare.catalog.services import seed_catalog
from datashare.intake import services as intake
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, make_org, make_staff, make_user
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _agency_seal(settings, tmp_path_factory):
    from datashare.agreements.pki import ensure_demo_pki

    files = ensure_demo_pki(tmp_path_factory.getbasetemp() / "pki", agency=settings.AGENCY_NAME)
    settings.AGREEMENT_SIGNING_KEY_FILE = files.signing_key
    settings.AGREEMENT_SIGNING_CERT_FILE = files.signing_cert
    settings.AGREEMENT_CA_CERT_FILE = files.ca_cert
    return files


def _as(browser: Browser, live_server, email: str, secret: str | None = None) -> Page:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, email, PASSWORD, totp_secret=secret)
    return page


def _sign(page: Page, name: str) -> None:
    page.goto("/agreements/")
    page.get_by_role("link", name=re.compile(r"^DSA-")).first.click()
    assert_accessible(page)
    page.get_by_role("link", name="Review and sign").click()
    assert_accessible(page)
    page.get_by_label(re.compile("^Type your full name")).fill(name)
    page.get_by_label(re.compile("^I have reviewed the agreement")).check()
    page.get_by_role("button", name="Sign the agreement").click()
    expect(page.get_by_text(re.compile(r"You signed DSA-"))).to_be_visible()


def test_approve_generate_sign_in_order_seal_and_execute(page: Page, browser: Browser, live_server, _agency_seal) -> None:  # type: ignore[no-untyped-def]
    seed_catalog()
    requestor = make_user("ada@evergreen.edu", organization=make_org("Evergreen State University"), full_name="Ada Lovelace")
    r = complete_request(requestor)
    intake.submit(actor=requestor, data_request=r)
    steward, steward_secret = make_staff("sam@agency.gov", Role.DATA_STEWARD)
    first, first_secret = make_staff("ines@agency.gov", Role.AGENCY_SIGNATORY)
    second, second_secret = make_staff("lars@agency.gov", Role.AGENCY_SIGNATORY)

    # The steward approves: the agreement is generated, and the steward sends it.
    staff = _as(browser, live_server, steward.email, steward_secret)
    staff.goto(f"/requests/{r.public_id}/")
    staff.get_by_role("button", name="Approve", exact=True).click()
    staff.get_by_role("button", name="Yes, approve").click()
    expect(staff.locator(".status").first).to_have_text("Approved")
    staff.goto("/agreements/")
    assert_accessible(staff)
    staff.get_by_role("link", name=re.compile(r"^DSA-")).click()
    expect(staff.locator("#agreement-status")).to_have_text("Draft")
    assert_accessible(staff)
    staff.get_by_role("button", name="Send for signature").click()
    expect(staff.locator("#agreement-status")).to_have_text("Out for signature")

    # The requestor signs first; the agency signatories in order.
    sign_in(page, requestor.email, PASSWORD)
    _sign(page, "Ada Lovelace")
    second_page = _as(browser, live_server, second.email, second_secret)
    second_page.goto("/agreements/")
    second_page.get_by_role("link", name=re.compile(r"^DSA-")).click()
    expect(second_page.get_by_role("link", name="Review and sign")).to_have_count(0)  # not their turn yet
    _sign(_as(browser, live_server, first.email, first_secret), str(first))
    _sign(second_page, str(second))

    a = Agreement.objects.get(data_request=r)
    assert a.status == AgreementStatus.EXECUTED
    assert verify_pdf(a.sealed_document.read(), ca_file=_agency_seal.ca_cert).ok
    call_command("agreements", "verify", a.sealed_document.path)

    # The work item is on the department queue.
    staff.goto("/agreements/work/")
    assert_accessible(staff)
    expect(staff.get_by_role("row", name=re.compile(a.number))).to_contain_text("Prepare the extract")

    # The requestor sees "Executed" and what comes next.
    page.goto(f"/agreements/{a.public_id}/")
    expect(page.locator("#agreement-status")).to_have_text("Executed")
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
    assert_accessible(page)
