"""Agreements' hooks on intake's signals (agreements is above intake: intake never imports it)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from datashare.intake.models import DataRequest
from datashare.intake.signals import request_approved

log = logging.getLogger(__name__)


@receiver(request_approved, sender=DataRequest, dispatch_uid="agreements.draft_on_approval")
def draft_agreement_on_approval(sender: type[DataRequest], *, data_request: DataRequest, actor: Any, **kwargs: Any) -> None:
    """Approving a request drafts its agreement. Runs after intake's commit, in its own
    transaction: if it fails, the approval stands and the steward drafts it from the request
    page ("Generate the agreement" calls the same idempotent service).

    Suppressed aggregate tables need no agreement (the reference process: a data sharing
    agreement is for student-level data or aggregates without disclosure avoidance); their
    tables are prepared with the disclosure engine instead, so nothing is drafted."""
    from datashare.agreements.errors import AgreementError
    from datashare.agreements.services import create_from_request, needs_agreement

    if not needs_agreement(data_request):
        return

    try:
        create_from_request(actor=actor, data_request=data_request)
    except AgreementError as exc:
        log.warning("agreement not drafted for request %s: %s", data_request.public_id, exc)
