"""Small trust breakers and set-up (issue 18): the timeline names who acted, emails greet with
the agency and link to the port served, `make run PORT=…`, and Spark only for the tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from datashare.intake import services
from tests.factories import make_user
from tests.intake.conftest import complete_request

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_data_manager_reads_who_acted_not_you_for_the_requestors_actions(requestor) -> None:
    manager = make_user("grace@evergreen.edu", organization=requestor.organization, full_name="Grace Hopper")
    r = complete_request(requestor)
    services.designate_data_manager(actor=requestor, data_request=r, email=manager.email)
    services.accept_data_manager_role(actor=manager, data_request=r)
    page = _client(manager).get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "Draft started (Ada Lovelace, the requestor)" in page
    assert "Data manager accepted the role (you)" in page
    assert "Draft started (you)" not in page
    own = _client(requestor).get(reverse("intake:detail", args=[r.public_id])).content.decode()
    assert "Draft started (you)" in own and "Data manager accepted the role (Grace Hopper, the data manager)" in own


def test_account_emails_greet_with_the_agency_name_not_the_host(settings, requestor) -> None:
    settings.AGENCY_NAME = "Office of the State Superintendent"
    settings.SITE_URL = "http://127.0.0.1:8123"
    Client().post(reverse("account_reset_password"), {"email": requestor.email})
    body = mail.outbox[-1].body
    assert body.startswith("Hello from Office of the State Superintendent!")
    assert "testserver!" not in body and "http://127.0.0.1:8123" in body


def _make(*args: str) -> str:
    return subprocess.run(["make", "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_run_serves_the_port_asked_for_and_the_demo_emails_link_to_it() -> None:
    out = _make("run", "PORT=8123")
    assert "datashare run --bind 127.0.0.1:8123" in out
    assert "SITE_URL=${SITE_URL:-http://127.0.0.1:8123} .venv/bin/datashare demo" in out


def test_make_run_does_not_install_spark_and_make_test_does() -> None:
    run_sync = [line for line in _make("run").splitlines() if " sync " in line]
    assert run_sync and all("--extra spark" not in line for line in run_sync)
    test_sync = [line for line in _make("pytest").splitlines() if " sync " in line]
    assert any("--extra spark" in line for line in test_sync)
