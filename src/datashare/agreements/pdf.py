"""Render an agreement to PDF/A with WeasyPrint: the agency's template version, then (once every
signature is in) the certificate of completion appended as the last page(s)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone

from datashare.agreements.models import Agreement, Signer
from datashare.agreements.selectors import exhibit_a_grids, exhibit_a_rows, exhibit_b_rows
from datashare.intake.models import FerpaException

PDF_VARIANT = "pdf/a-3b"

_FERPA_BASIS: dict[str, str] = {
    FerpaException.STUDIES: "the studies exception of FERPA, 34 CFR 99.31(a)(6)",
    FerpaException.AUDIT_EVALUATION: "the audit or evaluation exception of FERPA, 34 CFR 99.31(a)(3) and 99.35",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def agreement_context(a: Agreement) -> dict[str, Any]:
    rows = exhibit_a_rows(a)
    return {
        "agreement": a,
        "agency": settings.AGENCY_NAME,
        "ferpa_basis": _FERPA_BASIS.get(a.ferpa_exception, "FERPA, 34 CFR Part 99, for de-identified data (34 CFR 99.31(b))"),
        "authorized_users": list(a.authorized_users.all()),
        "exhibit_a": rows,
        # Eight school years fit across a letter page beside the element's name.
        "exhibit_a_grids": exhibit_a_grids(a, columns=8, rows=rows),
        "exhibit_b": exhibit_b_rows(a),
        "security_terms": a.template.security_terms,
    }


def agreement_html(a: Agreement) -> str:
    """The agreement as HTML: the agency's template version (Django template language) inside
    the document shell (fonts, page size, running footer)."""
    body = Template(a.template.body).render(Context(agreement_context(a)))
    return render_to_string("agreements/pdf/document.html", {"a": a, "body": body, "agency": settings.AGENCY_NAME})


def certificate_html(a: Agreement, signers: list[Signer], *, document_sha256: str) -> str:
    return render_to_string(
        "agreements/pdf/certificate.html",
        {"a": a, "signers": signers, "document_sha256": document_sha256, "agency": settings.AGENCY_NAME, "now": timezone.now()},
    )


def render_agreement(a: Agreement) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=agreement_html(a)).write_pdf(pdf_variant=PDF_VARIANT))


def render_completed(a: Agreement, signers: list[Signer]) -> bytes:
    """The agreement's pages (the same template version and terms the signers reviewed: the
    terms cannot change once sent) followed by the certificate of completion."""
    from weasyprint import HTML

    document = HTML(string=agreement_html(a)).render()
    certificate = HTML(string=certificate_html(a, signers, document_sha256=a.document_sha256)).render()
    pages = [*document.pages, *certificate.pages]
    return bytes(document.copy(pages).write_pdf(pdf_variant=PDF_VARIANT))
