"""Finding things (issue 18): the home page leads to the agreement, the FAQ, the catalog and a
contact; staff land on their work; the catalog and the queue can be searched and sorted."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from datashare.accounts.adapter import AccountAdapter
from datashare.intake import services
from tests.factories import make_staff
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def test_the_home_page_links_the_agreement_the_faq_the_catalog_and_a_contact(settings) -> None:
    settings.CONTACT_EMAIL = "student.information@agency.example"
    home = _client().get("/").content.decode()
    for name in ("web:agreement_template", "web:faq", "intake:catalog", "web:contact"):
        url = reverse(name)
        assert f'href="{url}"' in home, name
        page = _client().get(url)
        assert page.status_code == 200, name
    agreement = _client().get(reverse("web:agreement_template")).content.decode()
    assert "Exhibit C" in agreement and "within 45 days" in agreement and "at most three years" in agreement
    faq = _client().get(reverse("web:faq")).content.decode()
    assert "research number (RID)" in faq and "2009-10 school year and later" in faq
    assert "student.information@agency.example" in _client().get(reverse("web:contact")).content.decode()


def test_staff_land_on_their_work_and_requestors_on_their_requests_after_signing_in(requestor) -> None:
    steward, _ = make_staff("sam@agency.gov", "data_steward")
    reviewer, _ = make_staff("dee@agency.gov", "department_reviewer")
    for user, expected in ((steward, "/staff/"), (reviewer, "/staff/"), (requestor, "/requests/")):
        request = RequestFactory().get("/accounts/login/")
        request.user = user
        assert AccountAdapter(request).get_login_redirect_url(request) == expected
    # The staff dashboard of a data steward is the queue.
    assert _client(steward).get("/staff/").url == reverse("intake:queue")


def test_the_catalog_has_contents_and_a_search(requestor) -> None:
    page = _client().get(reverse("intake:catalog")).content.decode()
    assert 'aria-label="Files in the catalog"' in page and 'href="#file-programs"' in page
    found = _client().get(reverse("intake:catalog"), {"q": "homeless"}).content.decode()
    assert "1 element matches" in found and "McKinney-Vento" in found and "Gender" not in found
    none = _client().get(reverse("intake:catalog"), {"q": "zzz-nothing"}).content.decode()
    assert "No element matches" in none


def test_the_queue_searches_titles_and_sorts(requestor, steward) -> None:
    for title in ("Beta absence study", "Alpha graduation study", "Gamma absence trends"):
        services.submit(actor=requestor, data_request=complete_request(requestor, title=title))
    c = _client(steward)
    found = c.get(reverse("intake:queue"), {"q": "absence"}).content.decode()
    assert "Beta absence study" in found and "Gamma absence trends" in found and "Alpha graduation study" not in found
    by_title = c.get(reverse("intake:queue"), {"sort": "title"}).content.decode()
    assert by_title.index("Alpha graduation") < by_title.index("Beta absence") < by_title.index("Gamma absence")
    newest = c.get(reverse("intake:queue"), {"sort": "newest"}).content.decode()
    assert newest.index("Gamma absence") < newest.index("Beta absence")
    assert c.get(reverse("intake:queue"), {"sort": "nonsense"}).status_code == 200
