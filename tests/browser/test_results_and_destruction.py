"""The acceptance story of issue 16, in the browser: results with a small cell are blocked,
corrected and cleared; the agreement is terminated, reminders go out on the scheduled days
(controllable clock), Exhibit C is signed, a steward verifies, and the package's key and files
are gone. Every page is checked with axe-core."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from datashare.accounts.models import Role
from datashare.agreements import services as agreements
from datashare.agreements.models import Agreement, AgreementStatus
from datashare.agreements.signals import agency_copies_due
from datashare.audit.models import AuditEvent
from datashare.extract import vault
from datashare.results.models import ResultsStatus, ResultsSubmission
from datashare.retention import destruction
from datashare.retention.models import Destruction, DestructionStatus
from tests.agreements.conftest import approved_agreement
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, make_org, make_staff, make_user
from tests.outputcheck.files import csv_bytes

LOCAL = ZoneInfo("America/Los_Angeles")
BLOCKED = csv_bytes([["Group", "N", "Met"], ["Asian", 12, 3], ["White", 140, 61]])
CORRECTED = csv_bytes([["Group", "N", "Met"], ["Asian", 12, "N<10"], ["White", 140, 61]])


@pytest.fixture
def sealed(tmp_path: Path):
    plain, store = tmp_path / "plain", tmp_path / "store"
    plain.mkdir()
    (plain / "students.parquet").write_bytes(b"synthetic rows")
    master = vault.new_data_key()
    vault.seal_package(plain, store, master, "pkg-acceptance")

    def erase(sender, **kwargs):
        record = vault.destroy_package_key(store, "pkg-acceptance")
        return [
            {"what": "Package pkg-acceptance data key", "method": "crypto_erase", "detail": record.wrapped_key_sha256},
            {"what": "Package pkg-acceptance files", "method": "overwrite", "detail": f"{record.ciphertext_files} files deleted"},
        ]

    agency_copies_due.connect(erase, dispatch_uid="browser-erase")
    yield store, master
    agency_copies_due.disconnect(dispatch_uid="browser-erase")


def test_results_are_checked_then_the_data_are_destroyed(page: Page, browser: Browser, live_server, frozen_clock, sealed, django_capture_on_commit_callbacks) -> None:
    from datashare.catalog.services import seed_catalog

    seed_catalog()
    frozen_clock.set(dt.datetime(2026, 3, 2, 10, tzinfo=LOCAL))
    ada = make_user("ada@evergreen.edu", organization=make_org("Evergreen State University"), full_name="Ada Lovelace")
    steward, secret = make_staff("sam@agency.gov", Role.DATA_STEWARD)
    agreement = approved_agreement(ada, steward, django_capture_on_commit_callbacks)
    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.ACTIVE)
    agreement.refresh_from_db()

    # The researcher sends a draft whose table holds a 3.
    sign_in(page, ada.email, PASSWORD)
    page.goto("/results/")
    assert_accessible(page)
    page.get_by_role("link", name=f"{agreement.label}: {agreement.title}").click()
    page.get_by_label("Title of the product").fill("Absence and graduation")
    page.get_by_label("Draft product").set_input_files({"name": "report.csv", "mimeType": "text/csv", "buffer": BLOCKED})
    for checkbox in page.get_by_role("checkbox").all():
        checkbox.check()
    assert_accessible(page)
    page.get_by_role("button", name="Send for review").click()
    expect(page.get_by_text("Blocks release")).to_be_visible()
    expect(page.get_by_text("report.csv, cell C2 (Met)")).to_be_visible()
    assert_accessible(page)
    submission = ResultsSubmission.objects.get()

    # The steward cannot clear it while it blocks, and asks for changes.
    staff = browser.new_context(base_url=live_server.url).new_page()
    sign_in(staff, steward.email, PASSWORD, totp_secret=secret)
    staff.goto("/results/queue/")
    assert_accessible(staff)
    staff.get_by_role("link", name="Absence and graduation").click()
    staff.get_by_label("Clear for release").check()
    staff.get_by_role("button", name="Send review").click()
    expect(staff.get_by_text("still has 1 blocking finding")).to_be_visible()
    assert_accessible(staff)
    staff.get_by_label("Request changes").check()
    staff.get_by_label("Message to the researcher").fill("Suppress the count of 3 in C2.")
    staff.get_by_role("button", name="Send review").click()
    expect(staff.get_by_text("Changes requested", exact=True).first).to_be_visible()

    # The researcher uploads the corrected table; the steward clears it.
    page.reload()
    page.get_by_label("Corrected product").set_input_files({"name": "report-v2.csv", "mimeType": "text/csv", "buffer": CORRECTED})
    page.get_by_label("What changed").fill("Suppressed the Asian group's count.")
    page.get_by_role("button", name="Upload version 2").click()
    expect(page.get_by_text("0 blocking findings")).to_be_visible()
    page.get_by_role("link", name="compare with version 1").click()
    expect(page.get_by_text("report.csv, cell C2 (Met)")).to_be_visible()
    assert_accessible(page)
    staff.reload()
    staff.get_by_label("Clear for release").check()
    staff.get_by_role("button", name="Send review").click()
    expect(staff.get_by_text("Cleared for release").first).to_be_visible()
    submission.refresh_from_db()
    assert submission.status == ResultsStatus.CLEARED

    # The agreement is terminated: destruction is due in 45 days; our package is crypto-erased.
    agreements.terminate(actor=steward, agreement=agreement, reason="Study finished early.")
    d = Destruction.objects.get(agreement=agreement)
    assert d.due == dt.date(2026, 4, 16)
    store, master = sealed
    with pytest.raises(vault.VaultError):
        vault.package_key(store, "pkg-acceptance", master)
    assert not (store / "pkg-acceptance").exists()

    # Reminders on the scheduled days, as the hourly job would send them.
    reminded = []
    day = dt.datetime(2026, 3, 3, 10, tzinfo=LOCAL)
    while day.date() <= dt.date(2026, 4, 15):
        frozen_clock.set(day)
        before = AuditEvent.objects.filter(action="destruction.reminded").count()
        destruction.send_due_destruction_reminders()
        if AuditEvent.objects.filter(action="destruction.reminded").count() > before:
            reminded.append(day.date())
        day += dt.timedelta(days=1)
    assert reminded == [dt.date(2026, 3, 17), dt.date(2026, 4, 2), dt.date(2026, 4, 9), dt.date(2026, 4, 15)]

    # The researcher signs Exhibit C online.
    page.goto(f"/retention/destruction/{d.public_id}/")
    assert_accessible(page)
    page.locator("#id_item-1-copy").fill("Analysis extract")
    page.locator("#id_item-1-medium").fill("Enclave network share")
    page.locator("#id_item-1-method").select_option("crypto_erase")
    page.locator("#id_item-1-destroyed_on").fill("2026-04-14")
    page.locator("#id_item-1-destroyed_by").fill("Ada Lovelace")
    page.get_by_label("I agree to sign this certificate electronically").check()
    page.get_by_label("Type your full name to sign").fill("Ada Lovelace")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign the certificate").click()
    expect(page.get_by_text("Signed by Ada Lovelace")).to_be_visible()
    assert_accessible(page)

    # The steward verifies; our own certificate lists the erased key and files.
    staff.goto(f"/retention/destruction/{d.public_id}/")
    staff.get_by_role("button", name="Verify the destruction").click()
    expect(staff.get_by_text("Destruction verified")).to_be_visible()
    expect(staff.get_by_role("cell", name="Package pkg-acceptance data key")).to_be_visible()
    assert_accessible(staff)
    d.refresh_from_db()
    assert d.status == DestructionStatus.VERIFIED

    # The public register shows the destruction; the reports page draws its charts; both pass axe.
    page.goto("/retention/register/")
    expect(page.get_by_text("Destroyed, verified")).to_be_visible()
    assert_accessible(page)
    staff.goto("/retention/reports/")
    expect(staff.get_by_role("img", name="Destruction of data (agreements)", exact=False)).to_be_visible()
    assert_accessible(staff)
    staff.goto("/retention/disclosures/")
    assert_accessible(staff)
