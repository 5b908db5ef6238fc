"""Fill the delivery formats of the agreements drafted before they were a term: the request's
choice, or the agency's default (EXTRACT_FORMATS) when the requestor did not answer.

Agreements out for signature are left empty: the text their signers are reviewing does not
state the formats, and the sealed copy is rendered from the same terms, so adding them now
would seal a document nobody signed. Their packages follow the request, as before."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations

EXTRA_FORMATS = ("dta", "sav", "xpt")  # intake's DeliveryFormat values, in catalog order


def fill(apps: Any, schema_editor: Any) -> None:
    Agreement = apps.get_model("agreements", "Agreement")
    default = [f for f in EXTRA_FORMATS if f in settings.EXTRACT_FORMATS]
    rows = Agreement.objects.filter(delivery_formats__isnull=True).exclude(
        status="out_for_signature"
    )
    for a in rows.select_related("data_request").iterator():
        chosen = a.data_request.delivery_formats
        a.delivery_formats = (
            [f for f in EXTRA_FORMATS if f in chosen] if chosen is not None else default
        )
        a.save(update_fields=["delivery_formats"])


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0002_delivery_formats"),
        ("intake", "0003_delivery_formats"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
