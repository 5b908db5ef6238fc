"""Anonymous visitors: catalog, search, dataset page with preview and chart, downloads, the
read-only API and data.json (validated against the DCAT-US 1.1 schema)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from django.test import Client

from tests.portal.conftest import published_version

pytestmark = pytest.mark.django_db
SCHEMA = Path(__file__).parents[2] / "src/datashare/portal/schema/dcat-us-1.1.json"


@pytest.fixture
def published(steward, second_steward, builds_once):
    return published_version(steward, second_steward, "enrollment")


def test_catalog_search_and_dataset_page(published) -> None:
    c = Client()
    home = c.get("/")
    assert b'href="/data/"' in home.content
    page = c.get("/data/")
    assert page.status_code == 200 and b"Enrollment" in page.content
    assert b"Enrollment" not in c.get("/data/?q=graduation").content.split(b"<h2>")[1]
    assert b"Enrollment" in c.get("/data/?topic=Enrollment&q=enrolled").content
    assert c.get("/data/?year=1999").status_code == 200  # a bad filter is ignored, not a 500
    detail = c.get("/data/enrollment/")
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "<svg" in html and "<rect" in html and "style=" not in html and "<script>" not in html
    assert "N&lt;10" in html or "N<10" in html
    assert "Washington State" in html  # the preview starts at the state rows
    filtered = c.get("/data/enrollment/", {"organization_level": "district", "grade": "03"})
    assert filtered.status_code == 200 and "Sample District" in filtered.content.decode()
    assert c.get("/data/enrollment/?page=abc").status_code == 200
    assert c.get("/data/enrollment/?year=1999-00").status_code == 404
    assert c.get("/data/no-such-dataset/").status_code == 404


def test_downloads_are_public_and_cacheable(published) -> None:
    c = Client()
    csv = c.get(f"/data/enrollment/v{published.pk}/csv")
    assert csv.status_code == 200 and "public" in csv["Cache-Control"]
    body = b"".join(csv.streaming_content).decode()
    assert body.splitlines()[0].startswith("school_year,organization_level,organization")
    assert c.get(f"/data/enrollment/v{published.pk}/parquet").status_code == 200
    assert c.get(f"/data/enrollment/v{published.pk}/exe").status_code == 404
    assert c.get(f"/data/graduation-4yr/v{published.pk}/csv").status_code == 404


def test_read_only_api_filters_and_pages(published) -> None:
    c = Client()
    listing = c.get("/api/v1/portal/datasets").json()
    assert [d["slug"] for d in listing] == ["enrollment"]
    rows = c.get("/api/v1/portal/datasets/enrollment/rows",
                 {"organization_level": "state", "grade": "All Grades", "limit": 5}).json()
    assert rows["total"] > 5 and len(rows["rows"]) == 5 and rows["school_year"] == "2024-25"
    assert all(r["organization"] == "WA" for r in rows["rows"])
    nxt = c.get("/api/v1/portal/datasets/enrollment/rows",
                {"organization_level": "state", "grade": "All Grades", "limit": 5,
                 "offset": 5}).json()
    assert nxt["rows"][0] != rows["rows"][0]
    assert c.get("/api/v1/portal/datasets/enrollment/rows", {"limit": 100000}).status_code == 422
    assert c.get("/api/v1/portal/datasets/enrollment/rows", {"year": "1999-00"}).status_code == 404
    assert c.get("/api/v1/portal/datasets/nope").status_code == 404
    assert c.post("/api/v1/portal/datasets").status_code == 405


def test_data_json_is_valid_dcat_us(published) -> None:
    doc = Client().get("/data.json").json()
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())
    assert doc["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    (entry,) = doc["dataset"]
    assert entry["accessLevel"] == "public"
    assert {d["mediaType"] for d in entry["distribution"]} == {"text/csv",
                                                              "application/vnd.apache.parquet"}
    # and the schema refuses what DCAT-US refuses
    broken = {**doc, "dataset": [{k: v for k, v in entry.items() if k != "publisher"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_suggestions_partial_for_the_request_form(published) -> None:
    c = Client()
    assert b"Enrollment" in c.get("/data/suggestions/", {"q": "enrollment"}).content
    assert b"<li>" not in c.get("/data/suggestions/", {"q": ""}).content


def test_the_request_form_suggests_published_tables(published, requestor) -> None:
    from datashare.catalog.services import seed_catalog
    from datashare.intake import services as intake
    from tests.portal.conftest import client_for

    seed_catalog()
    r = intake.create_draft(actor=requestor, title="Enrollment trends", kind="deidentified")
    c = client_for(requestor)
    page = c.get(f"/requests/{r.public_id}/edit/project/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'hx-get="/data/suggestions/"' in html and 'href="/data/"' in html
    found = Client().get("/data/suggestions/", {"purpose": "How did enrolment change?"})
    assert b"Enrollment" in found.content
