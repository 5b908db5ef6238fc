"""The audit log is append-only and tamper-evident."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from datashare.accounts.models import Organization, OrganizationKind, Role, User
from datashare.accounts.services import grant_role
from datashare.audit.chain import verify
from datashare.audit.models import AppendOnlyError, AuditEvent
from datashare.audit.services import record_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def events() -> list[AuditEvent]:
    org = Organization.objects.create(name="State University", kind=OrganizationKind.UNIVERSITY)
    user = User.objects.create_user("ana@example.edu", "pw-for-tests-only-1", organization=org)
    made = []
    for i in range(5):
        with transaction.atomic():
            made.append(
                record_event(
                    actor=user, action="intake.submitted", target=org, new={"n": i, "note": "é"}
                )
            )
    return made


def _run_verify() -> tuple[int, str]:
    import io

    err = io.StringIO()
    try:
        call_command("audit", "verify", stderr=err, stdout=io.StringIO())
    except SystemExit as exc:
        return int(exc.code or 0), err.getvalue()
    return 0, err.getvalue()


def test_an_untouched_log_verifies(events: list[AuditEvent]) -> None:
    assert verify() == []
    assert _run_verify() == (0, "")


def test_each_event_is_chained_to_the_one_before(events: list[AuditEvent]) -> None:
    stored = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    for before, after in itertools.pairwise(stored):
        assert after.prev_hash == before.hash


def test_verify_names_the_row_whose_payload_was_edited_in_the_database(
    events: list[AuditEvent],
) -> None:
    victim = events[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET new_values = %s WHERE id = %s",
            ['{"n": 99, "note": "é"}', victim.pk],
        )
    code, err = _run_verify()
    assert code == 1
    assert f"row #{victim.seq} (id {victim.pk}) edited" in err


def test_verify_detects_a_deleted_row(events: list[AuditEvent]) -> None:
    victim = events[1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])
    code, err = _run_verify()
    assert code == 1
    assert f"row #{victim.seq} deleted" in err


def test_verify_detects_the_last_rows_deleted(events: list[AuditEvent]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq >= %s", [4])
    code, err = _run_verify()
    assert code == 1
    assert "truncated" in err


def test_verify_detects_reordered_rows(events: list[AuditEvent]) -> None:
    a, b = events[1], events[2]
    with connection.cursor() as cursor:
        # Swap two rows' contents (seq and hashes stay with each id): a reorder.
        cursor.execute(
            "UPDATE audit_auditevent SET seq = seq + 1000 WHERE id IN (%s, %s)", [a.pk, b.pk]
        )
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [a.seq, b.pk])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [b.seq, a.pk])
    problems = verify()
    assert problems
    assert problems[0].seq == a.seq


def test_orm_update_and_delete_raise(events: list[AuditEvent]) -> None:
    event = AuditEvent.objects.get(pk=events[0].pk)
    event.action = "something.else"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert verify() == []


def test_role_grant_is_audited_in_the_same_transaction() -> None:
    user = User.objects.create_user("steward@agency.example", "pw-for-tests-only-1")
    with pytest.raises(RuntimeError), transaction.atomic():
        grant_role(actor=None, user=user, role=Role.DATA_STEWARD)
        raise RuntimeError("the change fails after the grant")
    assert not AuditEvent.objects.filter(action="account.role_granted").exists()
    assert not user.role_grants.exists()
    grant_role(actor=None, user=user, role=Role.DATA_STEWARD)
    event = AuditEvent.objects.get(action="account.role_granted")
    assert event.new_values == {"role": "data_steward"}
    assert event.target_id == str(user.public_id)
