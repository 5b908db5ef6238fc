"""Reads of the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max

from datashare.catalog.models import DataElement, DataFile, SourceLoad
from datashare.elements import FIRST_SCHOOL_YEAR, format_school_year


def latest_school_year() -> int:
    """The latest school year loaded (ending year), computed from the loads, never typed in."""
    latest = SourceLoad.objects.aggregate(latest=Max("school_year"))["latest"]
    return int(latest) if latest else FIRST_SCHOOL_YEAR


def available_years() -> list[int]:
    return list(range(FIRST_SCHOOL_YEAR, latest_school_year() + 1))


@dataclass(frozen=True)
class CatalogFile:
    file: DataFile
    elements: list[DataElement]


@dataclass(frozen=True)
class Catalog:
    files: list[CatalogFile]
    years: list[int]
    latest: int

    @property
    def by_identifier(self) -> dict[str, DataElement]:
        return {e.identifier: e for f in self.files for e in f.elements}

    @property
    def year_labels(self) -> list[tuple[int, str]]:
        return [(y, format_school_year(y)) for y in self.years]


def catalog() -> Catalog:
    """Every file with its elements (two queries) and the years on offer."""
    latest = latest_school_year()
    elements = list(DataElement.objects.select_related("file").order_by("file__position", "position"))
    grouped: dict[int, CatalogFile] = {}
    for element in elements:
        grouped.setdefault(element.file_id, CatalogFile(element.file, [])).elements.append(element)
    return Catalog(
        files=list(grouped.values()),
        years=list(range(FIRST_SCHOOL_YEAR, latest + 1)),
        latest=latest,
    )
