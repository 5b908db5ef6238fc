"""The elements and school years step: ranges of years, for one element, a file or everything."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from datashare.catalog.selectors import catalog
from datashare.intake import services
from datashare.intake.models import RequestKind

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_a_range_applied_to_every_element_gives_each_the_years_it_exists_in(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    cat = catalog()
    response = _client(requestor).post(
        reverse("intake:edit", args=[r.public_id, "data"]), {"action": "range", "range_from": "2014-15", "range_scope": "all"}
    )
    assert response.status_code == 200
    r.refresh_from_db()
    offered = [e for e in cat.by_identifier.values() if not e.is_direct_identifier]
    assert set(r.selections) == {e.identifier for e in offered}
    assert r.selections["gender"] == list(range(2015, cat.latest + 1))
    assert r.selections["foster_care"] == list(range(2017, cat.latest + 1))  # collected from 2016-17
    assert "birth_date" not in r.selections


def test_a_range_narrows_the_chosen_elements_and_a_file_range_touches_only_its_file(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    c = _client(requestor)
    url = reverse("intake:edit", args=[r.public_id, "data"])
    c.post(url, {"action": "standard"})
    r.refresh_from_db()
    standard = set(r.selections)
    c.post(url, {**_current(r), "action": "range", "range_from": "2019-20", "range_to": "2021-22", "range_scope": "chosen"})
    r.refresh_from_db()
    assert set(r.selections) == standard and all(v == [2020, 2021, 2022] for v in r.selections.values())
    c.post(url, {**_current(r), "action": "range_file:programs", "range_programs_from": "2022-23", "range_programs_to": "2022-23"})
    r.refresh_from_db()
    assert r.selections["homeless"] == [2023] and r.selections["gender"] == [2020, 2021, 2022]


def _current(r) -> dict[str, object]:
    """What the page posts back for the current selections."""
    data: dict[str, object] = {"inc": list(r.selections)}
    for k, years in r.selections.items():
        data[f"from_{k}"] = f"{years[0] - 1}-{years[0] % 100:02d}"
        data[f"to_{k}"] = f"{years[-1] - 1}-{years[-1] % 100:02d}"
    return data


def test_one_element_is_chosen_with_its_own_range_and_unticking_removes_it(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    c = _client(requestor)
    url = reverse("intake:edit", args=[r.public_id, "data"])
    c.post(url, {"inc": ["days_absent"], "from_days_absent": "2020-21", "to_days_absent": "2018-19", "action": "draft"})
    r.refresh_from_db()
    assert r.selections == {"days_absent": [2019, 2020, 2021]}  # a reversed range means the same years
    c.post(url, {"from_days_absent": "2020-21", "to_days_absent": "2018-19", "action": "draft"})
    r.refresh_from_db()
    assert r.selections == {}


def test_years_chosen_one_by_one_through_the_api_survive_a_save_of_the_page(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    services.update_draft(actor=requestor, data_request=r, changes={"selections": {"days_absent": [2016, 2020]}})
    c = _client(requestor)
    url = reverse("intake:edit", args=[r.public_id, "data"])
    page = c.get(url).content.decode()
    assert 'name="keep_days_absent" value="2016,2020"' in page and "Chosen year by year: 2015-16, 2019-20" in page
    c.post(url, {"inc": ["days_absent"], "from_days_absent": "2015-16", "to_days_absent": "2019-20", "keep_days_absent": "2016,2020", "action": "draft"})
    r.refresh_from_db()
    assert r.selections == {"days_absent": [2016, 2020]}


def test_a_direct_identifier_is_not_offered_nor_called_not_collected_and_a_forged_one_is_refused(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    c = _client(requestor)
    url = reverse("intake:edit", args=[r.public_id, "data"])
    page = c.get(url).content.decode()
    assert 'id="inc_birth_date"' not in page and "not collected" not in page
    assert "Direct identifier: only in identifiable requests" in page
    page = c.post(url, {"inc": ["birth_date"], "from_birth_date": "2019-20", "to_birth_date": "2019-20", "action": "draft"}).content.decode()
    assert "Date of birth is a direct identifier" in page
    r.refresh_from_db()
    assert r.selections == {}
    services.update_draft(actor=requestor, data_request=r, changes={"kind": RequestKind.IDENTIFIABLE})
    assert 'id="inc_birth_date"' in c.get(url).content.decode()


def test_a_made_up_school_year_is_refused_with_the_reason(requestor) -> None:
    r = services.create_draft(actor=requestor, title="T")
    page = _client(requestor).post(
        reverse("intake:edit", args=[r.public_id, "data"]), {"action": "range", "range_from": "2007-08", "range_scope": "all"}
    ).content.decode()
    assert "before 2009-10" in page
    r.refresh_from_db()
    assert r.selections == {}
