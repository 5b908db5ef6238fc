"""The public register (on by default) and the stewards' reports page with server-drawn SVG."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from datashare.agreements.models import Agreement, AgreementStatus
from datashare.retention.destruction import schedule_destruction
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def test_the_register_lists_agreements_and_destruction_without_naming_people(client, agreement, requestor) -> None:
    other = Agreement.objects.get(pk=agreement.pk)
    page = client.get(reverse("retention:register"))
    assert page.status_code == 200
    body = page.content.decode()
    assert agreement.label in body and agreement.organization.name in body
    assert "Not yet due" in body
    assert requestor.full_name not in body and requestor.email not in body
    # Ended long ago and never certified: the register says it is overdue.
    Agreement.objects.filter(pk=other.pk).update(status=AgreementStatus.TERMINATED, termination_date=dt.date(2020, 1, 1))
    other.refresh_from_db()
    schedule_destruction(agreement=other, termination_date=dt.date(2020, 1, 1))
    assert "Overdue (was due 2020-02-15)" in client.get(reverse("retention:register")).content.decode()


def test_the_agency_can_turn_the_register_off(client, settings) -> None:
    settings.PUBLIC_REGISTER_ENABLED = False
    assert client.get(reverse("retention:register")).status_code == 404


def test_stewards_see_the_reports_as_svg_charts_with_tables(client, agreement) -> None:
    from datashare.accounts.models import Role

    auditor, _ = make_staff("aud@agency.gov", Role.AUDITOR)
    client.force_login(auditor)
    page = client.get(reverse("retention:reports"))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("<svg") == 5 and "<script" not in body.split("</header>")[-1] and "style=" not in body
    assert "Agreements active and expiring" in body and "decision → agreement executed" in body


def test_requestors_do_not_see_the_reports(client, requestor) -> None:
    assert client.get(reverse("retention:reports")).status_code == 302
    client.force_login(requestor)
    assert client.get(reverse("retention:reports")).status_code == 403


def test_a_new_request_from_a_requestor_with_overdue_destruction_is_flagged_for_stewards(client, agreement, requestor, steward) -> None:
    from datashare.intake import services as intake
    from tests.intake.conftest import complete_request

    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.TERMINATED, termination_date=dt.date(2020, 1, 1))
    agreement.refresh_from_db()
    schedule_destruction(agreement=agreement, termination_date=dt.date(2020, 1, 1))
    r = complete_request(requestor, title="A second study")
    intake.submit(actor=requestor, data_request=r)
    client.force_login(steward)
    body = client.get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "Destruction overdue" in body and agreement.label in body
    client.force_login(requestor)
    assert "Destruction overdue" not in client.get(reverse("intake:detail", args=[r.public_id])).content.decode()
