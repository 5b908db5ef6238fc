"""The agreements API: read, status and PDF for those who may see the agreement; 404 for others."""

from __future__ import annotations

import pytest
from django.test import Client

from datashare.agreements import services
from tests.agreements.conftest import approved_agreement

pytestmark = pytest.mark.django_db


def test_the_requestor_reads_their_agreement_its_status_and_pdf_and_an_outsider_gets_404(requestor, outsider, steward, signatories, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.send_for_signature(actor=steward, agreement=a)
    owner = Client()
    owner.force_login(requestor)
    listed = owner.get("/api/v1/agreements/").json()
    assert [row["number"] for row in listed] == [a.number]
    one = owner.get(f"/api/v1/agreements/{a.public_id}").json()
    assert one["status"] == "out_for_signature" and one["exhibit_a"] == {"days_absent": [2022, 2023], "homeless": [2023]}
    status = owner.get(f"/api/v1/agreements/{a.public_id}/status").json()
    assert status["next_signer"] == requestor.full_name
    pdf = owner.get(f"/api/v1/agreements/{a.public_id}/document.pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")

    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get("/api/v1/agreements/").json() == []
    for path in ("", "/status", "/document.pdf"):
        assert stranger.get(f"/api/v1/agreements/{a.public_id}{path}").status_code == 404
    assert Client().get(f"/api/v1/agreements/{a.public_id}").status_code == 401
