"""Reads of the record of disclosures: search and the CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from datashare.retention.models import DisclosureRecord


@dataclass(frozen=True)
class RecordFilters:
    q: str = ""
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def search_records(filters: RecordFilters) -> QuerySet[DisclosureRecord]:
    records = DisclosureRecord.objects.all()
    if filters.kind:
        records = records.filter(kind=filters.kind)
    if filters.date_from:
        records = records.filter(occurred_on__gte=filters.date_from)
    if filters.date_to:
        records = records.filter(occurred_on__lte=filters.date_to)
    if filters.q:
        # Parties, elements and re-disclosure parties are JSON lists: a text match on their
        # serialized form works on SQLite and PostgreSQL alike (the record is small).
        term = filters.q.strip()
        records = records.filter(
            Q(organization__icontains=term)
            | Q(agreement_number__icontains=term)
            | Q(legitimate_interest__icontains=term)
            | Q(ferpa_exception__icontains=term)
            | Q(parties__icontains=term)
            | Q(elements__icontains=term)
            | Q(redisclosure_parties__icontains=term)
        )
    return records


CSV_HEADER = [
    "kind", "date", "agreement", "organization", "parties", "legitimate interest",
    "FERPA exception", "elements", "school years", "re-disclosure parties", "retain until",
]


def csv_rows(records: QuerySet[DisclosureRecord]) -> Iterator[list[str]]:
    yield CSV_HEADER
    for r in records.iterator(chunk_size=500):
        yield [
            r.get_kind_display(),
            r.occurred_on.isoformat(),
            r.agreement_number,
            r.organization,
            "; ".join(r.parties),
            r.legitimate_interest,
            r.ferpa_exception,
            "; ".join(r.elements),
            "; ".join(r.school_years),
            "; ".join(r.redisclosure_parties),
            r.retain_until.isoformat(),
        ]
