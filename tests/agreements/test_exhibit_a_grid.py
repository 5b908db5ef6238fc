"""Exhibit A shows which school years each element covers: an element x year table on the
agreement's page, the signing page and in the document (tables of eight years on paper)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from datashare.agreements import selectors, services
from datashare.agreements.models import Agreement
from datashare.agreements.pdf import agreement_html
from tests.agreements.conftest import approved_agreement

pytestmark = pytest.mark.django_db


def _grid(html: str) -> list[list[str]]:
    """The element x year table of a page or document, as text rows (header first)."""
    start = html.index("<table", html.index("Exhibit A"))
    table = html[start : html.index("</table>", start)]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        text = [re.sub(r"<[^>]+>|not approved|approved", "", c) for c in cells]
        rows.append([t.replace("&#10003;", "✓").replace("&ndash;", "-").strip() for t in text])
    return rows


def test_exhibit_a_shows_which_years_each_element_covers_as_an_element_by_year_table(
    requestor, steward, signatories, django_capture_on_commit_callbacks
):
    # Requested and approved as asked: days absent for two years, homelessness for one.
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    assert a.exhibit_a == {"days_absent": [2022, 2023], "homeless": [2023]}
    expected = [
        ["Data element", "2021-22", "2022-23"],
        ["Days absent (Attendance)", "✓", "✓"],
        ["Homeless (Program participation)", "-", "✓"],
    ]
    owner = Client()
    owner.force_login(requestor)
    page = owner.get(reverse("agreements:detail", args=[a.public_id])).content.decode()
    assert _grid(page) == expected
    assert _grid(agreement_html(a)) == expected
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    first = a.signers.order_by("position").first()
    assert first is not None
    assert (
        _grid(owner.get(reverse("agreements:sign", args=[first.public_id])).content.decode())
        == expected
    )


def test_a_long_exhibit_a_is_cut_into_tables_of_eight_years_for_the_page(
    requestor, steward, django_capture_on_commit_callbacks
):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    Agreement.objects.filter(pk=a.pk).update(
        exhibit_a={"days_absent": list(range(2010, 2026)), "homeless": [2023]}
    )
    a.refresh_from_db()
    grids = selectors.exhibit_a_grids(a, columns=8)
    assert [(g.years[0], g.years[-1]) for g in grids] == [
        ("2009-10", "2016-17"),
        ("2017-18", "2024-25"),
    ]
    homeless = next(cells for row, cells in grids[1].rows if row.identifier == "homeless")
    assert [year for year, approved in homeless if approved] == ["2022-23"]
    assert len(selectors.exhibit_a_grids(a)) == 1
