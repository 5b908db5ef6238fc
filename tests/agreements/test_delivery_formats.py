"""The files a package holds are a term of the agreement: copied from the request when the
agreement is drafted (the request may change later; the agreement may not), stated in
Exhibit B of the document and on its pages, carried into an amendment and a re-issue."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from datashare.agreements import selectors, services
from datashare.agreements.models import Agreement, AgreementStatus
from datashare.agreements.pdf import agreement_html
from datashare.intake.models import DataRequest
from tests.agreements.conftest import approved_agreement

pytestmark = pytest.mark.django_db

fill_migration = importlib.import_module(
    "datashare.agreements.migrations.0003_fill_delivery_formats"
)


def test_the_agreement_copies_the_requestors_formats_and_keeps_them_when_the_request_changes(
    requestor, steward, django_capture_on_commit_callbacks
):
    a = approved_agreement(
        requestor, steward, django_capture_on_commit_callbacks, formats=["sav", "dta"]
    )
    assert a.delivery_formats == ["dta", "sav"]  # catalog order
    DataRequest.objects.filter(pk=a.data_request_id).update(delivery_formats=["xpt"])
    a = Agreement.objects.get(pk=a.pk)
    assert a.delivery_formats == ["dta", "sav"]
    assert (
        "Files delivered (over the Agency's SFTP server)",
        "Parquet, CSV, Stata (.dta), SPSS (.sav)",
    ) in selectors.exhibit_b_rows(a)


def test_without_an_answer_the_agreement_states_the_agency_default_of_the_day_it_is_drafted(
    requestor, steward, settings, django_capture_on_commit_callbacks
):
    settings.EXTRACT_FORMATS = ["parquet", "csv", "xpt"]
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    assert a.data_request.delivery_formats is None
    assert a.delivery_formats == ["xpt"]
    settings.EXTRACT_FORMATS = ["parquet", "csv", "dta", "sav"]
    a.refresh_from_db()
    assert a.delivery_formats == ["xpt"]


def test_the_document_the_page_the_signing_page_and_the_api_state_the_formats(
    requestor, steward, signatories, django_capture_on_commit_callbacks
):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks, formats=["sav"])
    html = agreement_html(a)
    exhibit_b = html[html.index('id="exhibit-b"') : html.index('id="exhibit-c"')]
    assert (
        "Files delivered (over the Agency&#x27;s SFTP server)" in exhibit_b
        and "Parquet, CSV, SPSS (.sav)" in exhibit_b
    )
    owner = Client()
    owner.force_login(requestor)
    assert (
        "Parquet, CSV, SPSS (.sav)"
        in owner.get(reverse("agreements:detail", args=[a.public_id])).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    first = a.signers.order_by("position").first()
    assert first is not None and first.user == requestor
    assert (
        "Files delivered: Parquet, CSV, SPSS (.sav)."
        in owner.get(reverse("agreements:sign", args=[first.public_id])).content.decode()
    )
    assert owner.get(f"/api/v1/agreements/{a.public_id}").json()["delivery_formats"] == ["sav"]


def test_an_amendment_starts_from_the_agreements_formats_not_the_requests_later_answer(
    requestor, steward, signatories, settings, django_capture_on_commit_callbacks
):
    settings.EXTRACT_FORMATS = ["parquet", "csv", "dta", "sav"]
    from tests.agreements.test_term import executed_agreement

    executed = executed_agreement(requestor, steward, django_capture_on_commit_callbacks)
    assert executed.delivery_formats == ["dta", "sav"]  # the agency's default when it was drafted
    DataRequest.objects.filter(pk=executed.data_request_id).update(delivery_formats=["xpt"])
    amendment = services.request_amendment(
        actor=requestor, agreement=executed, description="Add 2024 attendance."
    )
    assert DataRequest.objects.get(pk=amendment.data_request_id).delivery_formats == ["dta", "sav"]


def test_a_reissue_keeps_the_formats_and_one_voided_before_they_were_a_term_states_them(
    requestor, steward, django_capture_on_commit_callbacks
):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks, formats=["sav"])
    services.void(actor=steward, agreement=a, reason="Wrong term.")
    DataRequest.objects.filter(pk=a.data_request_id).update(delivery_formats=["xpt"])
    assert services.reissue(actor=steward, agreement=a).delivery_formats == ["sav"]

    b = approved_agreement(requestor, steward, django_capture_on_commit_callbacks, formats=["dta"])
    Agreement.objects.filter(pk=b.pk).update(delivery_formats=None)
    services.void(actor=steward, agreement=b, reason="Wrong term.")
    assert services.reissue(actor=steward, agreement=b).delivery_formats == ["dta"]


def test_the_data_migration_fills_old_agreements_from_their_request_but_not_one_out_for_signature(
    requestor, steward, settings, django_capture_on_commit_callbacks
):
    settings.EXTRACT_FORMATS = ["parquet", "csv", "dta", "sav"]
    chose = approved_agreement(
        requestor, steward, django_capture_on_commit_callbacks, formats=["xpt"]
    )
    silent = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    in_flight = approved_agreement(
        requestor, steward, django_capture_on_commit_callbacks, formats=["dta"]
    )
    Agreement.objects.filter(pk=in_flight.pk).update(status=AgreementStatus.OUT_FOR_SIGNATURE)
    Agreement.objects.update(delivery_formats=None)  # as they were before the field existed
    fill_migration.fill(apps, None)
    assert Agreement.objects.get(pk=chose.pk).delivery_formats == ["xpt"]
    assert Agreement.objects.get(pk=silent.pk).delivery_formats == ["dta", "sav"]
    # Its signers review a text without the formats: it keeps that text, and its package
    # follows the request (delivery.jobs.formats_for).
    assert Agreement.objects.get(pk=in_flight.pk).delivery_formats is None
    assert all(
        label != selectors.DELIVERY_FORMATS_LABEL
        for label, _ in selectors.exhibit_b_rows(Agreement.objects.get(pk=in_flight.pk))
    )
