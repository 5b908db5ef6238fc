"""Reads for the results pages: the steward's queue and the diff between two versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from datashare.results.models import ResultsStatus, ResultsSubmission, ResultsVersion


def review_queue() -> QuerySet[ResultsSubmission]:
    """Open reviews, the nearest deadline first."""
    return (
        ResultsSubmission.objects.filter(status__in=[ResultsStatus.IN_REVIEW, ResultsStatus.CHANGES_REQUESTED])
        .select_related("agreement__organization", "submitted_by")
        .order_by("review_due", "created_at")
    )


def _key(finding: dict[str, Any]) -> tuple[str, str, str]:
    return (str(finding.get("part", "")), str(finding.get("cell", "")), str(finding.get("rule", "")))


@dataclass(frozen=True)
class VersionDiff:
    old: ResultsVersion
    new: ResultsVersion
    resolved: list[dict[str, Any]]  # findings of the old version gone from the new one
    added: list[dict[str, Any]]
    kept: list[dict[str, Any]]
    same_file: bool


def version_diff(old: ResultsVersion, new: ResultsVersion) -> VersionDiff:
    before = {_key(f): f for f in old.findings}
    after = {_key(f): f for f in new.findings}
    return VersionDiff(
        old=old,
        new=new,
        resolved=[f for k, f in before.items() if k not in after],
        added=[f for k, f in after.items() if k not in before],
        kept=[f for k, f in after.items() if k in before],
        same_file=old.sha256 == new.sha256,
    )
