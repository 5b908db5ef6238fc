"""REST API for agreements: read, status and the PDF, for whoever may see the agreement (404
otherwise). Signing is deliberately not offered here: a signature needs the signer signed in
interactively (MFA for staff), never a service account's token."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from django.http import FileResponse, Http404, HttpRequest
from ninja import Router, Schema

from datashare.agreements.permissions import get_agreement_for, visible_agreements
from datashare.api.auth import api_user

router = Router(tags=["agreements"])


class SignerOut(Schema):
    position: int
    name: str
    role: str
    status: str
    signed_at: dt.datetime | None


class AgreementOut(Schema):
    id: UUID
    number: str
    version: int
    title: str
    organization: str
    request: UUID
    status: str
    term_start: dt.date | None
    term_end: dt.date | None
    exhibit_a: dict[str, list[int]]
    # Files besides Parquet and CSV ("dta", "sav", "xpt"); null for an agreement sent before
    # the formats were a term (its package follows the request).
    delivery_formats: list[str] | None
    executed_at: dt.datetime | None
    termination_date: dt.date | None
    destruction_due: dt.date | None
    document_sha256: str
    sealed_sha256: str
    signers: list[SignerOut]


class StatusOut(Schema):
    id: UUID
    number: str
    version: int
    status: str
    next_signer: str | None


def _out(a) -> AgreementOut:  # type: ignore[no-untyped-def]
    return AgreementOut(
        id=a.public_id,
        number=a.number,
        version=a.version,
        title=a.title,
        organization=a.organization.name,
        request=a.data_request.public_id,
        status=a.status,
        term_start=a.term_start,
        term_end=a.term_end,
        exhibit_a=a.exhibit_a,
        delivery_formats=a.delivery_formats,
        executed_at=a.executed_at,
        termination_date=a.termination_date,
        destruction_due=a.destruction_due,
        document_sha256=a.document_sha256,
        sealed_sha256=a.sealed_sha256,
        signers=[SignerOut(position=s.position, name=s.name, role=s.role_label, status=s.status, signed_at=s.signed_at) for s in a.signers.all()],
    )


@router.get("/", response=list[AgreementOut], summary="The agreements the caller may see, newest first")
def list_agreements(request: HttpRequest) -> list[AgreementOut]:
    rows = visible_agreements(api_user(request)).select_related("organization", "data_request").prefetch_related("signers")
    return [_out(a) for a in rows.order_by("-created_at")[:200]]


@router.get("/{public_id}", response=AgreementOut, summary="One agreement")
def get_agreement(request: HttpRequest, public_id: UUID) -> AgreementOut:
    return _out(get_agreement_for(api_user(request), public_id))


@router.get("/{public_id}/status", response=StatusOut, summary="An agreement's status and who signs next")
def agreement_status(request: HttpRequest, public_id: UUID) -> StatusOut:
    a = get_agreement_for(api_user(request), public_id)
    turn = a.signers.exclude(status="signed").order_by("position").first() if a.status == "out_for_signature" else None
    return StatusOut(id=a.public_id, number=a.number, version=a.version, status=a.status, next_signer=turn.name if turn else None)


@router.get("/{public_id}/document.pdf", summary="The sealed PDF once executed, else the PDF as sent", response={200: None})
def agreement_document(request: HttpRequest, public_id: UUID) -> FileResponse:
    a = get_agreement_for(api_user(request), public_id)
    field = a.sealed_document or a.document
    if not field:
        raise Http404("No document yet")
    return FileResponse(field.open("rb"), as_attachment=True, filename=f"{a.number}-v{a.version}.pdf", content_type="application/pdf")
