"""Writes to the catalog: the idempotent seeder from ``datashare.elements``, and every change an
administrator makes (the Django admin saves through ``save_element`` / ``save_file`` /
``add_source_load`` / ``remove_source_load``), each audited with its old and new values."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from datashare import elements as catalog_source
from datashare.audit.services import record_event
from datashare.catalog import audit_actions
from datashare.catalog.models import DataElement, DataFile, SourceLoad


class CatalogError(ValueError):
    """A catalog change refused: ``field`` names the field the message belongs to."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def element_problems(element: DataElement) -> dict[str, str]:
    """What is wrong with an element as it would be saved (the admin form shows the same)."""
    problems: dict[str, str] = {}
    tier = catalog_source.tier_problem(element.identifier, element.tier)
    if tier:
        problems["tier"] = tier[0].upper() + tier[1:] + "."
    if element.last_year is not None and element.last_year < element.first_year:
        problems["last_year"] = "The last school year cannot come before the first."
    if element.first_year < catalog_source.FIRST_SCHOOL_YEAR:
        problems["first_year"] = "The agency shares no data before 2009-10."
    return problems


def _values(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.pk if isinstance(value, models.Model) else value
    return out


def save_element(*, actor: Any, element: DataElement, changed: list[str] | None = None) -> DataElement:
    """Create or change one element; refused (CatalogError) if a direct identifier of
    ``datashare.elements`` would be tiered below direct identifier. ``changed`` names the
    fields changed (all editable ones when None)."""
    problems = element_problems(element)
    if problems:
        field, message = next(iter(problems.items()))
        raise CatalogError(message, field=field)
    fields = changed if changed is not None else [
        f.name for f in DataElement._meta.concrete_fields if f.editable and not f.primary_key
    ]
    with transaction.atomic():
        if element.pk is None:
            element.save()
            record_event(actor=actor, action=audit_actions.ELEMENT_CREATED, target=element, new=_values(element, fields))
            return element
        current = DataElement.objects.select_for_update().get(pk=element.pk)
        fields = [f for f in fields if f != "identifier"]  # the engines' stable name never changes
        old = _values(current, fields)
        new = _values(element, fields)
        moved = [f for f in fields if old[f] != new[f]]
        if moved:
            element.save(update_fields=moved)
            record_event(
                actor=actor,
                action=audit_actions.ELEMENT_CHANGED,
                target=element,
                old={f: old[f] for f in moved},
                new={f: new[f] for f in moved},
            )
    return element


def save_file(*, actor: Any, data_file: DataFile, changed: list[str] | None = None) -> DataFile:
    fields = changed if changed is not None else ["name", "description", "yearly", "position"]
    with transaction.atomic():
        if data_file.pk is None:
            data_file.save()
            record_event(actor=actor, action=audit_actions.FILE_CREATED, target=data_file, new=_values(data_file, fields))
            return data_file
        current = DataFile.objects.select_for_update().get(pk=data_file.pk)
        fields = [f for f in fields if f != "identifier"]
        old, new = _values(current, fields), _values(data_file, fields)
        moved = [f for f in fields if old[f] != new[f]]
        if moved:
            data_file.save(update_fields=moved)
            record_event(
                actor=actor,
                action=audit_actions.FILE_CHANGED,
                target=data_file,
                old={f: old[f] for f in moved},
                new={f: new[f] for f in moved},
            )
    return data_file


def add_source_load(*, actor: Any, school_year: int) -> SourceLoad:
    """Record that a school year was loaded: it becomes requestable (the latest bounds every grid)."""
    if not catalog_source.FIRST_SCHOOL_YEAR <= school_year <= 2100:
        raise CatalogError("Give a school year from 2010 (2009-10) to 2100.", field="school_year")
    with transaction.atomic():
        load, created = SourceLoad.objects.get_or_create(school_year=school_year)
        if created:
            record_event(actor=actor, action=audit_actions.SOURCE_LOAD_ADDED, target=load, new={"school_year": school_year})
    return load


def remove_source_load(*, actor: Any, load: SourceLoad) -> None:
    with transaction.atomic():
        deleted, _ = SourceLoad.objects.filter(pk=load.pk).delete()
        if deleted:
            record_event(actor=actor, action=audit_actions.SOURCE_LOAD_REMOVED, old={"school_year": load.school_year})

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
