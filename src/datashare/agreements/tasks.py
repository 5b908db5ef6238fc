"""Agreements' background work: render, seal and execute after the last signature (long queue:
rendering and sealing take about a second)."""

from __future__ import annotations

from django_tasks import task

from datashare.core.queues import LONG_QUEUE


@task(queue_name=LONG_QUEUE)
def execute_agreement(*, agreement_id: int) -> None:
    from datashare.agreements.models import Agreement
    from datashare.agreements.services import execute

    agreement = Agreement.objects.filter(pk=agreement_id).first()
    if agreement is not None:
        execute(agreement=agreement)
