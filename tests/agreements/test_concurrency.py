"""A signer's double click, or a steward voiding while the signer signs: exactly one lands
(PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from datashare.agreements import services
from datashare.agreements.errors import AgreementError
from datashare.agreements.models import AgreementStatus, SignerStatus
from datashare.audit.models import AuditEvent
from tests.agreements.conftest import approved_agreement

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")


def _race(calls: dict[str, object]) -> dict[str, object]:
    barrier = threading.Barrier(len(calls))
    outcomes: dict[str, object] = {}

    def run(name: str, call) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            call()
            outcomes[name] = "done"
        except AgreementError as exc:
            outcomes[name] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(name, call)) for name, call in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_a_signature_never_lands_on_an_agreement_voided_at_the_same_moment(requestor, steward, signatories, django_capture_on_commit_callbacks) -> None:
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    a = services.send_for_signature(actor=steward, agreement=a)
    first = a.signers.get(position=1)
    outcomes = _race(
        {
            "sign": lambda: services.sign(actor=requestor, signer=first, typed_name=first.name, consent=True, auth_method="password"),
            "void": lambda: services.void(actor=steward, agreement=a, reason="Wrong term."),
        }
    )
    # Either order is a valid history (sign then void, or void then a refused signature), but a
    # signature never lands on an agreement already voided.
    assert outcomes["void"] == "done", outcomes
    a.refresh_from_db()
    first.refresh_from_db()
    assert a.status == AgreementStatus.VOIDED
    assert (outcomes["sign"] == "done") == (first.status == SignerStatus.SIGNED)
    if first.status == SignerStatus.SIGNED:
        events = list(AuditEvent.objects.filter(action__in=["agreements.signed", "agreements.voided"]).order_by("seq").values_list("action", flat=True))
        assert events == ["agreements.signed", "agreements.voided"]

def test_a_double_click_on_sign_signs_once(requestor, steward, signatories, django_capture_on_commit_callbacks) -> None:
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    a = services.send_for_signature(actor=steward, agreement=a)
    first = a.signers.get(position=1)

    def sign() -> None:
        services.sign(actor=requestor, signer=first, typed_name=first.name, consent=True, auth_method="password")

    outcomes = _race({"one": sign, "two": sign})
    assert sorted(v == "done" for v in outcomes.values()) == [False, True], outcomes
    assert a.signers.filter(status=SignerStatus.SIGNED).count() == 1
