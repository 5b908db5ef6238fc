"""The last verification of the chain, for the auditor's page (kept in the cache, refreshed hourly).

Verifying reads the whole log, so pages never do it on the fly: the scheduler's hourly job (on
the long queue) and the auditor's "Verify now" button do, and store the outcome here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypedDict

from django.core.cache import cache

from datashare.audit.chain import verify
from datashare.audit.models import AuditEvent
from datashare.core import clock
from datashare.core.queues import LONG_QUEUE
from datashare.core.scheduler import periodic

CACHE_KEY = "datashare:audit:last-verification"


class Verification(TypedDict):
    ok: bool
    checked_at: str
    events: int
    problems: list[str]


def run_verification() -> Verification:
    problems = verify()
    outcome: Verification = {
        "ok": not problems,
        "checked_at": f"{clock.now():%Y-%m-%d %H:%M} UTC",
        "events": AuditEvent.objects.count(),
        "problems": [str(p) for p in problems[:10]],
    }
    cache.set(CACHE_KEY, outcome, timeout=None)
    return outcome


def last_verification() -> Verification | None:
    value: Any = cache.get(CACHE_KEY)
    return value if isinstance(value, dict) else None  # type: ignore[return-value]


@periodic("audit.verify_chain", every=timedelta(hours=1), queue=LONG_QUEUE)
def verify_chain_job() -> None:
    run_verification()
