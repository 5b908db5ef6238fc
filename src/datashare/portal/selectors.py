"""Reads for the portal pages, the API and data.json (no writes here)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import duckdb
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet

from datashare.aggregate import definitions
from datashare.portal.models import Dataset, DatasetVersion, VersionStatus

PUBLIC_STATUSES = (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)
FILTER_COLUMNS = ("organization_level", "organization", "student_group_type", "student_group",
                  "grade", "subject")
MAX_PAGE = 500


def public_datasets(*, q: str = "", topic: str = "", year: int | None = None) -> QuerySet[Dataset]:
    """Datasets with at least one published version, matching a search and filters."""
    versions = DatasetVersion.objects.filter(status=VersionStatus.PUBLISHED)
    if year:
        versions = versions.filter(school_year=year)
    qs = Dataset.objects.filter(pk__in=versions.values("dataset_id"))
    if q.strip():
        for word in q.split()[:8]:
            qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word)
                           | Q(topic__icontains=word))
    if topic:
        qs = qs.filter(topic=topic)
    return qs.order_by("topic", "title")


# Words a request might use for what each table measures ("Is it already public?").
KEYWORDS: dict[str, tuple[str, ...]] = {
    "enrollment": ("enrollment", "enrolment", "enrolled", "headcount", "student counts"),
    "assessment_participation": ("participation", "tested", "assessment", "test", "sbac"),
    "assessment_proficiency": ("proficiency", "proficient", "met standard", "scores",
                               "assessment", "test results", "achievement"),
    "graduation_4yr": ("graduation", "graduate", "cohort", "on-time"),
    "graduation_5yr": ("graduation", "graduate", "five-year", "5-year", "extended"),
    "dropout": ("dropout", "drop out", "dropped out"),
    "chronic_absence": ("attendance", "absence", "absent", "absenteeism", "chronic"),
    "discipline": ("discipline", "suspension", "suspended", "expulsion", "expelled"),
}


def suggest(text: str, limit: int = 5) -> list[Dataset]:
    """Published datasets whose subject the free text mentions (any keyword, any case)."""
    words = text.lower()[:5000]
    if not words.strip():
        return []
    keys = [k for k, kws in KEYWORDS.items() if any(kw in words for kw in kws)]
    return list(public_datasets().filter(table_key__in=keys)[:limit])


def topics() -> list[str]:
    return sorted({t.topic for t in definitions.TABLES})


def published_years() -> list[int]:
    return sorted(set(DatasetVersion.objects.filter(status=VersionStatus.PUBLISHED)
                      .values_list("school_year", flat=True)), reverse=True)


def current_versions(dataset: Dataset) -> list[DatasetVersion]:
    """The published version of each year, newest year first."""
    return list(dataset.versions.filter(status=VersionStatus.PUBLISHED).order_by("-school_year"))


def public_versions(dataset: Dataset) -> list[DatasetVersion]:
    return list(dataset.versions.filter(status__in=PUBLIC_STATUSES)
                .order_by("-school_year", "-number"))


@dataclass
class RowPage:
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int


CACHE_SECONDS = 600


def rows(version: DatasetVersion, *, filters: dict[str, str] | None = None, limit: int = 50,
         offset: int = 0) -> RowPage:
    """A page of a version's published rows (from its Parquet file), filtered by equality.

    A version's files never change once built, so pages are cached by version and query."""
    query = hashlib.sha256(repr(sorted((filters or {}).items())).encode()).hexdigest()[:32]
    key = f"portal:rows:{version.pk}:{query}:{limit}:{offset}"
    page = cache.get(key)
    if page is None:
        page = _rows(version, filters=filters, limit=limit, offset=offset)
        cache.set(key, page, CACHE_SECONDS)
    return page


def _rows(version: DatasetVersion, *, filters: dict[str, str] | None, limit: int,
          offset: int) -> RowPage:
    path = default_storage.path(version.parquet_file.name)
    con = duckdb.connect()
    columns = [str(c) for c in version.columns]
    where, params = [], []
    for column, value in (filters or {}).items():
        if column in FILTER_COLUMNS and column in columns and value != "":
            where.append(f'"{column}" = ?')
            params.append(value)
    clause = " AND ".join(where) or "TRUE"
    source = "read_parquet(?)"
    total_row = con.execute(f"SELECT count(*) FROM {source} WHERE {clause}",  # noqa: S608
                            [path, *params]).fetchone()
    total = int(total_row[0]) if total_row else 0
    limit = max(1, min(int(limit), MAX_PAGE))
    cursor = con.execute(f"SELECT * FROM {source} WHERE {clause} LIMIT ? OFFSET ?",  # noqa: S608
                         [path, *params, limit, max(0, int(offset))])
    names = [d[0] for d in cursor.description]
    out = [{n: (None if v is None else v) for n, v in zip(names, r, strict=True)}
           for r in cursor.fetchall()]
    return RowPage(names, out, total)


def distinct_values(version: DatasetVersion, column: str) -> list[str]:
    if column not in version.columns:
        return []
    key = f"portal:distinct:{version.pk}:{column}"
    values = cache.get(key)
    if values is None:
        path = default_storage.path(version.parquet_file.name)
        con = duckdb.connect()
        values = [str(r[0]) for r in con.execute(
            f'SELECT DISTINCT "{column}" FROM read_parquet(?) ORDER BY 1',  # noqa: S608
            [path]).fetchall() if r[0] is not None]
        cache.set(key, values, CACHE_SECONDS)
    return values
