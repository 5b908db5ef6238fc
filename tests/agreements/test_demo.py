"""The demo seeds agreements in every state, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from datashare.agreements.models import Agreement, AgreementStatus

# The portal seeder's tables are built once per run (see the fixture in tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("builds_once")]


def test_the_demo_has_an_agreement_in_every_state_and_a_second_run_adds_none(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.AGREEMENT_SIGNING_KEY_FILE = tmp_path / "pki" / "signing-key.pem"
    settings.AGREEMENT_SIGNING_CERT_FILE = tmp_path / "pki" / "signing.pem"
    settings.AGREEMENT_CA_CERT_FILE = tmp_path / "pki" / "ca.pem"
    call_command("demo", stdout=io.StringIO())
    assert set(Agreement.objects.values_list("status", flat=True)) == set(AgreementStatus.values)
    count = Agreement.objects.count()
    second = io.StringIO()
    call_command("demo", stdout=second)
    assert Agreement.objects.count() == count
    assert "demo agreements already seeded" in second.getvalue()
    terminated = Agreement.objects.get(status=AgreementStatus.TERMINATED)
    assert terminated.destruction_due is not None
