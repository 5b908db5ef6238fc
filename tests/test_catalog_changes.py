"""Catalog changes go through audited services, also from the Django admin; a direct
identifier defined in datashare.elements is never re-tiered below direct identifier, and
intake holds to the same rule as the extract engine even if a catalog row says otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from datashare.audit.models import AuditEvent
from datashare.catalog import services as catalog_services
from datashare.catalog.models import DataElement
from datashare.catalog.services import seed_catalog
from datashare.elements import DIRECT_IDENTIFIERS, effective_tier
from datashare.intake import services
from datashare.intake.errors import IncompleteRequest
from datashare.intake.models import RequestKind
from tests.factories import enable_totp, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _catalog(db: None) -> None:
    seed_catalog()


@pytest.fixture
def admin_client() -> Client:
    admin = make_user("ada@agency.example", roles=())
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    enable_totp(admin)
    c = Client()
    c.force_login(admin)
    return c


def _form(element: DataElement, **changes: Any) -> dict[str, Any]:
    data = {
        "name": element.name,
        "file": element.file_id,
        "dtype": element.dtype,
        "tier": element.tier,
        "definition": element.definition,
        "first_year": element.first_year,
        "last_year": "" if element.last_year is None else element.last_year,
        "value_labels": "{}" if not element.value_labels else __import__("json").dumps(element.value_labels),
        "position": element.position,
    }
    data.update(changes)
    return data


def test_re_tiering_an_element_in_the_admin_writes_an_audit_event(admin_client: Client) -> None:
    gender = DataElement.objects.get(identifier="gender")
    response = admin_client.post(f"/admin/catalog/dataelement/{gender.pk}/change/", _form(gender, tier="sensitive"))
    assert response.status_code == 302, response.content.decode()[:2000]
    gender.refresh_from_db()
    assert gender.tier == "sensitive"
    event = AuditEvent.objects.get(action="catalog.element_changed")
    assert (event.actor_label, event.old_values, event.new_values) == (
        "ada@agency.example", {"tier": "standard"}, {"tier": "sensitive"}
    )


def test_ssn_cannot_be_re_tiered_to_standard_in_the_admin(admin_client: Client) -> None:
    ssn = DataElement.objects.get(identifier="ssn")
    response = admin_client.post(f"/admin/catalog/dataelement/{ssn.pk}/change/", _form(ssn, tier="standard"))
    assert response.status_code == 200
    assert "never re-tiered below direct identifier" in response.content.decode()
    ssn.refresh_from_db()
    assert ssn.tier == "direct_identifier"
    assert not AuditEvent.objects.filter(action="catalog.element_changed").exists()


def test_the_catalog_service_refuses_to_lower_any_direct_identifier() -> None:
    for identifier in DIRECT_IDENTIFIERS:
        element = DataElement.objects.get(identifier=identifier)
        element.tier = "sensitive"
        with pytest.raises(catalog_services.CatalogError, match="never re-tiered"):
            catalog_services.save_element(actor=None, element=element, changed=["tier"])


def test_a_deidentified_draft_refuses_ssn_even_when_a_catalog_row_was_changed_behind_the_services() -> None:
    DataElement.objects.filter(identifier="ssn").update(tier="standard")  # e.g. plain SQL
    requestor = make_user("rosa@university.example", organization=make_org())
    r = services.create_draft(actor=requestor, title="Study", kind=RequestKind.DEIDENTIFIED)
    with pytest.raises(IncompleteRequest) as refused:
        services.update_draft(actor=requestor, data_request=r, changes={"selections": {"ssn": [2023]}})
    assert "direct identifier" in refused.value.errors["data"]["el_ssn"][0]
    assert effective_tier("ssn", "standard") == "direct_identifier"


def test_catalog_pages_in_the_admin_cannot_delete_elements(admin_client: Client) -> None:
    gender = DataElement.objects.get(identifier="gender")
    assert admin_client.get(f"/admin/catalog/dataelement/{gender.pk}/delete/").status_code == 403


def test_adding_a_loaded_school_year_in_the_admin_is_audited(admin_client: Client) -> None:
    response = admin_client.post("/admin/catalog/sourceload/add/", {"school_year": 2026})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditEvent.objects.filter(action="catalog.source_load_added", new_values__school_year=2026).exists()
    refused = admin_client.post("/admin/catalog/sourceload/add/", {"school_year": 9999})
    assert refused.status_code == 200 and "to 2100" in refused.content.decode()
