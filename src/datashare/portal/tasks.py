"""Long jobs: building a dataset version and computing an aggregate request (long queue)."""

from __future__ import annotations

from django_tasks import task

from datashare.core.queues import LONG_QUEUE


@task(queue_name=LONG_QUEUE)
def build_dataset_version(*, version_id: int) -> None:
    from datashare.portal.services import run_build

    run_build(version_id=version_id)


@task(queue_name=LONG_QUEUE)
def compute_aggregate_request(*, request_id: int) -> None:
    from datashare.portal.services import run_aggregate_request

    run_aggregate_request(request_id=request_id)
