"""Each published version says which attacker model its disclosure proof used, on the dataset
page and in its certificate, in plain language; a rate table whose proof does not yet cover
what the suppression labels reveal says so. A table whose published file fails the audit is
refused, and the steward sees why."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from django.test import Client

from datashare.aggregate import publish
from datashare.aggregate.build import TableRequest, build
from datashare.audit.models import AuditEvent
from datashare.core.errors import TransitionNotAllowed, ValidationFailed
from datashare.disclosure.model import ATTACKER_MODEL
from datashare.portal import services
from datashare.portal.models import Dataset, VersionStatus
from tests.aggregate.engine_states import joint_rates, two_table_rates
from tests.portal.conftest import client_for, published_version

pytestmark = pytest.mark.django_db
NOT_YET = "does not yet account for what the suppression labels reveal"


def test_a_rate_table_says_plainly_that_its_proof_ignores_the_labels(
        steward, second_steward, monkeypatch: pytest.MonkeyPatch) -> None:
    two_table_rates(monkeypatch)  # the engine before issue 12's rate model
    version = published_version(steward, second_steward, "graduation_4yr")
    assert version.labels_accounted is False
    assert {m["attacker_model"] for m in version.proof_models} == {ATTACKER_MODEL}
    html = Client().get("/data/graduation-4yr/").content.decode()
    assert "What the disclosure check covers" in html
    assert "Limit: this table's disclosure proof " + NOT_YET in html
    assert "labels not included" in html and ATTACKER_MODEL in html
    cert = Client().get(f"/data/graduation-4yr/v{version.pk}/certificate.json").json()
    assert cert["labels_accounted"] is False
    assert all(NOT_YET in m["text"] for m in cert["attacker_model"].values())
    # The build's audit event records the model too.
    built = AuditEvent.objects.get(action="dataset_version.built")
    assert built.new_values["labels_accounted"] is False
    assert built.new_values["attacker_model"] == {"numerator": ATTACKER_MODEL,
                                           "denominator": ATTACKER_MODEL}


def test_once_rates_are_audited_as_one_model_the_page_says_so_by_itself(
        steward, second_steward, monkeypatch: pytest.MonkeyPatch) -> None:
    joint_rates(monkeypatch, "labels-v3")
    # Any rate table will do: a quick one (dropout's proof takes ~25x as long on this sample).
    version = published_version(steward, second_steward, "graduation_5yr")
    assert version.labels_accounted is True
    html = Client().get("/data/graduation-5yr/").content.decode()
    assert "labels included" in html and "labels-v3" in html
    assert NOT_YET not in html and "Limit:" not in html
    assert "numerators and denominators together" in html


@pytest.mark.usefixtures("builds_once")
def test_a_count_table_says_its_proof_reads_the_labels(steward, second_steward) -> None:
    version = published_version(steward, second_steward, "enrollment")
    assert version.labels_accounted is True
    html = Client().get("/data/enrollment/").content.decode()
    assert "labels included" in html and NOT_YET not in html and "Limit:" not in html
    cert = Client().get(f"/data/enrollment/v{version.pk}/certificate.json").json()
    assert cert["attacker_model"]["count"]["attacker_model"] == ATTACKER_MODEL
    assert "N&lt;10" not in cert["attacker_model"]["count"]["text"]  # JSON, not HTML
    # The stored CSV is the very file the publisher-side audit read.
    data = version.csv_file.open("rb").read()
    assert hashlib.sha256(data).hexdigest() == cert["csv_sha256"]
    assert cert["audited_from"] == "the published CSV file"


def test_a_table_whose_published_file_fails_its_audit_is_refused_with_the_reason(
        steward, second_steward, sample_source, monkeypatch: pytest.MonkeyPatch) -> None:
    real_csv = publish.published_csv
    truth = build(sample_source, TableRequest("enrollment", 2025)).frame["count"].to_numpy()

    def leaky(table: pd.DataFrame) -> bytes:
        # A writer bug that prints the complementary cells' true values: the small cells
        # beside them can be worked out from the file, though the suppressor's proof passed.
        out = table.copy()
        comp = (out["suppression"] == "complementary").to_numpy()
        out.loc[comp, "count"] = truth[comp]
        return real_csv(out)

    monkeypatch.setattr(publish, "published_csv", leaky)
    services.ensure_datasets()
    dataset = Dataset.objects.get(table_key="enrollment")
    version = services.request_build(actor=steward, dataset=dataset, school_year=2025)
    version = services.run_build(version_id=version.pk)
    assert version.status == VersionStatus.FAILED and not version.csv_file
    assert version.error.startswith(
        "not released: the audit of the published file failed for"), version.error
    assert "first: count at" in version.error  # which cell, for the steward to look at
    page = client_for(second_steward).get(f"/data/staff/versions/{version.pk}/")
    assert "Not released:" in page.content.decode()
    listing = client_for(second_steward).get("/data/staff/versions/").content.decode()
    assert "the audit of the published file failed" in listing
    with pytest.raises(TransitionNotAllowed):  # a failed version cannot be published
        services.approve_version(actor=second_steward, version=version)
    assert Client().get(f"/data/enrollment/v{version.pk}/csv").status_code == 404


@pytest.mark.usefixtures("builds_once")
def test_a_draft_without_a_passing_certificate_cannot_be_approved(steward,
                                                                  second_steward) -> None:
    services.ensure_datasets()
    dataset = Dataset.objects.get(table_key="graduation_4yr")
    version = services.request_build(actor=steward, dataset=dataset, school_year=2025)
    version = services.run_build(version_id=version.pk)
    assert version.status == VersionStatus.DRAFT
    version.certificate = {**version.certificate, "passed": False,
                           "parts": [{**version.certificate["parts"][0], "passed": False,
                                      "independent_audit": {"passed": False, "measures": {},
                                                            "failures": []}}]}
    version.save(update_fields=["certificate"])
    with pytest.raises(ValidationFailed, match="audit of the published file failed"):
        services.approve_version(actor=second_steward, version=version)
