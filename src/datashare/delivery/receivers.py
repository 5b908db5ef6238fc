"""Hand-offs from the agreements app (its signals are sent after commit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.dispatch import receiver

from datashare.agreements.models import Agreement
from datashare.agreements.signals import agency_copies_due, agreement_ended, agreement_executed
from datashare.delivery import jobs, services


@receiver(agreement_executed, sender=Agreement, dispatch_uid="delivery.queue_extract")
def queue_extract_on_execution(sender: type[Agreement], *, agreement: Agreement, actor: Any, **kwargs: Any) -> None:
    jobs.queue_extract(actor=actor, agreement=agreement)


@receiver(agreement_ended, sender=Agreement, dispatch_uid="delivery.revoke_on_end")
def revoke_on_end(sender: type[Agreement], *, agreement: Agreement, termination_date: dt.date, actor: Any, **kwargs: Any) -> None:
    services.revoke_for_agreement(actor=actor, agreement_label=agreement.label, reason=f"agreement {agreement.get_status_display().lower()}")


@receiver(agency_copies_due, sender=Agreement, dispatch_uid="delivery.erase_agency_copies")
def erase_agency_copies(sender: type[Agreement], *, agreement: Agreement, **kwargs: Any) -> list[dict[str, str]]:
    return jobs.agency_copy_lines(agreement=agreement)
