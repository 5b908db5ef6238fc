"""The scan of an uploaded version runs in a task: a large workbook takes seconds to read."""

from __future__ import annotations

from django_tasks import task

from datashare.core.queues import LONG_QUEUE


@task(queue_name=LONG_QUEUE)
def scan_results_version(*, version_id: int) -> None:
    from datashare.results.services import run_scan

    run_scan(version_id=version_id)
