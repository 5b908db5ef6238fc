"""Seed the catalog from datashare.elements (the Django-free list) and the loaded years
2009-10..2024-25. Idempotent: rows administrators already have are left alone."""

from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from datashare import elements

    DataFile = apps.get_model("catalog", "DataFile")
    DataElement = apps.get_model("catalog", "DataElement")
    SourceLoad = apps.get_model("catalog", "SourceLoad")
    files = {}
    for pos, f in enumerate(elements.FILES):
        files[f.identifier], _ = DataFile.objects.get_or_create(
            identifier=f.identifier,
            defaults={"name": f.name, "description": f.description, "yearly": f.yearly, "position": pos},
        )
    for pos, e in enumerate(elements.ELEMENTS):
        DataElement.objects.get_or_create(
            identifier=e.identifier,
            defaults={
                "name": e.name,
                "file": files[e.file],
                "dtype": e.dtype.value,
                "tier": e.tier.value,
                "definition": e.definition,
                "first_year": e.first_year,
                "value_labels": dict(e.value_labels),
                "position": pos,
            },
        )
    for year in range(elements.FIRST_SCHOOL_YEAR, 2026):
        SourceLoad.objects.get_or_create(school_year=year)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
