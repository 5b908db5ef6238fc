"""Browser: what a new researcher and a steward stumbled on (issue 18), measured as they meet it:
actions to choose years, Tab presses to "Save and continue", pages that scroll sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from datashare.catalog.selectors import catalog as load_catalog
from datashare.intake import services
from datashare.intake.models import DataRequest
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, make_org, make_user
from tests.intake.conftest import catalog  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)

MAX_TABS = 40


def _researcher():
    return make_user("ada@evergreen.edu", organization=make_org("Evergreen State University"), full_name="Ada Lovelace")


def _tabs_to(page: Page, name: str, *, limit: int) -> int:
    """Tab presses from the top of the page until the button called ``name`` has the focus."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("() => (document.activeElement && document.activeElement.textContent || '').trim()") == name:
            return presses
    raise AssertionError(f"{name!r} not reached in {limit} Tab presses")


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways (0: it fits the viewport)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_choosing_2014_15_onward_for_every_element_takes_three_actions(page: Page) -> None:
    user = _researcher()
    r = services.create_draft(actor=user, title="Absence study")
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/requests/{r.public_id}/edit/data/")
    assert_accessible(page)
    page.get_by_label("From", exact=True).select_option("2014-15")  # 1
    page.get_by_label("For", exact=True).select_option(label="Every element in the catalog")  # 2
    page.get_by_role("button", name="Apply these years").click()  # 3
    expect(page.get_by_text("applied to")).to_be_visible()
    assert_accessible(page)
    r.refresh_from_db()
    latest = load_catalog().latest
    assert r.selections["gender"] == list(range(2015, latest + 1))
    assert r.selections["days_absent"] == list(range(2015, latest + 1))
    assert "birth_date" not in r.selections
    expect(page.locator("#inc_gender")).to_be_checked()
    expect(page.locator("#from_gender")).to_have_value("2014-15")


def test_save_and_continue_is_within_forty_tab_presses_and_one_skip_link_away(page: Page) -> None:
    user = _researcher()
    r = services.create_draft(actor=user, title="Absence study")
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/requests/{r.public_id}/edit/data/")
    assert _tabs_to(page, "Save and continue", limit=MAX_TABS) <= MAX_TABS
    # With every file open (a requestor choosing element by element), the skip link still
    # takes the keyboard straight to the buttons.
    page.get_by_role("button", name="Select the standard base file").click()
    page.goto(page.url)
    page.evaluate("() => document.querySelectorAll('details.grid-file').forEach(d => { d.open = true; })")
    presses = _tabs_to(page, "Skip to “Save and continue”", limit=MAX_TABS)
    page.keyboard.press("Enter")
    presses += _tabs_to(page, "Save and continue", limit=MAX_TABS)
    assert presses <= MAX_TABS
    assert_accessible(page)


def test_the_grid_fits_1280_pixels_and_a_phone(page: Page) -> None:
    user = _researcher()
    r = services.create_draft(actor=user, title="Absence study")
    services.update_draft(actor=user, data_request=r, changes={"selections": {"gender": [2020, 2021]}})
    sign_in(page, user.email, PASSWORD)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/requests/{r.public_id}/edit/data/")
        for summary in page.locator("details.grid-file summary").all():
            summary.click()
        assert _sideways(page) == 0, f"the grid scrolls sideways at {width} px"
        assert_accessible(page)
    assert DataRequest.objects.get(pk=r.pk).selections == {"gender": [2020, 2021]}


def test_no_page_scrolls_sideways_on_a_390_pixel_phone(page: Page, browser, live_server) -> None:  # type: ignore[no-untyped-def]
    from datashare.accounts.models import Role
    from tests.factories import make_staff
    from tests.intake.conftest import complete_request

    user = _researcher()
    for title in ("Chronic absence and dropout among ninth graders in rural districts", "Dual credit"):
        services.submit(actor=user, data_request=complete_request(user, title=title))
    draft = services.create_draft(actor=user, title="Absence study")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, user.email, PASSWORD)
    for path in ("/", "/faq/", "/agreement/", "/contact/", "/requests/", "/requests/catalog/", "/requests/new/", f"/requests/{draft.public_id}/edit/data/"):
        page.goto(path)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        assert _sideways(page) == 0, f"{path} scrolls sideways at 390 px"
        assert_accessible(page)
    steward, secret = make_staff("steward@agency.gov", Role.DATA_STEWARD)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    staff = context.new_page()
    sign_in(staff, steward.email, PASSWORD, totp_secret=secret)
    # A steward lands on the queue, their work, straight after signing in.
    expect(staff.get_by_role("heading", level=1)).to_have_text("Review queue")
    assert _sideways(staff) == 0, "the queue scrolls sideways at 390 px"
    assert_accessible(staff)
    staff.get_by_role("link", name="Dual credit").click()
    # Measure the request's page, not the half-loaded document between the two pages.
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Dual credit")
    staff.wait_for_load_state()
    assert _sideways(staff) == 0, "a request's page scrolls sideways at 390 px"
    assert_accessible(staff)
    context.close()
