"""The requestor chooses the package's file formats on the request's security step (Parquet and
CSV are always delivered); the agency's default is ticked until they answer; a format the
product cannot write is refused, on the page and on the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from datashare.catalog.selectors import catalog as load_catalog
from datashare.intake import services
from datashare.intake.errors import IncompleteRequest
from datashare.intake.models import DataRequest
from datashare.intake.snapshot import take
from tests.intake.conftest import complete_request


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_requestor_ticks_the_formats_they_want_on_the_security_step(requestor, settings) -> None:  # type: ignore[no-untyped-def]
    settings.EXTRACT_FORMATS = ["parquet", "csv", "dta", "sav"]
    r = complete_request(requestor)
    assert r.delivery_formats is None
    c = _client(requestor)
    step = reverse("intake:edit", args=[r.public_id, "security"])
    page = c.get(step).content.decode()
    # Not answered yet: the agency's default is ticked, SAS is not.
    assert 'value="dta" id="id_delivery_formats_0" checked' in page
    assert 'value="sav" id="id_delivery_formats_1" checked' in page
    assert 'value="xpt" id="id_delivery_formats_2" checked' not in page
    answers = {f: getattr(r, f) for f in ("storage_location", "encryption_at_rest", "encryption_in_transit", "access_controls", "software", "people_with_access")}
    response = c.post(step, {**answers, "delivery_formats": ["sav", "xpt"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    r.refresh_from_db()
    assert r.delivery_formats == ["sav", "xpt"]
    assert "File formats: Parquet, CSV, SPSS (.sav), SAS transport (.xpt)" in take(r, load_catalog(), [])["Data security"]
    assert 'value="xpt" id="id_delivery_formats_2" checked' in c.get(step).content.decode()


def test_a_format_the_product_cannot_write_is_refused(requestor) -> None:
    r = complete_request(requestor)
    c = _client(requestor)
    step = reverse("intake:edit", args=[r.public_id, "security"])
    page = c.post(step, {"software": "R", "delivery_formats": ["exe"]}).content.decode()
    assert "Select a valid choice" in page
    with pytest.raises(IncompleteRequest) as caught:
        services.update_draft(actor=requestor, data_request=r, changes={"delivery_formats": ["dta", "dta"]})
    assert "delivery_formats" in caught.value.errors["security"]
    response = c.patch(f"/api/v1/requests/{r.public_id}", data=json.dumps({"delivery_formats": ["exe"]}), content_type="application/json")
    assert response.status_code == 422
    response = c.patch(f"/api/v1/requests/{r.public_id}", data=json.dumps({"delivery_formats": ["xpt"]}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert DataRequest.objects.get(pk=r.pk).delivery_formats == ["xpt"]
