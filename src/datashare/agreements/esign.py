"""Optional external e-signature service: the interface an agency implements to use its own
vendor instead of the built-in signer (the default, and the tested path). No vendor SDK here.

An adapter is a class named by ``AGREEMENT_ESIGN_ADAPTER`` (dotted path; empty = built-in) with:

- ``create_envelope(agreement, pdf, signers) -> str``: send the PDF to the vendor with the
  signers in routing order; return the vendor's envelope id (stored in
  ``Agreement.external_envelope_id``).
- ``parse_completed_webhook(body, headers) -> CompletedEnvelope | None``: check the vendor's
  webhook signature and say which envelope completed, with each signer's evidence; None for an
  event that is not a completion (or a forged one).

``complete_external`` then records the vendor's evidence on the agreement's ``Signer`` rows and
executes the agreement as the built-in signer does (certificate page, agency seal, work items).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from datashare.agreements import audit_actions
from datashare.agreements.models import Agreement, AgreementStatus, Signer, SignerStatus
from datashare.audit.services import record_event


@dataclass(frozen=True)
class SignerEvidence:
    email: str
    signed_at: dt.datetime
    auth_method: str
    ip: str | None = None
    user_agent: str = ""
    viewed_at: dt.datetime | None = None


@dataclass(frozen=True)
class CompletedEnvelope:
    envelope_id: str
    signers: list[SignerEvidence]


class ESignatureAdapter(Protocol):
    def create_envelope(self, agreement: Agreement, pdf: bytes, signers: list[Signer]) -> str: ...

    def parse_completed_webhook(self, body: bytes, headers: dict[str, str]) -> CompletedEnvelope | None: ...


def get_adapter() -> ESignatureAdapter | None:
    """The configured adapter, or None for the built-in signer."""
    path = getattr(settings, "AGREEMENT_ESIGN_ADAPTER", "")
    return import_string(path)() if path else None


def complete_external(envelope: CompletedEnvelope) -> Agreement | None:
    """Record a vendor's completed envelope and execute the agreement (idempotent)."""
    from datashare.agreements.services import execute

    with transaction.atomic():
        a = Agreement.objects.select_for_update().filter(external_envelope_id=envelope.envelope_id).first()
        if a is None or a.status != AgreementStatus.OUT_FOR_SIGNATURE:
            return a
        evidence = {e.email.lower(): e for e in envelope.signers}
        for s in a.signers.select_for_update().order_by("position"):
            e = evidence.get(s.email.lower())
            if e is None or s.status == SignerStatus.SIGNED:
                continue
            s.status = SignerStatus.SIGNED
            s.signed_at = s.consented_at = e.signed_at
            s.viewed_at = e.viewed_at or e.signed_at
            s.auth_method = f"{e.auth_method} (external)"[:100]
            s.ip, s.user_agent, s.typed_name = e.ip, e.user_agent[:500], s.name
            s.save(update_fields=["status", "signed_at", "consented_at", "viewed_at", "auth_method", "ip", "user_agent", "typed_name"])
            record_event(actor=None, action=audit_actions.SIGNED, target=a, new={"signer": s.email, "position": s.position, "external": envelope.envelope_id})
    return execute(agreement=a)
