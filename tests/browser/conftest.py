"""Browser tests: Playwright for Python driving Debian's /usr/bin/chromium against the live server.

Never a downloaded browser. Every page a test visits should be checked with ``assert_accessible``
(axe-core, WCAG 2.1 AA, zero violations).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests make
# between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser(live_server) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    # Asking for the live server here starts it first, so it stops after the browser has
    # closed. Chromium keeps connections open past each test's context; the server's thread
    # for one ends when it closes, and then closes the database connection it shares with
    # the tests. Once the server has stopped that connection may no longer be shared, so a
    # thread ending after it raised (20-40 "unhandled thread exception" warnings per run).
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    _join_request_threads()


def _join_request_threads(timeout: float = 10.0) -> None:
    """Wait for the live server's request threads (Django's, one per connection; daemon
    threads its shutdown does not wait for) to end now that the browser has gone."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and "process_request_thread" in thread.name:
            thread.join(timeout)


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


_axe = Axe()


# What Chromium says when the document axe is reading is replaced under it: a click just before
# the check started a navigation (CI saw axe read a null document, twice in two runs).
_DOCUMENT_REPLACED = ("Cannot read properties of null", "Execution context was destroyed", "navigat")


def assert_accessible(page: Page) -> None:
    """axe-core WCAG 2.1 A/AA on the current page: zero violations, or the report in the failure.
    Waits for the page to load first; a navigation that replaces the document mid-check (the
    test's last click) means checking the new page once it has loaded, at most three times."""
    for attempt in range(3):
        page.wait_for_load_state()
        try:
            results = _axe.run(page, options=WCAG_AA)
            break
        except PlaywrightError as error:
            if attempt == 2 or not any(sign in str(error) for sign in _DOCUMENT_REPLACED):
                raise
            page.wait_for_timeout(250)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


def sign_in(page: Page, email: str, password: str, totp_secret: str | None = None) -> None:
    """Sign in through allauth's pages (and the TOTP step when the user has MFA)."""
    from tests.factories import totp_code

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    # exact: the page also offers "Sign in with a passkey".
    page.get_by_role("button", name="Sign In", exact=True).click()
    if totp_secret is not None:
        page.get_by_label("Code:", exact=True).fill(totp_code(totp_secret))
        page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_load_state()


def sign_up(page: Page, *, email: str, password: str, full_name: str, organization: str, kind: str) -> None:
    """Fill and send the sign-up form; returns on the "verify your email" page (the email is sent)."""
    page.get_by_label("Full name").fill(full_name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Organization:", exact=True).fill(organization)
    page.get_by_label("Kind of organization").select_option(label=kind)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_label("Password (again):").fill(password)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
