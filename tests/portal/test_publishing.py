"""A steward builds a table for a year; it is suppressed, audited and stored with its
certificate; another steward publishes it; a newer version supersedes it and the old one stays
downloadable."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow.parquet as pq
import pytest

from datashare.aggregate import definitions
from datashare.aggregate.build import TableRequest, build
from datashare.audit.models import AuditEvent
from datashare.core.errors import Forbidden, TransitionNotAllowed
from datashare.disclosure.api import audit_table
from datashare.portal import services
from datashare.portal.models import Dataset, DatasetVersion, VersionStatus
from tests.portal.conftest import client_for, published_version

pytestmark = pytest.mark.django_db


def test_build_suppress_audit_approve_and_supersede(steward, second_steward,
                                                     django_capture_on_commit_callbacks,
                                                     sample_source) -> None:
    services.ensure_datasets()
    dataset = Dataset.objects.get(table_key="graduation_4yr")
    with django_capture_on_commit_callbacks(execute=True):
        version = services.request_build(actor=steward, dataset=dataset, school_year=2025)
    version.refresh_from_db()  # the task ran on commit (immediate backend in tests)
    assert version.status == VersionStatus.DRAFT
    cert = version.certificate
    assert cert["passed"] and cert["policy"] == "ospi"
    assert cert["seconds"] > 0  # the whole build's wall time: the next year's queue order
    assert all(p["independent_audit"]["passed"] for p in cert["parts"])
    assert version.rows > 0 and version.cells_suppressed > 0
    assert any("N<10" in line for line in version.notes)
    # The stored CSV is the published table: it passes the audit from its published cells.
    table = pd.read_csv(version.csv_file.open("rb"), dtype={"organization": str})
    spec = build(sample_source, TableRequest("graduation_4yr", 2025)).parts[0].spec
    assert audit_table(table, spec, numerator="numerator", denominator="denominator").ok
    assert pq.read_table(io.BytesIO(version.parquet_file.open("rb").read())).num_rows == len(table)

    with pytest.raises(Forbidden):  # not on your own build
        services.approve_version(actor=steward, version=version)
    services.approve_version(actor=second_steward, version=version)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED and version.approved_by == second_steward
    with pytest.raises(TransitionNotAllowed):
        services.approve_version(actor=second_steward, version=version)

    newer = published_version(steward, second_steward)
    version.refresh_from_db()
    assert newer.number == 2 and version.status == VersionStatus.SUPERSEDED
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"dataset_version.requested", "dataset_version.built", "dataset_version.published",
            "dataset_version.superseded"} <= actions
    # The superseded version stays downloadable with its certificate.
    anon = client_for_anonymous()
    old = anon.get(f"/data/{dataset.slug}/v{version.pk}/csv")
    assert old.status_code == 200 and b"organization" in b"".join(old.streaming_content)
    cert_resp = anon.get(f"/data/{dataset.slug}/v{version.pk}/certificate.json")
    assert cert_resp.json()["passed"] is True


def client_for_anonymous():
    from django.test import Client

    return Client()


def test_a_year_missing_from_the_source_fails_without_files(steward) -> None:
    services.ensure_datasets()
    dataset = Dataset.objects.get(table_key="enrollment")
    version = services.request_build(actor=steward, dataset=dataset, school_year=2012)
    services.run_build(version_id=version.pk)
    version.refresh_from_db()
    assert version.status == VersionStatus.FAILED
    assert "not in the source" in version.error and not version.csv_file


@pytest.mark.usefixtures("builds_once")
def test_a_requestor_cannot_build_or_approve(requestor, steward, second_steward) -> None:
    services.ensure_datasets()
    dataset = Dataset.objects.get(table_key="graduation_4yr")
    with pytest.raises(Forbidden):
        services.request_build(actor=requestor, dataset=dataset, school_year=2025)
    version = services.request_build(actor=steward, dataset=dataset, school_year=2025)
    services.run_build(version_id=version.pk)
    c = client_for(requestor)
    assert c.post(f"/data/staff/versions/{version.pk}/approve").status_code == 403
    assert c.get("/data/staff/versions/").status_code == 403
    # a draft is not public
    assert client_for_anonymous().get(f"/data/{dataset.slug}/v{version.pk}/csv").status_code == 404
    # the steward who built it gets a refusal page, not a 500
    resp = client_for(steward).post(f"/data/staff/versions/{version.pk}/approve")
    assert resp.status_code == 403
    resp = client_for(second_steward).post(f"/data/staff/versions/{version.pk}/approve")
    assert resp.status_code == 302


def test_a_year_is_queued_longest_first_by_the_last_builds(
        steward, django_capture_on_commit_callbacks) -> None:
    # The two long-queue workers take the year two at a time: a long table queued last
    # would run alone at the end. Tables with a build are queued by its wall seconds,
    # longest first (a failed build's time counts; a newer build's over an older one's);
    # tables never built go first, in the report-card order.
    datasets = {ds.table_key: ds for ds in services.ensure_datasets()}
    took = {"enrollment": [150.0], "discipline": [300.0, 160.0], "dropout": [49.0],
            "chronic_absence": [227.7], "assessment_participation": [200.7]}
    for key, seconds in took.items():
        for n, s in enumerate(seconds, start=1):
            DatasetVersion.objects.create(dataset=datasets[key], school_year=2024, number=n,
                                          status=VersionStatus.FAILED,
                                          certificate={"seconds": s})
    DatasetVersion.objects.create(dataset=datasets["graduation_4yr"], school_year=2024,
                                  status=VersionStatus.FAILED, certificate={})
    with django_capture_on_commit_callbacks(execute=False):
        services.request_year(actor=steward, school_year=2025)
    queued = [v.dataset.table_key for v in
              DatasetVersion.objects.filter(school_year=2025).order_by("pk")]
    never = [t.key for t in definitions.TABLES if t.key not in took]
    assert queued == [*never, "chronic_absence", "assessment_participation", "discipline",
                      "enrollment", "dropout"]


def test_the_staff_page_builds_through_the_form(steward, django_capture_on_commit_callbacks) -> None:
    c = client_for(steward)
    assert c.get("/data/staff/versions/").status_code == 200
    bad = c.post("/data/staff/versions/", {"dataset": "graduation_4yr", "school_year": "2025"})
    assert bad.status_code == 200 and "is not like 2024-25" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ok = c.post("/data/staff/versions/", {"dataset": "graduation_5yr",
                                              "school_year": "2024-25"})
    assert ok.status_code == 302
    version = Dataset.objects.get(table_key="graduation_5yr").versions.get()
    assert version.status == VersionStatus.DRAFT


def test_a_steward_builds_every_table_of_a_year_in_one_request(
        steward, requestor, django_capture_on_commit_callbacks) -> None:
    # One version per standard table, in the report-card order, each built by a long-queue
    # task after commit (two workers take them two at a time); a requestor may not.
    with pytest.raises(Forbidden):
        services.request_year(actor=requestor, school_year=2025)
    refused = client_for(requestor).post("/data/staff/versions/",
                                         {"dataset": "*", "school_year": "2024-25"})
    assert refused.status_code == 403
    assert not DatasetVersion.objects.exists()
    bad = client_for(steward).post("/data/staff/versions/", {"dataset": "*", "school_year": "2025"})
    assert bad.status_code == 200 and "is not like 2024-25" in bad.content.decode()
    assert not DatasetVersion.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        resp = client_for(steward).post("/data/staff/versions/",
                                        {"dataset": "*", "school_year": "2024-25"}, follow=True)
    assert resp.redirect_chain[-1][1] == 302
    assert "Building 8 tables for 2024-25." in resp.content.decode()
    versions = list(DatasetVersion.objects.filter(school_year=2025).order_by("pk"))
    assert [v.dataset.table_key for v in versions] == [t.key for t in definitions.TABLES]
    assert len(queued) == len(definitions.TABLES)  # one build task each, after commit
    assert {v.status for v in versions} == {VersionStatus.BUILDING}
    assert AuditEvent.objects.filter(action="dataset_version.requested").count() == 8
