"""Writes to the catalog: the idempotent seeder from ``datashare.elements``."""

from __future__ import annotations

from django.db import transaction

from datashare import elements as catalog_source
from datashare.catalog.models import DataElement, DataFile, SourceLoad

# The demo and a fresh installation have 2009-10 through 2024-25 loaded.
SEEDED_LAST_YEAR = 2025


def seed_catalog(*, last_loaded_year: int = SEEDED_LAST_YEAR) -> int:
    """Create the files, elements and loaded years that are missing; returns how many were added.

    Existing rows are left as administrators edited them (a second run adds nothing).
    """
    added = 0
    with transaction.atomic():
        files = {f.identifier: f for f in DataFile.objects.all()}
        for pos, source_file in enumerate(catalog_source.FILES):
            if source_file.identifier not in files:
                files[source_file.identifier] = DataFile.objects.create(
                    identifier=source_file.identifier,
                    name=source_file.name,
                    description=source_file.description,
                    yearly=source_file.yearly,
                    position=pos,
                )
                added += 1
        existing = set(DataElement.objects.values_list("identifier", flat=True))
        new = [
            DataElement(
                identifier=e.identifier,
                name=e.name,
                file=files[e.file],
                dtype=e.dtype.value,
                tier=e.tier.value,
                definition=e.definition,
                first_year=e.first_year,
                value_labels=dict(e.value_labels),
                position=pos,
            )
            for pos, e in enumerate(catalog_source.ELEMENTS)
            if e.identifier not in existing
        ]
        DataElement.objects.bulk_create(new)
        added += len(new)
        loaded = set(SourceLoad.objects.values_list("school_year", flat=True))
        years = [
            SourceLoad(school_year=y)
            for y in range(catalog_source.FIRST_SCHOOL_YEAR, last_loaded_year + 1)
            if y not in loaded
        ]
        SourceLoad.objects.bulk_create(years)
        added += len(years)
    return added
