"""``/data.json``: the portal's catalog in DCAT-US 1.1 (Project Open Data metadata v1.1).

One dataset entry per published dataset version (each school year is its own release),
with CSV and Parquet distributions and the certificate as a reference. Validated against
``schema/dcat-us-1.1.json`` in the tests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from datashare.aggregate import definitions
from datashare.portal.models import DatasetVersion, VersionStatus

CONFORMS_TO = "https://project-open-data.cio.gov/v1.1/schema"


def _url(request: HttpRequest, path: str) -> str:
    base = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def _rate(tdef: definitions.TableDef | None) -> str:
    if tdef is None or tdef.kind != definitions.RATE:
        return ""
    return f" The rate is {tdef.numerator_label} over {tdef.denominator_label}."


def catalog(request: HttpRequest) -> dict[str, Any]:
    agency = str(getattr(settings, "AGENCY_NAME", "State education agency"))
    email = str(getattr(settings, "DEFAULT_FROM_EMAIL", "") or "data@example.org")
    email = email.split("<")[-1].rstrip(">").strip()
    versions = (DatasetVersion.objects.filter(status=VersionStatus.PUBLISHED)
                .select_related("dataset").order_by("dataset__title", "-school_year"))
    entries = []
    for v in versions:
        ds = v.dataset
        tdef = definitions.BY_KEY.get(ds.table_key)
        page = _url(request, reverse("portal:dataset", args=[ds.slug]) + f"?year={v.year_label}")

        def file(fmt: str, v: DatasetVersion = v) -> str:
            return _url(request, reverse("portal:download", args=[v.dataset.slug, v.pk, fmt]))

        when = (v.published_at or v.built_at or v.created_at).date().isoformat()
        entries.append({
            "@type": "dcat:Dataset",
            "title": f"{ds.title}, {v.year_label}",
            "description": f"{ds.description}{_rate(tdef)} Small groups are suppressed "
                           "(N<10) and the table passed a linear-programming disclosure audit.",
            "keyword": ["education", "K-12", ds.topic.lower(), "report card", v.year_label],
            "modified": when,
            "issued": when,
            "publisher": {"@type": "org:Organization", "name": agency},
            "contactPoint": {"@type": "vcard:Contact", "fn": f"{agency} data stewards",
                             "hasEmail": f"mailto:{email}"},
            "identifier": f"{ds.slug}/{v.year_label}/v{v.number}",
            "accessLevel": "public",
            "landingPage": page,
            "spatial": "Washington",
            "temporal": f"{v.school_year - 1}-09-01/{v.school_year}-08-31",
            "theme": [ds.topic],
            "language": ["en-US"],
            "references": [file("certificate.json")],
            "distribution": [
                {"@type": "dcat:Distribution", "title": "CSV", "format": "CSV",
                 "mediaType": "text/csv", "downloadURL": file("csv")},
                {"@type": "dcat:Distribution", "title": "Parquet", "format": "Parquet",
                 "mediaType": "application/vnd.apache.parquet", "downloadURL": file("parquet")},
            ],
        })
    return {
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "@id": _url(request, "/data.json"),
        "@type": "dcat:Catalog",
        "conformsTo": CONFORMS_TO,
        "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",
        "dataset": entries,
    }
