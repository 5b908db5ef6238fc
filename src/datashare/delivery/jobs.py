"""Extract jobs: queued when an agreement is executed, run by the long worker, reviewed and
released by a data steward. Every state change is a conditional UPDATE with its audit row.

Transitions (``MOVES``): queued → running (claimed by a worker) → review | failed;
running with an expired lease → running (a retry after a worker was killed), or → queued by
the ``delivery.requeue_abandoned`` sweep, which enqueues it again (the task queue does not
re-run a task whose worker died); failed → queued (retry);
review → released | rejected | recut (a new, coarsened job queued).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from datashare.accounts.models import Role, User
from datashare.agreements.models import Agreement
from datashare.audit.services import record_event
from datashare.core.errors import Conflict, Forbidden, ValidationFailed
from datashare.core.notifications import send_notification
from datashare.core.queues import LONG_QUEUE
from datashare.core.scheduler import periodic
from datashare.delivery import audit_actions, keys, pipeline, selectors, services
from datashare.delivery.models import ExtractJob, JobStatus, SftpAccount
from datashare.extract import keys as extract_keys
from datashare.extract import vault
from datashare.extract.errors import ExtractError
from datashare.extract.spec import FORMATS

log = logging.getLogger("datashare.delivery")

LEASE = dt.timedelta(hours=2)  # longer than any extract; a killed worker's job is retried after it
MOVES: dict[str, frozenset[str]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING}),
    JobStatus.RUNNING: frozenset({JobStatus.REVIEW, JobStatus.FAILED, JobStatus.RUNNING, JobStatus.QUEUED}),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),
    JobStatus.REVIEW: frozenset({JobStatus.RELEASED, JobStatus.REJECTED, JobStatus.RECUT}),
    JobStatus.RELEASED: frozenset(),
    JobStatus.REJECTED: frozenset(),
    JobStatus.RECUT: frozenset(),
}


def formats_for(agreement: Agreement) -> list[str]:
    """The package's formats: Parquet and CSV, and the files the agreement states (Exhibit B),
    copied from the request when the agreement was drafted: the request may change later, the
    signed terms may not. An agreement sent before the formats were a term has none: the
    request's choice then, else the agency's default (EXTRACT_FORMATS)."""
    chosen = agreement.delivery_formats
    if chosen is None:
        chosen = agreement.data_request.delivery_formats
    if chosen is None:
        return list(settings.EXTRACT_FORMATS)
    return ["parquet", "csv", *(f for f in FORMATS if f in chosen and f not in ("parquet", "csv"))]


def queue_extract(*, actor: User | None, agreement: Agreement, formats: list[str] | None = None) -> ExtractJob:
    formats = list(formats or formats_for(agreement))
    with transaction.atomic():
        job = ExtractJob.objects.create(agreement=agreement, formats=formats)
        job.package_id = f"pkg-{job.public_id.hex}"
        job.save(update_fields=["package_id"])
        record_event(actor=actor, action=audit_actions.JOB_QUEUED, target=agreement,
                     new={"job": str(job.public_id), "formats": formats})  # fmt: skip
        transaction.on_commit(lambda: run_extract_job.enqueue(job_id=str(job.public_id)))
    return job


def claim(job_id: str, *, now: dt.datetime | None = None) -> bool:
    """Take the job for this worker: queued, or running with an expired lease (its worker was
    killed). One conditional UPDATE, so two workers can never both run it."""
    now = now or timezone.now()
    return bool(
        ExtractJob.objects.filter(public_id=job_id)
        .filter(Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_until__lt=now))
        .update(status=JobStatus.RUNNING, attempts=F("attempts") + 1, lease_until=now + LEASE, progress="starting", error="")
    )


def _progress(job_id: str, step: str) -> None:
    ExtractJob.objects.filter(public_id=job_id, status=JobStatus.RUNNING).update(progress=step[:100])


def _crosswalk_key() -> bytes:
    path = Path(settings.CROSSWALK_KEY_FILE)
    if not path.exists() and (settings.DEBUG or settings.DEMO):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        extract_keys.new_key(path)
    return extract_keys.read_key(path)


def spec_for(agreement: Agreement, formats: list[str], *, coarsened: bool = False) -> dict[str, Any]:
    return pipeline.spec_from_exhibit_a(
        agreement=agreement.number,
        exhibit_a=agreement.exhibit_a,
        formats=formats,
        apply_coarsening=coarsened,
        title=agreement.title,
        recipient=agreement.organization.name,
        destroy_by=(agreement.term_end + dt.timedelta(days=agreement.destruction_days)).isoformat()
        if agreement.term_end else "",
    )


def run(job_id: str) -> None:
    """Claim and run one job (the task body; also callable inline)."""
    if not claim(job_id):
        return
    job = ExtractJob.objects.select_related("agreement", "agreement__organization").get(public_id=job_id)
    work = Path(settings.AGENCY_PRIVATE_DIR) / "work" / job.package_id
    try:
        spec = spec_for(job.agreement, job.formats, coarsened=job.coarsened)
        ExtractJob.objects.filter(pk=job.pk).update(spec=spec)
        prepared = pipeline.prepare(
            spec,
            source=Path(settings.EXTRACT_SOURCE_DIR),
            crosswalk_key=_crosswalk_key(),
            work=work,
            store=Path(settings.DELIVERY_STORE),
            master=keys.master_key(),
            package_id=job.package_id,
            crosswalk_dir=Path(settings.AGENCY_PRIVATE_DIR) / "crosswalks",
            progress=lambda step: _progress(job_id, step),
        )
    except (ExtractError, OSError) as exc:
        with transaction.atomic():
            if ExtractJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now(), lease_until=None
            ):
                record_event(actor=None, action=audit_actions.JOB_FAILED, target=job.agreement,
                             new={"job": job_id, "error": str(exc)[:500]})  # fmt: skip
        return
    with transaction.atomic():
        if ExtractJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.REVIEW, progress="", risk_report=prepared.risk, files=prepared.files,
            rows=prepared.rows, finished_at=timezone.now(), lease_until=None,
        ):  # fmt: skip
            record_event(actor=None, action=audit_actions.JOB_READY, target=job.agreement,
                         new={"job": job_id, "exceeds_threshold": bool(prepared.risk.get("exceeds_threshold"))})  # fmt: skip


@task(queue_name=LONG_QUEUE)
def run_extract_job(*, job_id: str) -> None:
    run(job_id)


def requeue_abandoned(*, now: dt.datetime | None = None) -> list[str]:
    """Queue again the jobs whose worker died mid-cut (running, lease passed). The database
    task backend leaves a killed worker's task 'running' for good and never runs it again,
    so without this such a job would wait forever. One conditional UPDATE per job, so a job
    a worker claimed meanwhile is left alone, and each abandoned job is enqueued once; the
    pipeline's next attempt removes what the killed one left."""
    now = now or timezone.now()
    requeued = []
    for job in ExtractJob.objects.filter(status=JobStatus.RUNNING, lease_until__lt=now).select_related("agreement"):
        with transaction.atomic():
            if not ExtractJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_until__lt=now).update(
                status=JobStatus.QUEUED, lease_until=None, progress="worker stopped: queued again"
            ):
                continue
            job_id = str(job.public_id)
            record_event(actor=None, action=audit_actions.JOB_QUEUED, target=job.agreement,
                         old={"status": JobStatus.RUNNING, "attempts": job.attempts},
                         new={"job": job_id, "abandoned": True})  # fmt: skip
            transaction.on_commit(functools.partial(run_extract_job.enqueue, job_id=job_id))
            requeued.append(job_id)
    return requeued


@periodic("delivery.requeue_abandoned", every=dt.timedelta(minutes=5))
def requeue_abandoned_jobs() -> None:
    requeue_abandoned()


def retry(*, actor: User, job: ExtractJob) -> None:
    with transaction.atomic():
        if not ExtractJob.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(status=JobStatus.QUEUED):
            raise Conflict("not_failed", "Only a failed extract can be retried.")
        record_event(actor=actor, action=audit_actions.JOB_QUEUED, target=job.agreement,
                     new={"job": str(job.public_id), "retry": True})  # fmt: skip
        transaction.on_commit(lambda: run_extract_job.enqueue(job_id=str(job.public_id)))


def release(*, actor: User, job: ExtractJob, acknowledge_risk: bool) -> list[SftpAccount]:
    """The steward releases the reviewed package: an SFTP account for each authorized user
    with a portal account, access until the agreement's end. A risk above the threshold must
    be acknowledged first."""
    if not actor.has_role(Role.DATA_STEWARD):
        raise Forbidden("not_steward", "Only a data steward releases an extract.", status=403)
    agreement = job.agreement
    if agreement.authorized_users.filter(user=actor).exists() or agreement.data_request.created_by_id == actor.pk:  # type: ignore[attr-defined]
        raise Forbidden("own_request", "You cannot release an extract of your own request.", status=403)
    if job.exceeds_threshold and not acknowledge_risk:
        raise ValidationFailed("acknowledge", "The delivered risk exceeds the threshold: acknowledge it to release.",
                               status=400, fields={"acknowledge_risk": ["Acknowledge the risk above the threshold."]})  # fmt: skip
    accounts: list[SftpAccount] = []
    with transaction.atomic():
        changed = ExtractJob.objects.filter(pk=job.pk, status=JobStatus.REVIEW).update(
            status=JobStatus.RELEASED, released_by=actor, released_at=timezone.now(),
            risk_acknowledged_by=actor if job.exceeds_threshold else None,
        )  # fmt: skip
        if not changed:
            raise Conflict("not_in_review", "This extract is not waiting for review.")
        record_event(actor=actor, action=audit_actions.JOB_RELEASED, target=agreement,
                     new={"job": str(job.public_id), "risk_acknowledged": job.exceeds_threshold})  # fmt: skip
        details = selectors.connection_details()
        for au in agreement.authorized_users.select_related("user"):
            if au.user is None:
                continue
            account = services.create_account(
                actor=actor, user=au.user, agreement_label=agreement.label,
                package_id=job.package_id, expires_on=agreement.term_end)  # fmt: skip
            accounts.append(account)
            # The account details, as the reference process sends them (never a credential).
            send_notification(to=[au.user.email], subject=f"Your data for agreement {agreement.label} is ready",
                              template="delivery_released", context={
                                  "agreement": agreement.label, "username": account.username,
                                  "host": details["sftp_host"], "port": details["sftp_port"],
                                  "fingerprint": details["sftp_fingerprint"], "url": reverse("delivery:mine"),
                                  "expires_on": agreement.term_end})  # fmt: skip
    return accounts


def _require_reviewer(actor: User, job: ExtractJob, what: str) -> None:
    if not actor.has_role(Role.DATA_STEWARD):
        raise Forbidden("not_steward", f"Only a data steward {what}.", status=403)
    agreement = job.agreement
    if agreement.authorized_users.filter(user=actor).exists() or agreement.data_request.created_by_id == actor.pk:  # type: ignore[attr-defined]
        raise Forbidden("own_request", "You cannot review an extract of your own request.", status=403)


def recut(*, actor: User, job: ExtractJob, reason: str = "") -> ExtractJob:
    """Instead of releasing, the steward re-cuts the package with the coarsened alternative the
    risk report measured: the reviewed package is crypto-erased and a new job, whose cut
    applies the coarsenings to the delivered values, is queued (its own review follows)."""
    _require_reviewer(actor, job, "re-cuts an extract")
    if not job.risk_report.get("coarsened_alternative"):
        raise Conflict("no_alternative", "This extract's risk report has no coarsened alternative to re-cut with.")
    with transaction.atomic():
        if not ExtractJob.objects.filter(pk=job.pk, status=JobStatus.REVIEW).update(status=JobStatus.RECUT):
            raise Conflict("not_in_review", "This extract is not waiting for review.")
        new = ExtractJob.objects.create(agreement=job.agreement, formats=list(job.formats), coarsened=True, recut_of=job)
        new.package_id = f"pkg-{new.public_id.hex}"
        new.save(update_fields=["package_id"])
        coarsening = sorted(job.risk_report["coarsened_alternative"].get("coarsening", {}))
        record_event(actor=actor, action=audit_actions.JOB_RECUT, target=job.agreement,
                     old={"job": str(job.public_id)},
                     new={"job": str(new.public_id), "coarsening": coarsening, "reason": reason[:200]})  # fmt: skip
        transaction.on_commit(lambda: run_extract_job.enqueue(job_id=str(new.public_id)))
    vault.destroy_package_key(Path(settings.DELIVERY_STORE), job.package_id)
    return new


def reject(*, actor: User, job: ExtractJob, reason: str) -> vault.ErasureRecord:
    """Refuse the package (e.g. to re-cut it): it is crypto-erased."""
    if not actor.has_role(Role.DATA_STEWARD):
        raise Forbidden("not_steward", "Only a data steward rejects an extract.", status=403)
    with transaction.atomic():
        if not ExtractJob.objects.filter(pk=job.pk, status=JobStatus.REVIEW).update(status=JobStatus.REJECTED):
            raise Conflict("not_in_review", "This extract is not waiting for review.")
        record_event(actor=actor, action=audit_actions.JOB_REJECTED, target=job.agreement,
                     new={"job": str(job.public_id), "reason": reason[:200]})  # fmt: skip
    return vault.destroy_package_key(Path(settings.DELIVERY_STORE), job.package_id)


def destroy_agreement_packages(*, agreement: Agreement) -> list[vault.ErasureRecord]:
    """Crypto-erase every package of an agreement (the destruction step calls this) and revoke
    its SFTP accounts. Idempotent."""
    services.revoke_for_agreement(actor=None, agreement_label=agreement.label, reason="packages destroyed")
    return [
        vault.destroy_package_key(Path(settings.DELIVERY_STORE), j.package_id)
        for j in ExtractJob.objects.filter(agreement=agreement).exclude(package_id="")
    ]


def destroy_crosswalks(*, agreement: Agreement) -> list[str]:
    """Overwrite and delete the agreement's encrypted crosswalks (the link from RIDs back to
    students). Returns the package ids whose crosswalk was removed."""
    removed = []
    for j in ExtractJob.objects.filter(agreement=agreement).exclude(package_id=""):
        path = Path(settings.AGENCY_PRIVATE_DIR) / "crosswalks" / f"{j.package_id}.crosswalk.enc"
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            with path.open("r+b") as fh:
                fh.write(os.urandom(size))
                fh.flush()
                os.fsync(fh.fileno())
            path.unlink()
            removed.append(j.package_id)
    return removed


def agency_copy_lines(*, agreement: Agreement) -> list[dict[str, str]]:
    """Erase the agency's delivery copies of an ended agreement's data and say what was done:
    the lines of the agency's own destruction certificate (``agency_copies_due``)."""
    lines = []
    for record in destroy_agreement_packages(agreement=agreement):
        lines.append({
            "what": f"Delivered package {record.package_id} ({record.ciphertext_files} encrypted files, {record.ciphertext_bytes:,} bytes) and SFTP access",
            "method": "crypto_erase",
            "detail": f"{record.method}; wrapped data key SHA-256 {record.wrapped_key_sha256 or 'already destroyed'}; ciphertext removed: {'yes' if record.ciphertext_removed else 'no'}",
        })  # fmt: skip
    for package_id in destroy_crosswalks(agreement=agreement):
        lines.append({"what": f"Research ID crosswalk of package {package_id} (AES-256-GCM encrypted)",
                      "method": "overwrite", "detail": "overwritten with random bytes, fsynced, deleted"})  # fmt: skip
    return lines
