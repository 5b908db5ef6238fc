"""Writes to the record of disclosures: record once per source, purge after retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from datashare.audit.services import record_event
from datashare.retention import audit_actions
from datashare.retention.models import DisclosureRecord, RecordKind


def retention_years() -> int:
    return int(getattr(settings, "DISCLOSURE_RECORD_RETENTION_YEARS", 10))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _strings(values: Iterable[Any]) -> list[str]:
    return [str(v).strip() for v in values if str(v).strip()]


def record_disclosure(
    *,
    actor: Any,
    source_key: str,
    kind: str,
    occurred_on: dt.date,
    organization: str,
    parties: Iterable[str],
    legitimate_interest: str,
    ferpa_exception: str = "",
    agreement_number: str = "",
    elements: Iterable[str] = (),
    school_years: Iterable[int | str] = (),
    redisclosure_parties: Iterable[str] = (),
) -> DisclosureRecord:
    """Add one entry to the 99.32 record; the same ``source_key`` twice returns the first entry."""
    if kind not in RecordKind.values:
        raise ValueError(f"unknown record kind {kind!r}")
    if not legitimate_interest.strip():
        raise ValueError("99.32(a)(3)(ii) needs the legitimate interest")
    with transaction.atomic():
        record, created = DisclosureRecord.objects.get_or_create(
            source_key=source_key,
            defaults={
                "kind": kind,
                "occurred_on": occurred_on,
                "organization": organization,
                "parties": _strings(parties),
                "legitimate_interest": legitimate_interest.strip(),
                "ferpa_exception": ferpa_exception,
                "agreement_number": agreement_number,
                "elements": _strings(elements),
                "school_years": sorted({str(y) for y in school_years}),
                "redisclosure_parties": _strings(redisclosure_parties),
                "recorded_by": actor if getattr(actor, "pk", None) else None,
                "retain_until": _add_years(occurred_on, retention_years()),
            },
        )
        if created:
            record_event(
                actor=actor,
                action=audit_actions.DISCLOSURE_RECORDED,
                target=record,
                new={"kind": kind, "organization": organization, "occurred_on": occurred_on.isoformat()},
            )
    return record


def purge_expired_records(*, actor: Any, today: dt.date) -> int:
    """Delete entries past their retention date (each one named in the audit log first)."""
    with transaction.atomic():
        expired = list(DisclosureRecord.objects.select_for_update().filter(retain_until__lt=today))
        for record in expired:
            record_event(
                actor=actor,
                action=audit_actions.DISCLOSURE_PURGED,
                target=record,
                old={"kind": record.kind, "organization": record.organization, "occurred_on": record.occurred_on.isoformat(), "retain_until": record.retain_until.isoformat()},
            )
        DisclosureRecord.objects.filter(pk__in=[r.pk for r in expired]).delete()
    return len(expired)
