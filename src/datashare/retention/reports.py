"""Reads for the public register and the stewards' reports page, and the SVG bar geometry.

The charts are drawn on the server as SVG (rectangles and text with presentation attributes),
so the strict CSP needs no script and no inline style; each chart also has its numbers in a
table for screen readers and for copying.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, QuerySet

from datashare.agreements.models import Agreement, AgreementStatus
from datashare.catalog.models import DataElement
from datashare.intake.models import DataRequest, Status
from datashare.retention.models import Destruction, DestructionStatus

ACTIVE = (AgreementStatus.EXECUTED, AgreementStatus.ACTIVE)
ENDED = (AgreementStatus.EXPIRED, AgreementStatus.TERMINATED)
EXPIRING_DAYS = 90


@dataclass(frozen=True)
class RegisterRow:
    number: str
    organization: str
    title: str
    purpose: str
    categories: list[str]
    term_start: dt.date | None
    term_end: dt.date | None
    status: str
    destruction: str


def _summary(text: str, words: int = 40) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def register_rows(today: dt.date) -> list[RegisterRow]:
    """Active agreements, and ended ones with where their destruction stands. Names of people
    are never shown: the register is public."""
    agreements = list(
        Agreement.objects.filter(status__in=ACTIVE + ENDED)
        .select_related("organization", "destruction")
        .order_by("organization__name", "number", "version")
    )
    wanted = {e for a in agreements for e in (a.exhibit_a or {})}
    file_of = dict(DataElement.objects.filter(identifier__in=wanted).values_list("identifier", "file__name"))
    rows = []
    for a in agreements:
        d: Destruction | None = getattr(a, "destruction", None)
        if a.status in ACTIVE:
            destruction = "Not yet due (agreement active)"
        elif d is None:
            destruction = "Scheduled"
        elif d.status == DestructionStatus.VERIFIED:
            destruction = f"Destroyed, verified {d.verified_at:%Y-%m-%d}" if d.verified_at else "Destroyed, verified"
        elif d.status == DestructionStatus.CERTIFIED:
            destruction = "Certificate received, being verified"
        elif d.due < today:
            destruction = f"Overdue (was due {d.due:%Y-%m-%d})"
        else:
            destruction = f"Due by {d.due:%Y-%m-%d}"
        rows.append(
            RegisterRow(
                number=a.label,
                organization=a.organization.name,
                title=a.title,
                purpose=_summary(a.purpose),
                categories=sorted({file_of.get(e, e) for e in (a.exhibit_a or {})}),
                term_start=a.term_start,
                term_end=a.term_end,
                status=a.get_status_display(),
                destruction=destruction,
            )
        )
    return rows


# -- charts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    unit: str
    bars: list[Bar]
    height: int
    width: int = 640
    label_width: int = 230
    bar_height: int = 22


def chart(slug: str, title: str, unit: str, data: Sequence[tuple[str, float]], *, decimals: int = 0) -> Chart:
    """Horizontal bars, scaled to the largest value (a chart of zeros draws no bars)."""
    top = max((v for _, v in data), default=0) or 1
    room = 640 - 230 - 70
    bars = [
        Bar(label=label, value=value, text=f"{value:.{decimals}f}", y=10 + i * 30, width=max(0, round(room * value / top)))
        for i, (label, value) in enumerate(data)
    ]
    return Chart(slug=slug, title=title, unit=unit, bars=bars, height=20 + 30 * max(1, len(bars)))


def _days(pairs: Iterable[tuple[dt.datetime | None, dt.datetime | None]]) -> float:
    spans = [(b - a).total_seconds() / 86400 for a, b in pairs if a and b and b >= a]
    return round(statistics.median(spans), 1) if spans else 0.0


def queue_age(now: dt.datetime) -> list[tuple[str, float]]:
    buckets = [("0 to 7 days", 0, 7), ("8 to 30 days", 8, 30), ("31 to 60 days", 31, 60), ("61 to 90 days", 61, 90), ("over 90 days", 91, 10**6)]
    ages = [
        (now - s).days
        for s in DataRequest.objects.filter(status__in=[Status.SUBMITTED, Status.IN_REVIEW]).values_list("submitted_at", flat=True)
        if s
    ]
    return [(label, float(sum(lo <= a <= hi for a in ages))) for label, lo, hi in buckets]


def turnaround() -> list[tuple[str, float]]:
    decided = DataRequest.objects.filter(decided_at__isnull=False).values_list("submitted_at", "decided_at")
    executed = Agreement.objects.filter(executed_at__isnull=False).values_list("data_request__decided_at", "executed_at")
    return [
        ("request → decision", _days(decided)),
        ("decision → agreement executed", _days(executed)),
    ]


def agreement_counts(today: dt.date) -> list[tuple[str, float]]:
    active: QuerySet[Agreement] = Agreement.objects.filter(status__in=ACTIVE)
    expiring = active.filter(term_end__isnull=False, term_end__lte=today + dt.timedelta(days=EXPIRING_DAYS))
    return [("active", float(active.count())), (f"expiring within {EXPIRING_DAYS} days", float(expiring.count()))]


def destruction_counts(today: dt.date) -> list[tuple[str, float]]:
    pending = Destruction.objects.filter(status=DestructionStatus.PENDING)
    return [
        ("due, not yet overdue", float(pending.filter(due__gte=today).count())),
        ("overdue", float(pending.filter(due__lt=today).count())),
        ("certified, to verify", float(Destruction.objects.filter(status=DestructionStatus.CERTIFIED).count())),
    ]


def results_pending(today: dt.date) -> list[tuple[str, float]]:
    # Results is a sibling app (neither imports the other): read its model through the registry.
    if not apps.is_installed("datashare.results"):
        return []
    submission = apps.get_model("results", "ResultsSubmission")
    counts = dict(submission.objects.filter(status__in=["in_review", "changes_requested"]).values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    late = submission.objects.filter(status="in_review", review_due__lt=today).count()
    return [
        ("awaiting review", float(counts.get("in_review", 0))),
        ("review past its window", float(late)),
        ("changes requested", float(counts.get("changes_requested", 0))),
    ]


def reports(now: dt.datetime) -> list[Chart]:
    today = now.date()
    return [
        chart("queue-age", "Open requests by age", "requests", queue_age(now)),
        chart("turnaround", "Median turnaround per stage", "days", turnaround(), decimals=1),
        chart("agreements", "Agreements active and expiring", "agreements", agreement_counts(today)),
        chart("destruction", "Destruction of data", "agreements", destruction_counts(today)),
        chart("results", "Results reviews", "submissions", results_pending(today)),
    ]
