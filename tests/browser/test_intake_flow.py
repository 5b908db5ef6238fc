"""Browser: a new user registers, fills the whole Data Sharing Request Form and submits; a
steward (with MFA) finds it first in the queue and approves; the requestor sees it approved."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from datashare.accounts.models import Role
from datashare.intake import services
from datashare.intake.models import DataRequest, Status
from tests.browser.conftest import assert_accessible, sign_in, sign_up
from tests.factories import PASSWORD, make_org, make_staff, make_user
from tests.intake.conftest import PDF_BYTES, catalog, complete_request  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _register(page: Page, email: str) -> None:
    page.goto("/accounts/signup/")
    sign_up(page, email=email, password=PASSWORD, full_name="Lee Analyst", organization="Senate Ways and Means Committee", kind="Legislature")
    link = re.search(r"https?://\S+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(link.group(1))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()


def test_a_legislative_analyst_registers_requests_data_and_a_steward_approves_it_first(page: Page, browser: Browser, live_server) -> None:
    # Someone else's request was received earlier: the legislative one must still come first.
    university = make_user("early@evergreen.edu", organization=make_org("Evergreen State University"))
    early = complete_request(university, title="University request received first")
    services.submit(actor=university, data_request=early)

    _register(page, "analyst@leg.wa.gov")
    page.goto("/requests/new/")
    assert_accessible(page)
    # Step 1 is the start page: title, kind and the legislative requirement, asked once.
    page.get_by_label("Title").fill("Learning assistance outcomes")
    page.get_by_label("De-identified student-level data").check()
    expect(page.get_by_label("How the project meets that exception")).to_be_hidden()
    page.get_by_label("This request pertains to a legislative requirement").check()
    page.get_by_label("Legislative requirement (bill, section or budget proviso)").fill("ESSB 5187 sec. 501(4)")
    page.get_by_role("button", name="Start the request").click()

    # Step 2: contacts and the data manager (the analyst names themself)
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts and data manager")
    expect(page.get_by_text("Step 2 of 6")).to_be_visible()
    assert_accessible(page)
    for prefix, name, email in (("primary", "Ana Analyst", "analyst@leg.wa.gov"), ("secondary", "Ben Backup", "ben@leg.wa.gov")):
        page.locator(f"#id_{prefix}_name").fill(name)
        page.locator(f"#id_{prefix}_email").fill(email)
        page.locator(f"#id_{prefix}_phone").fill("360-555-0101")
        page.locator(f"#id_{prefix}_organization").fill("House Education Committee")
        page.locator(f"#id_{prefix}_title").fill("Fiscal analyst")
        page.locator(f"#id_{prefix}_mailing_address").fill("PO Box 40600, Olympia WA 98504")
    page.get_by_label("Email of the person directly responsible for managing the data").fill("analyst@leg.wa.gov")
    page.get_by_role("button", name="Save and continue").click()

    # Step 3: project and duration
    expect(page.get_by_role("heading", level=1)).to_have_text("Project and duration")
    assert_accessible(page)
    for label, text in [
        ("Purpose of the project", "Report on the learning assistance program."),
        ("Research questions", "Do participants catch up in math?"),
        ("Analyses planned", "Growth comparisons."),
        ("How the project benefits education in the state", "Informs the budget."),
        ("Expected products (reports, articles, dashboards...)", "A legislative report."),
        ("How the products will be shared", "Posted on the committee site after agency review."),
    ]:
        page.get_by_label(f"{label} (required)", exact=True).fill(text)
    page.get_by_label(re.compile("I will give the agency a copy")).check()
    page.get_by_label("Start date").fill("2026-01-01")
    page.get_by_label("End date").fill("2027-06-30")
    page.get_by_role("button", name="Save and continue").click()

    # Step 4: data — the standard base file in one click, plus a sensitive element
    expect(page.get_by_role("heading", level=1)).to_have_text("Data elements and school years")
    page.get_by_role("button", name="Select the standard base file").click()
    expect(page.locator("#inc_gender")).to_be_checked()
    expect(page.locator("#to_gender")).to_have_value("2024-25")
    page.locator("#file-programs summary").click()
    page.get_by_label("Homeless", exact=True).check()
    page.locator("#from_homeless").select_option("2023-24")
    page.locator("#to_homeless").select_option("2023-24")
    page.get_by_label("Justification for Homeless").fill("The program serves many homeless students.")
    assert_accessible(page)
    page.get_by_role("button", name="Save and continue").click()

    # Step 5: security, with the policy attached
    expect(page.get_by_role("heading", level=1)).to_have_text("Data security")
    assert_accessible(page)
    for label, text in [
        ("Where the data will be stored", "Legislative data center, restricted share"),
        ("Encryption at rest", "BitLocker AES-256"),
        ("Encryption in transit", "SFTP"),
        ("Access controls", "Named accounts, MFA"),
        ("Software used with the data", "Excel, R"),
        ("People who will have access, and their roles (one per line)", "Ana Analyst, lead analyst"),
    ]:
        page.get_by_label(f"{label} (required)", exact=True).fill(text)
    policy = Path(tempfile.mkdtemp()) / "security-policy.pdf"
    policy.write_bytes(PDF_BYTES)
    page.get_by_label("Your organization's security policy (PDF or DOCX)").set_input_files(str(policy))
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    assert_accessible(page)
    expect(page.get_by_text("Before you can submit")).to_have_count(0)
    page.get_by_role("button", name="Submit the request").click()
    expect(page.locator(".status")).to_have_text("Submitted")
    assert_accessible(page)
    request = DataRequest.objects.get(title="Learning assistance outcomes")

    # A steward with MFA: the analyst said they work for a legislative committee, which the
    # steward confirms on the request's page; then the request is first in the queue.
    steward, secret = make_staff("steward@agency.gov", Role.DATA_STEWARD)
    staff_context = browser.new_context(base_url=live_server.url)
    staff = staff_context.new_page()
    sign_in(staff, steward.email, PASSWORD, totp_secret=secret)
    staff.goto("/requests/queue/")
    expect(staff.locator("table.queue tbody tr").first).not_to_contain_text("Learning assistance outcomes")
    staff.get_by_role("link", name="Learning assistance outcomes").click()
    assert_accessible(staff)
    staff.get_by_role("button", name=re.compile(r"^Confirm .* works for")).click()
    expect(staff.get_by_text("Their queued requests now go first.")).to_be_visible()
    staff.goto("/requests/queue/")
    assert_accessible(staff)
    first_row = staff.locator("table.queue tbody tr").first
    expect(first_row).to_contain_text("Learning assistance outcomes")
    expect(first_row).to_contain_text("legislative requirement")
    first_row.get_by_role("link").click()
    assert_accessible(staff)
    staff.get_by_role("button", name="Approve", exact=True).click()
    # Irreversible: a confirmation page first (no JavaScript needed).
    expect(staff.get_by_role("heading", level=1)).to_have_text("Approve “Learning assistance outcomes”?")
    assert_accessible(staff)
    staff.get_by_role("button", name="Yes, approve").click()
    expect(staff.locator(".status")).to_have_text("Approved")
    staff_context.close()

    # The requestor sees "approved" and got the email.
    page.goto("/requests/")
    assert_accessible(page)
    expect(page.get_by_role("row", name=re.compile("Learning assistance outcomes"))).to_contain_text("Approved")
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    assert any(m.to == ["analyst@leg.wa.gov"] and "Approved" in m.subject for m in mail.outbox)


def test_a_missing_justification_is_shown_next_to_the_element_and_nothing_typed_is_lost(page: Page) -> None:
    user = make_user("ada@evergreen.edu", organization=make_org("Evergreen State University"))
    r = services.create_draft(actor=user, title="Absence study")
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/requests/{r.public_id}/edit/data/")
    for file, element in (("attendance", "days_absent"), ("programs", "homeless"), ("discipline", "discipline_action")):
        page.locator(f"#file-{file} summary").click()
        page.locator(f"#inc_{element}").check()
        page.locator(f"#from_{element}").select_option("2022-23")
        page.locator(f"#to_{element}").select_option("2022-23")
    page.get_by_label("Justification for Discipline action").fill("Exclusion is an outcome we study.")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#just_homeless_errors")).to_have_text(re.compile("Homeless is a sensitive element"))
    expect(page.get_by_label("Justification for Homeless")).to_have_attribute("aria-describedby", "just_homeless_errors")
    expect(page.locator("#inc_days_absent")).to_be_checked()
    expect(page.locator("#inc_homeless")).to_be_checked()
    expect(page.locator("#from_homeless")).to_have_value("2022-23")
    expect(page.get_by_label("Justification for Discipline action")).to_have_value("Exclusion is an outcome we study.")
    assert_accessible(page)


# The portal seeder's tables are built once per run (see the fixture in tests/conftest.py).
@pytest.mark.usefixtures("builds_once")
def test_the_demo_requests_pages_are_accessible_to_a_steward(page: Page) -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("demo", stdout=out)
    # Sign in with what the demo printed once: the password, then a code from the TOTP secret.
    lines = out.getvalue().splitlines()
    at = next(i for i, line in enumerate(lines) if "steward@agency.example" in line)
    password, secret = lines[at].split()[1], lines[at + 1].split()[2]
    sign_in(page, "steward@agency.example", password, totp_secret=secret)
    page.goto("/requests/queue/?status=all")
    assert_accessible(page)
    in_review = DataRequest.objects.get(status=Status.IN_REVIEW)
    page.goto(f"/requests/{in_review.public_id}/")
    expect(page.get_by_text("Ask a department reviewer for comments")).to_be_visible()
    assert_accessible(page)
    resubmitted = DataRequest.objects.get(version=2)
    page.goto(f"/requests/{resubmitted.public_id}/versions/1/2/")
    expect(page.locator("ins")).to_contain_text(["Analyses: Descriptive statistics; grade 8"])
    assert_accessible(page)
    page.goto("/requests/catalog/")
    assert_accessible(page)
