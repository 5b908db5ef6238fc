"""Every change to datasets, versions and aggregate requests: one service each.

Builds and computations run on the long queue (``tasks.py``) and call ``run_build`` /
``run_aggregate_request``; the heavy work (DuckDB, the disclosure engine) happens outside any
transaction, and the result is stored with its audit event in one short transaction, so a
crash leaves the row in its earlier state and never a half-written file behind a published row.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from datashare.accounts.models import Role, User
from datashare.aggregate import definitions
from datashare.aggregate.build import BuildError, TableRequest, build, connect
from datashare.aggregate.publish import (
    Published,
    audit_line,
    failure_reason,
    notes,
    suppress,
)
from datashare.audit.services import record_event
from datashare.core.errors import Forbidden, ValidationFailed
from datashare.disclosure.errors import DisclosureError
from datashare.portal import audit_actions
from datashare.portal.models import AggregateRequest, Dataset, DatasetVersion, VersionStatus
from datashare.portal.transitions import AGGREGATE, VERSION

MAX_REQUEST_YEARS = 5


def source_dir() -> Path:
    """The student-level source the tables are built from (Parquet tables, ``datashare synth``):
    ``PORTAL_SOURCE_DIR`` if set, else ``DATA_DIR/source`` if it exists, else the demo's small
    sample (``DATA_DIR/portal-demo-source``)."""
    configured = getattr(settings, "PORTAL_SOURCE_DIR", None)
    if configured:
        return Path(configured)
    default = Path(settings.DATA_DIR) / "source"
    return default if default.exists() else Path(settings.DATA_DIR) / "portal-demo-source"


def ensure_datasets() -> list[Dataset]:
    """One dataset per standard table definition (idempotent)."""
    out = []
    for tdef in definitions.TABLES:
        ds, _ = Dataset.objects.get_or_create(
            table_key=tdef.key,
            defaults={"slug": tdef.key.replace("_", "-"), "title": tdef.title,
                      "description": tdef.description, "topic": tdef.topic},
        )
        out.append(ds)
    return out


def _require_steward(actor: User) -> None:
    if not actor.has_role(Role.DATA_STEWARD):
        raise Forbidden("portal.not_steward", "only a data steward may do this", 403)


# --- dataset versions ---------------------------------------------------------------------

def request_build(*, actor: User | None, dataset: Dataset, school_year: int) -> DatasetVersion:
    """A new version of ``dataset`` for a year, built on the long queue after commit."""
    if actor is not None:
        _require_steward(actor)
    from datashare.portal.tasks import build_dataset_version

    with transaction.atomic():
        Dataset.objects.select_for_update().get(pk=dataset.pk)  # numbers versions one at a time
        last = dataset.versions.filter(school_year=school_year).aggregate(n=Max("number"))["n"]
        version = DatasetVersion.objects.create(dataset=dataset, school_year=school_year,
                                                number=(last or 0) + 1, requested_by=actor)
        record_event(actor=actor, action=audit_actions.VERSION_REQUESTED, target=version,
                     new={"dataset": dataset.table_key, "school_year": school_year,
                          "number": version.number})
        transaction.on_commit(lambda: build_dataset_version.enqueue(version_id=version.pk))
    return version


def request_year(*, actor: User, school_year: int) -> list[DatasetVersion]:
    """A new version of every standard table for a year, all or none, queued longest first
    (``year_order``); the long-queue workers (``LONG_WORKERS``) take them two at a time."""
    _require_steward(actor)
    with transaction.atomic():
        return [request_build(actor=actor, dataset=ds, school_year=school_year)
                for ds in year_order(ensure_datasets())]


def year_order(datasets: list[Dataset]) -> list[Dataset]:
    """``datasets`` longest first by their last build's wall seconds (the newest
    certificate's ``seconds``), so that no long table starts last while the other worker is
    idle; those without one first, in the report-card order.
    At scale 1 the year took 627.8 s in the report-card order and 599.8 s this way, the same
    code on the same machine (docs/portal.md). The longest-first order the twenty-eighth
    session measured slower summed an assessment table's subjects, which run side by side,
    and so paired the two assessment tables first."""
    took: dict[int, float] = {}
    # One query, only the figure (a certificate holds every part's audit summary); newest
    # first, so each dataset keeps its newest. A failed build's time counts too.
    for dataset_id, seconds in (
            DatasetVersion.objects.filter(dataset__in=datasets, certificate__has_key="seconds")
            .order_by("-pk").values_list("dataset_id", "certificate__seconds")):
        if isinstance(seconds, int | float):
            took.setdefault(dataset_id, float(seconds))
    return sorted(datasets, key=lambda ds: (ds.pk in took, -took.get(ds.pk, 0.0)))


def _parquet_bytes(table: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), buf, compression="zstd")
    return buf.getvalue()


def _compute_version(version: DatasetVersion) -> tuple[Published | None, str]:
    try:
        built = build(source_dir(), TableRequest(version.dataset.table_key, version.school_year))
        if not built.parts:
            return None, "the source has no students for this table and year"
        return suppress(built), ""
    except (BuildError, DisclosureError, OSError) as exc:
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def run_build(*, version_id: int) -> DatasetVersion:
    """Build, suppress and audit one version (on the worker); DRAFT if every audit passed."""
    version = DatasetVersion.objects.select_related("dataset").get(pk=version_id)
    if version.status != VersionStatus.BUILDING:
        return version  # a retried task: already done
    published, error = _compute_version(version)
    base = f"portal/{version.dataset.slug}/{version.year_label}/v{version.number}"
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().get(pk=version_id)
        if version.status != VersionStatus.BUILDING:
            return version
        if published is None or not published.passed or not published.csv:
            version.status = VERSION.check("fail", version.status)
            version.error = error or ("not released: "
                                      + failure_reason(published.certificate if published
                                                       else {}))
            if published is not None:
                version.certificate = published.certificate
            version.save(update_fields=["status", "error", "certificate"])
            record_event(actor=None, action=audit_actions.VERSION_FAILED, target=version,
                         new={"error": version.error})
            return version
        table = published.table
        # Exactly the bytes the publisher-side audit read (aggregate.publish.audit_file).
        version.csv_file.save(f"{base}.csv", ContentFile(published.csv), save=False)
        version.parquet_file.save(f"{base}.parquet", ContentFile(_parquet_bytes(table)),
                                  save=False)
        version.certificate = published.certificate
        version.notes = notes(published)
        version.columns = [str(c) for c in table.columns]
        version.rows = len(table)
        version.cells_suppressed = int(published.certificate["cells_suppressed"])
        version.built_at = timezone.now()
        version.status = VERSION.check("built", version.status)
        version.save(update_fields=["csv_file", "parquet_file", "certificate", "notes",
                                    "columns", "rows", "cells_suppressed", "built_at",
                                    "status"])
        record_event(actor=None, action=audit_actions.VERSION_BUILT, target=version,
                     new={"rows": version.rows, "cells_suppressed": version.cells_suppressed,
                          "audit_passed": True,
                          "labels_accounted": published.certificate["labels_accounted"],
                          "attacker_model": {k: m["attacker_model"] for k, m in
                                             published.certificate["attacker_model"].items()}})
    return version


def approve_version(*, actor: User, version: DatasetVersion) -> DatasetVersion:
    """A steward releases a built version; the year's earlier published version is superseded.

    The steward who asked for the build may not approve it (a second pair of eyes)."""
    _require_steward(actor)
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        to = VERSION.check("publish", version.status)
        if version.requested_by_id == actor.pk:
            raise Forbidden("portal.own_build", "another steward must approve a build you "
                            "requested", 403)
        if not version.certificate.get("passed") or not version.csv_file:
            raise ValidationFailed("portal.audit_failed", "the table did not pass its audit: "
                                   + failure_reason(version.certificate))
        earlier = list(DatasetVersion.objects.select_for_update().filter(
            dataset_id=version.dataset_id, school_year=version.school_year,
            status=VersionStatus.PUBLISHED))
        for old in earlier:
            old.status = VERSION.check("supersede", old.status)
            old.save(update_fields=["status"])
            record_event(actor=actor, action=audit_actions.VERSION_SUPERSEDED, target=old,
                         old={"status": VersionStatus.PUBLISHED},
                         new={"status": old.status, "by": version.pk})
        version.status = to
        version.approved_by = actor
        version.published_at = timezone.now()
        version.save(update_fields=["status", "approved_by", "published_at"])
        record_event(actor=actor, action=audit_actions.VERSION_PUBLISHED, target=version,
                     old={"status": VersionStatus.DRAFT}, new={"status": to})
    return version


# --- custom aggregate requests -----------------------------------------------------------

def _validate_request(data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data["table_key"] not in definitions.BY_KEY:
        errors["table_key"] = ["Choose a measure."]
    years = data["years"]
    if not years:
        errors["years"] = ["Choose at least one school year."]
    elif len(years) > MAX_REQUEST_YEARS:
        errors["years"] = [f"Choose at most {MAX_REQUEST_YEARS} school years."]
    if data["level"] not in ("state", "district", "school"):
        errors["level"] = ["Choose an organization level."]
    if data["district"] and data["level"] == "state":
        errors["district"] = ["A district filter needs the district or school level."]
    if data["level"] == "state" and not data["groups"] and not data["by_grade"]:
        errors["groups"] = ["Break the table down by a student group, grade or organization."]
    return errors


def submit_aggregate_request(*, actor: User, purpose: str, table_key: str, level: str,
                             groups: list[str], by_grade: bool, district: str,
                             grades: list[str], years: list[int]) -> AggregateRequest:
    """A signed-in requestor's table, computed and suppressed on the long queue after commit."""
    from datashare.portal.tasks import compute_aggregate_request

    data = {"table_key": table_key, "level": level, "groups": list(groups),
            "by_grade": bool(by_grade), "district": district.strip(),
            "grades": list(grades), "years": sorted({int(y) for y in years})}
    errors = _validate_request(data)
    if errors:
        raise ValidationFailed("aggregate_request.invalid", "the request has problems to fix",
                               fields=errors)
    with transaction.atomic():
        req = AggregateRequest.objects.create(requestor=actor, purpose=purpose.strip()[:500],
                                              **data)
        record_event(actor=actor, action=audit_actions.AGGREGATE_SUBMITTED, target=req,
                     new=data)
        transaction.on_commit(lambda: compute_aggregate_request.enqueue(request_id=req.pk))
    return req


def run_aggregate_request(*, request_id: int) -> AggregateRequest:
    """Compute and suppress every year of the request (on the worker)."""
    with transaction.atomic():
        req = AggregateRequest.objects.select_for_update().get(pk=request_id)
        if AGGREGATE.target("start", req.status) is None:
            return req  # a retried task: already started or done
        req.status = AGGREGATE.check("start", req.status)
        req.save(update_fields=["status"])
    tables: list[pd.DataFrame] = []
    certificates: list[dict[str, Any]] = []
    files: list[bytes] = []  # each year's published CSV, exactly as audited
    texts: list[str] = []
    error = ""
    try:
        con = connect(source_dir())
        for year in req.years:
            built = build(con, TableRequest(
                req.table_key, int(year), level=req.level, groups=tuple(req.groups),
                by_grade=req.by_grade, district=req.district or None,
                grades=tuple(req.grades) or None))
            if not built.parts:
                raise BuildError(f"no students for {definitions.year_label(int(year))}")
            published = suppress(built)
            if not published.passed:
                raise BuildError(f"{definitions.year_label(int(year))}: "
                                 + failure_reason(published.certificate))
            tables.append(published.table)
            files.append(published.csv)
            certificates.append(published.certificate)
            texts = notes(published, totals=False)
    except (BuildError, DisclosureError, OSError) as exc:
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    passed = bool(certificates) and all(c["passed"] for c in certificates) and not error
    with transaction.atomic():
        req = AggregateRequest.objects.select_for_update().get(pk=request_id)
        if not passed:
            req.status = AGGREGATE.check("fail", req.status)
            req.error = error or "the disclosure audit failed: the table is not released"
            req.save(update_fields=["status", "error"])
            record_event(actor=None, action=audit_actions.AGGREGATE_FAILED, target=req,
                         new={"error": req.error})
            return req
        table = pd.concat(tables, ignore_index=True)
        suppressed = sum(int(c["cells_suppressed"]) for c in certificates)
        # The years' audited files end to end (one header): nothing is re-serialized.
        body = files[0] + b"".join(f.split(b"\n", 1)[1] for f in files[1:])
        req.csv_file.save(f"portal/requests/{req.reference}.csv", ContentFile(body),
                          save=False)
        req.certificate = {"passed": True, "years": certificates}
        # Each year is audited from its own published file; the delivered CSV is their rows.
        req.notes = [audit_line(certificates[-1], suppressed, len(table)), *texts]
        req.rows = len(table)
        req.cells_suppressed = suppressed
        req.computed_at = timezone.now()
        req.status = AGGREGATE.check("computed", req.status)
        req.save(update_fields=["csv_file", "certificate", "notes", "rows", "cells_suppressed",
                                "computed_at", "status"])
        record_event(actor=None, action=audit_actions.AGGREGATE_COMPUTED, target=req,
                     new={"rows": req.rows, "cells_suppressed": suppressed,
                          "audit_passed": True})
    return req


def decide_aggregate_request(*, actor: User, req: AggregateRequest, approve: bool,
                             note: str = "") -> AggregateRequest:
    """A steward releases (or withholds) a computed table; never their own request."""
    _require_steward(actor)
    with transaction.atomic():
        req = AggregateRequest.objects.select_for_update().get(pk=req.pk)
        to = AGGREGATE.check("approve" if approve else "reject", req.status)
        if req.requestor_id == actor.pk:
            raise Forbidden("portal.own_request", "another steward must decide your own "
                            "request", 403)
        old = req.status
        req.status = to
        req.decided_by = actor
        req.decided_at = timezone.now()
        req.decision_note = note.strip()[:2000]
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record_event(actor=actor, action=(audit_actions.AGGREGATE_APPROVED if approve
                                          else audit_actions.AGGREGATE_REJECTED),
                     target=req, old={"status": old}, new={"status": to})
    return req


def record_download(*, actor: User, req: AggregateRequest) -> None:
    with transaction.atomic():
        record_event(actor=actor, action=audit_actions.AGGREGATE_DOWNLOADED, target=req)


def storage_open(name: str) -> Any:
    return default_storage.open(name, "rb")
