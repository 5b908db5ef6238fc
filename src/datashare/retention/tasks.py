from __future__ import annotations

from django_tasks import task

from datashare.core.queues import LONG_QUEUE


@task(queue_name=LONG_QUEUE)
def erase_agency_copies_task(*, destruction_id: int) -> None:
    from datashare.retention.destruction import erase_agency_copies
    from datashare.retention.models import Destruction

    d = Destruction.objects.filter(pk=destruction_id).select_related("agreement").first()
    if d is not None and not d.agency_erasures.exists():
        erase_agency_copies(destruction=d)
