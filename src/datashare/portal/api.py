"""Read-only public API of the portal under /api/v1/portal/ (no sign-in)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from datashare.portal import selectors
from datashare.portal.models import Dataset, DatasetVersion, VersionStatus

router = Router(tags=["portal"])


class VersionOut(Schema):
    school_year: str
    number: int
    status: str
    rows: int
    cells_suppressed: int
    published_at: str | None
    csv: str
    parquet: str
    certificate: str


class DatasetOut(Schema):
    slug: str
    title: str
    description: str
    topic: str
    versions: list[VersionOut]


class RowsOut(Schema):
    dataset: str
    school_year: str
    version: int
    total: int
    limit: int
    offset: int
    columns: list[str]
    rows: list[dict[str, Any]]


class RowFilters(Schema):
    year: str | None = None
    organization_level: str | None = None
    organization: str | None = None
    student_group_type: str | None = None
    student_group: str | None = None
    grade: str | None = None
    subject: str | None = None
    limit: int = 100
    offset: int = 0


def _version_out(v: DatasetVersion) -> VersionOut:
    base = f"/data/{v.dataset.slug}/v{v.pk}/"
    return VersionOut(school_year=v.year_label, number=v.number, status=v.status, rows=v.rows,
                      cells_suppressed=v.cells_suppressed,
                      published_at=v.published_at.isoformat() if v.published_at else None,
                      csv=base + "csv", parquet=base + "parquet",
                      certificate=base + "certificate.json")


def _dataset_out(ds: Dataset) -> DatasetOut:
    return DatasetOut(slug=ds.slug, title=ds.title, description=ds.description, topic=ds.topic,
                      versions=[_version_out(v) for v in selectors.public_versions(ds)])


@router.get("/datasets", response=list[DatasetOut], auth=None,
            summary="Published datasets (search with q, filter by topic)")
def list_datasets(request: HttpRequest, q: str = "", topic: str = "") -> list[DatasetOut]:
    return [_dataset_out(ds) for ds in selectors.public_datasets(q=q[:200], topic=topic[:60])]


@router.get("/datasets/{slug}", response=DatasetOut, auth=None, summary="One dataset")
def get_dataset(request: HttpRequest, slug: str) -> DatasetOut:
    ds = get_object_or_404(selectors.public_datasets(), slug=slug)
    return _dataset_out(ds)


@router.get("/datasets/{slug}/rows", response=RowsOut, auth=None,
            summary="Published rows of a dataset's current version, filtered and paged")
def dataset_rows(request: HttpRequest, slug: str, filters: Query[RowFilters]) -> RowsOut:
    ds = get_object_or_404(selectors.public_datasets(), slug=slug)
    versions = list(ds.versions.filter(status=VersionStatus.PUBLISHED).order_by("-school_year"))
    if filters.year:
        versions = [v for v in versions if v.year_label == filters.year]
    if not versions:
        raise HttpError(404, "no published version for that year")
    if not 1 <= filters.limit <= selectors.MAX_PAGE or filters.offset < 0:
        raise HttpError(422, f"limit must be 1 to {selectors.MAX_PAGE}, offset 0 or more")
    version = versions[0]
    wanted = {c: getattr(filters, c) for c in selectors.FILTER_COLUMNS if getattr(filters, c)}
    page = selectors.rows(version, filters=wanted, limit=filters.limit, offset=filters.offset)
    return RowsOut(dataset=ds.slug, school_year=version.year_label, version=version.number,
                   total=page.total, limit=filters.limit, offset=filters.offset,
                   columns=page.columns, rows=page.rows)
