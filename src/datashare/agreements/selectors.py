"""Reads of agreements for pages, the PDF and the API."""

from __future__ import annotations

from dataclasses import dataclass

from datashare.accounts.models import User
from datashare.agreements.models import Agreement, AgreementStatus, Signer, SignerStatus
from datashare.catalog.models import DataElement
from datashare.elements import format_school_year
from datashare.intake.models import delivery_formats_text

DELIVERY_FORMATS_LABEL = "Files delivered (over the Agency's SFTP server)"


@dataclass(frozen=True)
class ExhibitARow:
    identifier: str
    label: str
    years: list[str]


def exhibit_a_rows(a: Agreement) -> list[ExhibitARow]:
    """Exhibit A: each approved element (catalog name and file) with its school years."""
    names = {
        e.identifier: f"{e.name} ({e.file.name})"
        for e in DataElement.objects.select_related("file").filter(identifier__in=list(a.exhibit_a))
    }
    return [
        ExhibitARow(identifier=k, label=names.get(k, k), years=[format_school_year(int(y)) for y in sorted(v)])
        for k, v in sorted(a.exhibit_a.items(), key=lambda kv: names.get(kv[0], kv[0]))
        if v
    ]


@dataclass(frozen=True)
class ExhibitAGrid:
    """Exhibit A as an element x school year table: which years each element covers."""

    years: list[str]  # the columns: school years of Exhibit A, ascending
    rows: list[tuple[ExhibitARow, list[tuple[str, bool]]]]  # each element; per column (year, approved)


def exhibit_a_grids(a: Agreement, *, columns: int | None = None, rows: list[ExhibitARow] | None = None) -> list[ExhibitAGrid]:
    """Exhibit A's elements by its school years (only the years some element has), in tables
    of at most ``columns`` years each (a letter page holds about eight; None: one table).
    ``rows``: ``exhibit_a_rows(a)`` if the caller has them (one catalog query, not two)."""
    rows = exhibit_a_rows(a) if rows is None else rows
    ends = sorted({int(y) for years in a.exhibit_a.values() for y in years})
    step = columns or len(ends) or 1
    grids = []
    for i in range(0, len(ends), step):
        labels = [format_school_year(y) for y in ends[i : i + step]]
        grids.append(ExhibitAGrid(years=labels, rows=[(row, [(y, y in row.years) for y in labels]) for row in rows]))
    return grids


def exhibit_b_rows(a: Agreement) -> list[tuple[str, str]]:
    from datashare.agreements.services import SECURITY_FIELDS

    rows = [(label, str(a.exhibit_b.get(field, "") or "Not stated")) for field, label in SECURITY_FIELDS]
    # Only when the agreement states them: one sent before they were a term keeps its text.
    if a.delivery_formats is not None:
        rows.append((DELIVERY_FORMATS_LABEL, delivery_formats_text(a.delivery_formats)))
    return rows


def waiting_signatures(user: User) -> list[Signer]:
    """The signatures waiting for ``user`` now (their turn, agreement out for signature)."""
    return list(
        Signer.objects.filter(
            user=user, status__in=[SignerStatus.SENT, SignerStatus.VIEWED], agreement__status=AgreementStatus.OUT_FOR_SIGNATURE
        )
        .select_related("agreement", "agreement__organization")
        .order_by("sent_at")
    )
