from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_renders_in_chromium_and_is_accessible(page: Page) -> None:
    page.goto("/")
    assert page.get_by_role("heading", level=1).is_visible()
    assert_accessible(page)
