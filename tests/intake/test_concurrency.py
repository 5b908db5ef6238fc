"""Two stewards deciding the same request at the same moment (PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from datashare.intake import services
from datashare.intake.errors import AlreadyDecided
from datashare.intake.models import DataRequest, Status
from tests.factories import make_user
from tests.intake.conftest import complete_request

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")


def test_two_stewards_deciding_at_once_exactly_one_decision_lands(requestor, steward) -> None:
    other = make_user("olive@agency.gov", roles=["data_steward"], full_name="Olive Other")
    r = complete_request(requestor)
    services.submit(actor=requestor, data_request=r)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def decide(name: str, call) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            call()
            outcomes[name] = "decided"
        except AlreadyDecided as exc:
            outcomes[name] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=("sam", lambda: services.approve(actor=steward, data_request=r))),
        threading.Thread(target=decide, args=("olive", lambda: services.deny(actor=other, data_request=r, reason="Portal has it."))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    decided = [k for k, v in outcomes.items() if v == "decided"]
    refused = [v for v in outcomes.values() if isinstance(v, AlreadyDecided)]
    assert len(decided) == 1 and len(refused) == 1, outcomes
    winner = {"sam": "Sam Steward", "olive": "Olive Other"}[decided[0]]
    assert f"already decided by {winner}" in str(refused[0])
    final = DataRequest.objects.get(pk=r.pk)
    assert final.status == (Status.APPROVED if decided[0] == "sam" else Status.DENIED)
