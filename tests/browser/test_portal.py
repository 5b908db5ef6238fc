"""Browser: an anonymous visitor finds a published dataset from the home page, previews it and
downloads the CSV; a requestor defines a custom aggregate table, it is computed and suppressed,
a steward (with MFA) releases it, and the requestor downloads it. axe on every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from datashare.accounts.models import Role
from datashare.aggregate.sample import write_sample
from datashare.portal.models import AggregateRequest, AggregateStatus
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, make_org, make_staff, make_user
from tests.portal.conftest import published_version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def source(settings, tmp_path: Path) -> Path:
    src = write_sample(tmp_path / "source", districts=2, schools_per_district=2, students=400,
                       seed=3)
    settings.PORTAL_SOURCE_DIR = str(src)
    return src


@pytest.mark.usefixtures("builds_once")
def test_a_visitor_finds_previews_and_downloads_a_dataset(page: Page, source: Path) -> None:
    builder = make_staff("builder@agency.gov", Role.DATA_STEWARD)[0]
    approver = make_staff("approver@agency.gov", Role.DATA_STEWARD)[0]
    published_version(builder, approver, "enrollment")

    page.goto("/")
    page.get_by_role("link", name="The public data portal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Public data")
    assert_accessible(page)
    page.get_by_label("Search").fill("enrolled")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Enrollment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrollment, 2024-25")
    expect(page.get_by_role("img", name="Enrollment, state, by student group, 2024-25")).to_be_visible()
    expect(page.get_by_role("cell", name="Washington State").first).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Organization level").select_option("district")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("cell", name="Sample District 11111").first).to_be_visible()
    assert_accessible(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV (").click()
    csv = Path(info.value.path()).read_text()
    assert csv.splitlines()[0].startswith("school_year,organization_level,organization")
    assert "N<10" in csv


def test_a_custom_aggregate_table_is_computed_released_and_downloaded(
        page: Page, browser: Browser, live_server, source: Path) -> None:
    make_user("rosa@university.example", organization=make_org("Evergreen State University"))
    _, secret = make_staff("sam@agency.gov", Role.DATA_STEWARD)

    sign_in(page, "rosa@university.example", PASSWORD)
    page.goto("/data/requests/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Custom aggregate tables")
    assert_accessible(page)
    page.get_by_label("What is the table for?").fill("Graduation by income for a board report")
    page.get_by_label("Measure").select_option(label="Four-year graduation rate")
    page.get_by_label("Organization level").select_option("district")
    page.get_by_label("Low Income").check()
    page.get_by_label("School years").fill("2024-25")
    page.get_by_role("button", name="Compute the table").click()
    expect(page.get_by_text("Awaiting steward approval")).to_be_visible()
    assert_accessible(page)
    req = AggregateRequest.objects.get()
    assert req.status == AggregateStatus.READY

    steward = browser.new_context(base_url=live_server.url)
    staff_page = steward.new_page()
    staff_page.set_default_timeout(15_000)
    sign_in(staff_page, "sam@agency.gov", PASSWORD, secret)
    staff_page.goto("/data/staff/requests/")
    assert_accessible(staff_page)
    staff_page.get_by_role("link", name=req.reference).click()
    expect(staff_page.get_by_label("Decision")).to_be_visible()
    assert_accessible(staff_page)
    staff_page.get_by_label("Decision").select_option("approve")
    staff_page.get_by_role("button", name="Record decision").click()
    expect(staff_page.get_by_text("Approved: ready to download")).to_be_visible()
    steward.close()

    page.reload()
    expect(page.get_by_text("Approved: ready to download")).to_be_visible()
    expect(page.get_by_text("N<10").first).to_be_visible()
    assert_accessible(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Table (CSV").click()
    rows = Path(info.value.path()).read_text().splitlines()
    assert rows[0].startswith("school_year,organization_level") and len(rows) > 3
