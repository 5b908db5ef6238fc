"""An executed agreement's extract: queued on execution, cut by the long worker from Exhibit A,
sealed, reviewed and released by a steward, who must acknowledge a risk above the threshold;
a worker killed mid-job is retried; the agreement's end revokes access; destruction erases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from datashare.agreements.models import Agreement, AgreementStatus, AuthorizedUser
from datashare.core.errors import DomainError
from datashare.delivery import jobs
from datashare.delivery.models import AccountStatus, ExtractJob, JobStatus, SftpAccount
from datashare.extract import vault
from datashare.synthetic import generate
from tests.agreements.conftest import approved_agreement

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("source") / "src"
    generate(out, scale=0.001, seed=3)
    return out


@pytest.fixture
def delivery_dirs(settings, tmp_path: Path, source: Path):  # type: ignore[no-untyped-def]
    settings.EXTRACT_SOURCE_DIR = source
    settings.DELIVERY_STORE = tmp_path / "store"
    settings.AGENCY_PRIVATE_DIR = tmp_path / "agency"
    settings.CROSSWALK_KEY_FILE = tmp_path / "agency-key"
    settings.MASTER_KEY_FILE = tmp_path / "master.key"
    settings.EXTRACT_FORMATS = ["parquet", "csv", "dta"]
    (tmp_path / "agency-key").write_text("cd" * 32 + "\n")
    (tmp_path / "master.key").write_text("ef" * 32 + "\n")
    return tmp_path


@pytest.fixture
def executed(requestor, steward, settings, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    settings.EXTRACT_FORMATS = ["parquet", "csv", "dta"]  # the default the agreement states (drafted now)
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks,
                           approved={"days_absent": [2023], "homeless": [2023]})  # fmt: skip
    a.status = AgreementStatus.EXECUTED
    a.term_end = timezone.localdate() + dt.timedelta(days=365)
    a.save(update_fields=["status", "term_end"])
    if not a.authorized_users.filter(user=requestor).exists():
        AuthorizedUser.objects.create(agreement=a, user=requestor, name="Ana", email=requestor.email, role="PI")
    return a


def test_execution_queues_a_job_the_worker_cuts_and_a_steward_releases(
    executed, steward, requestor, delivery_dirs, django_capture_on_commit_callbacks  # type: ignore[no-untyped-def]
) -> None:
    from datashare.agreements.models import Agreement
    from datashare.agreements.signals import agreement_executed

    with django_capture_on_commit_callbacks(execute=True):
        agreement_executed.send(sender=Agreement, agreement=executed, actor=None)
    job = ExtractJob.objects.get(agreement=executed)  # the immediate backend ran the task
    assert job.status == JobStatus.REVIEW, job.error
    assert job.attempts == 1 and job.rows["attendance"] > 0
    assert {"attendance.parquet", "attendance.csv", "attendance.dta", "programs.dta", "SHA256SUMS"} <= set(job.files) | {"SHA256SUMS"}
    # Sealed: nothing readable in the store, the crosswalk with the agency, no plaintext left.
    store = delivery_dirs / "store"
    assert (store / job.package_id / "package.key").exists()
    assert not (delivery_dirs / "agency" / "work" / job.package_id).exists()
    assert (delivery_dirs / "agency" / "crosswalks" / f"{job.package_id}.crosswalk.enc").exists()
    assert not list(store.rglob("*.crosswalk.enc"))

    # The requestor sees the status; an outsider-to-staff requestor cannot open the review page.
    client = Client()
    client.force_login(requestor)
    assert "Ready for the steward" in client.get(reverse("delivery:mine")).content.decode()
    assert client.get(reverse("delivery:staff_job", args=[job.public_id])).status_code == 403
    assert client.post(reverse("delivery:release_job", args=[job.public_id])).status_code == 403

    staff = Client()
    staff.force_login(steward)
    page = staff.get(reverse("delivery:staff_job", args=[job.public_id])).content.decode()
    assert "Risk of the delivered package" in page and job.files["attendance.csv"]["sha256"] in page
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("delivery:release_job", args=[job.public_id]), {"acknowledge_risk": "on"})
    assert response.status_code == 302
    # The account details reach the authorized user by email (no credential in it).
    sent = [m for m in mail.outbox if "ready" in m.subject]
    assert sent and requestor.email in sent[0].to and "sftp" in sent[0].body.lower()
    job.refresh_from_db()
    assert job.status == JobStatus.RELEASED
    account = SftpAccount.objects.get(user=requestor)
    assert account.package_id == job.package_id and account.expires_on == executed.term_end

    # The agreement ends: access is revoked; destruction crypto-erases the package.
    from datashare.agreements.signals import agreement_ended

    agreement_ended.send(sender=Agreement, agreement=executed, termination_date=timezone.localdate(), actor=None)
    assert SftpAccount.objects.get(pk=account.pk).status == AccountStatus.REVOKED
    # Retention's destruction step asks the holders of the agency's copies to erase them.
    from datashare.agreements.signals import agency_copies_due

    lines = [line for _r, resp in agency_copies_due.send(sender=Agreement, agreement=executed)
             if isinstance(resp, list) for line in resp]  # fmt: skip
    assert [line["method"] for line in lines if job.package_id in line["what"]] == ["crypto_erase", "overwrite"]
    assert not (store / job.package_id).exists()
    assert not (delivery_dirs / "agency" / "crosswalks" / f"{job.package_id}.crosswalk.enc").exists()
    assert jobs.destroy_agreement_packages(agreement=executed)[0].key_destroyed is False  # idempotent


def test_a_risk_above_the_threshold_must_be_acknowledged(executed, steward, delivery_dirs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.queue_extract(actor=None, agreement=executed)
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    job.risk_report = {**job.risk_report, "exceeds_threshold": True}
    job.save(update_fields=["risk_report"])
    with pytest.raises(DomainError, match="acknowledge"):
        jobs.release(actor=steward, job=job, acknowledge_risk=False)
    jobs.release(actor=steward, job=job, acknowledge_risk=True)
    job.refresh_from_db()
    assert job.risk_acknowledged_by == steward


def test_a_requestor_cannot_release_their_own_extract(executed, requestor, delivery_dirs) -> None:  # type: ignore[no-untyped-def]
    from datashare.accounts.models import Role, RoleGrant

    RoleGrant.objects.create(user=requestor, role=Role.DATA_STEWARD)
    requestor.forget_roles()
    job = jobs.queue_extract(actor=None, agreement=executed)
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    with pytest.raises(DomainError, match="own request"):
        jobs.release(actor=requestor, job=job, acknowledge_risk=True)


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(executed, delivery_dirs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.queue_extract(actor=None, agreement=executed)
    assert jobs.claim(str(job.public_id))  # a worker took it ... and was killed
    assert not jobs.claim(str(job.public_id))  # not while its lease runs
    later = timezone.now() + jobs.LEASE + dt.timedelta(minutes=1)
    assert jobs.claim(str(job.public_id), now=later)
    job.refresh_from_db()
    assert job.attempts == 2


def test_the_sweep_queues_again_a_job_whose_worker_was_killed_and_it_completes(
    executed, delivery_dirs, django_capture_on_commit_callbacks  # type: ignore[no-untyped-def]
) -> None:
    from datashare.core.scheduler import registered_jobs

    assert "delivery.requeue_abandoned" in set(registered_jobs())
    job = jobs.queue_extract(actor=None, agreement=executed)
    assert jobs.claim(str(job.public_id))  # a worker took it ... and was SIGKILLed: its task never returns
    # A killed attempt's leftovers: a plaintext work folder and a half-sealed folder in the store.
    work = delivery_dirs / "agency" / "work" / job.package_id
    work.mkdir(parents=True)
    (work / "student.csv").write_text("rid\n")
    (delivery_dirs / "store" / f".{job.package_id}.seal-dead").mkdir(parents=True)
    assert jobs.requeue_abandoned() == []  # not while its lease runs
    later = timezone.now() + jobs.LEASE + dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):  # the immediate backend runs the task
        assert jobs.requeue_abandoned(now=later) == [str(job.public_id)]
    job.refresh_from_db()
    assert job.status == JobStatus.REVIEW and job.attempts == 2, job.error
    assert not work.exists()
    assert sorted(p.name for p in (delivery_dirs / "store").iterdir()) == [job.package_id]
    assert jobs.requeue_abandoned(now=later) == []  # done: nothing to queue again


def test_a_bad_exhibit_a_fails_the_job_with_its_reason(executed, delivery_dirs) -> None:  # type: ignore[no-untyped-def]
    executed.exhibit_a = {"days_absent": [2022], "lunch_menu": [2023]}
    executed.save(update_fields=["exhibit_a"])
    job = jobs.queue_extract(actor=None, agreement=executed)
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "unknown element 'lunch_menu'" in job.error
    assert not (delivery_dirs / "store" / job.package_id).exists()


def _sealed_table(store: Path, package_id: str, name: str):  # type: ignore[no-untyped-def]
    import io

    import pyarrow.parquet as pq

    key = vault.package_key(store, package_id, bytes.fromhex("ef" * 32))
    with vault.open_file(store, package_id, name, key) as reader:
        return pq.read_table(io.BytesIO(reader.read(0, reader.size)))


def test_the_package_holds_each_element_only_for_the_years_exhibit_a_approves_for_it(
    requestor, steward, delivery_dirs, django_capture_on_commit_callbacks  # type: ignore[no-untyped-def]
) -> None:
    # Approved as requested: days absent for 2021-22 and 2022-23, homelessness for 2022-23 only.
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    assert a.exhibit_a == {"days_absent": [2022, 2023], "homeless": [2023]}
    Agreement.objects.filter(pk=a.pk).update(status=AgreementStatus.EXECUTED, term_end=timezone.localdate() + dt.timedelta(days=365))
    job = jobs.queue_extract(actor=None, agreement=Agreement.objects.get(pk=a.pk))
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    assert job.status == JobStatus.REVIEW, job.error
    assert job.spec["element_years"] == {"homeless": ["2022-23"]}
    store = delivery_dirs / "store"
    attendance = _sealed_table(store, job.package_id, "attendance.parquet")
    programs = _sealed_table(store, job.package_id, "programs.parquet")
    assert set(attendance.column("school_year").to_pylist()) == {"2021-22", "2022-23"}
    assert attendance.filter(attendance.column("days_absent").is_valid()).num_rows > 0
    # Not the union: no programs row (so no homelessness) in 2021-22.
    assert programs.num_rows > 0 and set(programs.column("school_year").to_pylist()) == {"2022-23"}
    from datashare.delivery.pipeline import _read_sealed_json

    book = _read_sealed_json(store, job.package_id, bytes.fromhex("ef" * 32), "codebook.json")
    assert book["element_years"] == {"homeless": ["2022-23"]}


def test_an_outsider_gets_no_extract_status(executed, outsider, delivery_dirs) -> None:  # type: ignore[no-untyped-def]
    jobs.queue_extract(actor=None, agreement=executed)
    client = Client()
    client.force_login(outsider)
    assert executed.label not in client.get(reverse("delivery:mine")).content.decode()


def test_rejecting_erases_the_package(executed, steward, delivery_dirs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.queue_extract(actor=None, agreement=executed)
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    record = jobs.reject(actor=steward, job=job, reason="re-cut")
    assert record.key_destroyed
    with pytest.raises(vault.PackageErased):
        vault.package_key(delivery_dirs / "store", job.package_id, bytes.fromhex("ef" * 32))


def test_the_package_has_the_formats_the_agreement_states_though_the_request_changed_and_the_pages_say_so(
    requestor, steward, delivery_dirs, django_capture_on_commit_callbacks  # type: ignore[no-untyped-def]
) -> None:
    # Chosen on the request's security step (tests/intake/test_delivery_formats.py): SPSS only,
    # and copied into the agreement's terms when it was drafted.
    from datashare.intake.models import DataRequest

    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks,
                           approved={"days_absent": [2023], "homeless": [2023]}, formats=["sav"])  # fmt: skip
    Agreement.objects.filter(pk=a.pk).update(status=AgreementStatus.EXECUTED, term_end=timezone.localdate() + dt.timedelta(days=365))
    # The request changes after the agreement: the package still holds what the agreement states.
    DataRequest.objects.filter(pk=a.data_request_id).update(delivery_formats=["dta", "xpt"])
    executed = Agreement.objects.get(pk=a.pk)
    job = jobs.queue_extract(actor=None, agreement=executed)
    assert job.formats == ["parquet", "csv", "sav"]
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    assert job.status == JobStatus.REVIEW, job.error
    assert "attendance.sav" in job.files and not any(name.endswith(".dta") for name in job.files)
    client = Client()
    client.force_login(requestor)
    assert "Parquet, CSV, SPSS (.sav)" in client.get(reverse("delivery:mine")).content.decode()
    staff = Client()
    staff.force_login(steward)
    page = staff.get(reverse("delivery:staff_job", args=[job.public_id])).content.decode()
    assert "Parquet, CSV, SPSS (.sav) (as the agreement states them in Exhibit B)" in page


def test_without_a_choice_the_agency_default_of_the_drafting_day_applies(
    requestor, steward, settings, django_capture_on_commit_callbacks  # type: ignore[no-untyped-def]
) -> None:
    settings.EXTRACT_FORMATS = ["parquet", "csv", "dta"]
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    assert a.data_request.delivery_formats is None and a.delivery_formats == ["dta"]
    settings.EXTRACT_FORMATS = ["parquet", "csv", "sav", "xpt"]  # the agency changes its default later
    assert jobs.formats_for(a) == ["parquet", "csv", "dta"]


def test_an_agreement_sent_before_the_formats_were_a_term_follows_the_request_then_the_default(
    executed, settings, delivery_dirs  # type: ignore[no-untyped-def]
) -> None:
    from datashare.intake.models import DataRequest

    Agreement.objects.filter(pk=executed.pk).update(delivery_formats=None)
    executed.refresh_from_db()
    assert jobs.formats_for(executed) == ["parquet", "csv", "dta"]  # the agency default (delivery_dirs)
    DataRequest.objects.filter(pk=executed.data_request_id).update(delivery_formats=["xpt"])
    executed.refresh_from_db()
    assert jobs.formats_for(executed) == ["parquet", "csv", "xpt"]


@pytest.fixture
def with_quasi_identifiers(executed):  # type: ignore[no-untyped-def]
    executed.exhibit_a = {e: [2023] for e in ("gender", "race_ethnicity", "birth_year", "school_code", "grade_level")}
    executed.save(update_fields=["exhibit_a"])
    return executed


def test_the_steward_recuts_with_the_coarsened_alternative_instead_of_releasing(
    with_quasi_identifiers, steward, requestor, delivery_dirs, django_capture_on_commit_callbacks  # type: ignore[no-untyped-def]
) -> None:
    from datashare.audit.models import AuditEvent

    job = jobs.queue_extract(actor=None, agreement=with_quasi_identifiers)
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    alternative = job.risk_report["coarsened_alternative"]
    assert set(alternative["coarsening"]) == {"race", "birth_year", "school"}
    staff = Client()
    staff.force_login(steward)
    page = staff.get(reverse("delivery:staff_job", args=[job.public_id])).content.decode()
    assert "Coarsened alternative (not delivered)" in page and "Re-cut with coarsening" in page
    # Only a steward chooses (and never for their own request: the same rule as release).
    with pytest.raises(DomainError, match="data steward"):
        jobs.recut(actor=requestor, job=job)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("delivery:recut_job", args=[job.public_id]), {"reason": "too many small groups"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.RECUT
    with pytest.raises(vault.PackageErased):  # the reviewed package is crypto-erased
        vault.package_key(delivery_dirs / "store", job.package_id, bytes.fromhex("ef" * 32))
    new = ExtractJob.objects.get(recut_of=job)
    assert response.url == reverse("delivery:staff_job", args=[new.public_id])
    assert new.coarsened and new.status == JobStatus.REVIEW, new.error  # the worker cut it
    # What is delivered now is the alternative the steward reviewed.
    assert new.risk_report["coarsening_applied"] == ["race", "birth_year", "school"]
    assert new.risk_report["files"] == alternative["files"]
    assert "coarsened_alternative" not in new.risk_report
    event = AuditEvent.objects.get(action="extract_job.recut")
    assert event.actor_id == steward.pk and event.new_values["job"] == str(new.public_id)
    assert event.old_values["job"] == str(job.public_id) and event.new_values["reason"] == "too many small groups"
    # Only once, and only from review.
    with pytest.raises(DomainError, match="not waiting for review"):
        jobs.recut(actor=steward, job=job)
    assert "This package is a re-cut" in staff.get(reverse("delivery:staff_job", args=[new.public_id])).content.decode()
    jobs.release(actor=steward, job=new, acknowledge_risk=True)


def test_without_quasi_identifiers_there_is_nothing_to_recut_with(executed, steward, delivery_dirs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.queue_extract(actor=None, agreement=executed)
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    with pytest.raises(DomainError, match="no coarsened alternative"):
        jobs.recut(actor=steward, job=job)


def test_a_steward_cannot_recut_the_extract_of_their_own_request_and_a_requestor_gets_403(
    with_quasi_identifiers, requestor, delivery_dirs  # type: ignore[no-untyped-def]
) -> None:
    from datashare.accounts.models import Role, RoleGrant

    job = jobs.queue_extract(actor=None, agreement=with_quasi_identifiers)
    jobs.run(str(job.public_id))
    job.refresh_from_db()
    web = Client()
    web.force_login(requestor)
    assert web.post(reverse("delivery:recut_job", args=[job.public_id]), {"reason": "x"}).status_code == 403
    RoleGrant.objects.create(user=requestor, role=Role.DATA_STEWARD)
    requestor.forget_roles()
    with pytest.raises(DomainError, match="own request"):
        jobs.recut(actor=requestor, job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.REVIEW and not ExtractJob.objects.filter(recut_of=job).exists()
