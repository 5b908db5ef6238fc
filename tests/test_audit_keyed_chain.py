"""The audit chain is keyed: a rewrite made with plain SQL, recomputing every later hash, is caught.

The attacker here has the database (SQL) but not AUDIT_HMAC_KEY, which lives outside it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from datashare.accounts.models import Organization, OrganizationKind
from datashare.audit.chain import GENESIS_HASH, hashed_fields, plain_hash, verify
from datashare.audit.head import export_head, load_head
from datashare.audit.models import AuditEvent
from datashare.audit.services import record_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def org() -> Organization:
    return Organization.objects.create(name="State University", kind=OrganizationKind.UNIVERSITY)


def _record(org: Organization, n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            record_event(actor=None, action="intake.submitted", target=org, new={"n": i})


def _verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def _rewrite_with_plain_sql(from_seq: int, new_values: dict[str, object]) -> None:
    """What an attacker with SQL but no key does: change a row, recompute every later hash the
    way the unkeyed chain did, and fix the chain head, so the plain chain is consistent again."""
    prev = GENESIS_HASH
    rows = list(AuditEvent.objects.order_by("seq"))
    with connection.cursor() as cursor:
        for row in rows:
            if row.seq < from_seq:
                prev = row.hash
                continue
            if row.seq == from_seq:
                row.new_values = new_values
            row.prev_hash = prev
            row.hash = plain_hash(hashed_fields(row))
            cursor.execute(
                "UPDATE audit_auditevent SET new_values = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [json.dumps(row.new_values), row.prev_hash, row.hash, row.pk],
            )
            prev = row.hash
        cursor.execute("UPDATE audit_chainhead SET last_hash = %s WHERE id = 1", [prev])


def test_a_keyed_log_verifies_and_says_it_is_keyed(org: Organization) -> None:
    _record(org, 4)
    code, out, _ = _verify()
    assert code == 0
    assert "4 events, keyed chain verified" in out


def test_a_consistent_rewrite_made_with_plain_sql_is_detected(org: Organization) -> None:
    _record(org, 5)
    _rewrite_with_plain_sql(3, {"n": 99})
    code, _, err = _verify()
    assert code == 1
    assert "row #3" in err and "unkeyed" in err and "without the key" in err


def test_rewriting_the_whole_log_down_to_plain_hashes_is_detected(org: Organization) -> None:
    _record(org, 3)
    _rewrite_with_plain_sql(1, {"n": 42})
    assert [p.kind for p in verify()] == ["unkeyed"] * 3


def test_rows_from_before_the_key_are_accepted_only_up_to_the_configured_row(org: Organization, settings) -> None:  # type: ignore[no-untyped-def]
    # The migration path: an old log (plain SHA-256), then the key is configured.
    settings.AUDIT_HMAC_KEY = ""
    _record(org, 3)
    settings.AUDIT_HMAC_KEY = "a-new-audit-key-that-is-long-enough-0123456789"
    _record(org, 2)
    assert [(p.seq, p.kind) for p in verify()] == [(1, "unkeyed"), (2, "unkeyed"), (3, "unkeyed")]
    settings.AUDIT_UNKEYED_UP_TO = 3
    assert verify() == []
    code, out, _ = _verify()
    assert code == 0 and "rows #1..#3 accepted unkeyed" in out


def test_a_row_signed_with_another_key_is_reported_as_edited(org: Organization, settings) -> None:  # type: ignore[no-untyped-def]
    _record(org, 2)
    settings.AUDIT_HMAC_KEY = "somebody-elses-key-that-is-long-enough-0123456789"
    assert [p.kind for p in verify()] == ["edited", "edited"]


def test_deleting_the_newest_rows_and_fixing_the_head_is_caught_by_the_exported_head(org: Organization, tmp_path: Path) -> None:
    _record(org, 5)
    head_file = export_head(tmp_path)
    _record(org, 2)  # the log grows after the export: still fine
    assert _verify("--against", str(head_file))[0] == 0
    # The attacker deletes rows 4..7 and points the chain head at row 3: a valid shorter chain.
    row3 = AuditEvent.objects.get(seq=3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > 3")
        cursor.execute("UPDATE audit_chainhead SET last_seq = 3, last_hash = %s WHERE id = 1", [row3.hash])
    assert _verify()[0] == 0  # on its own the chain cannot tell
    code, _, err = _verify("--against", str(head_file))
    assert code == 1
    assert "row #5" in err and "no longer in the log" in err


def test_a_rewrite_before_the_exported_head_is_caught_too(org: Organization, tmp_path: Path) -> None:
    _record(org, 4)
    head_file = export_head(tmp_path)
    _rewrite_with_plain_sql(2, {"n": 7})
    code, _, err = _verify("--against", str(head_file))
    assert code == 1
    assert "row #2" in err


def test_a_forged_or_broken_head_file_is_refused_with_one_line(org: Organization, tmp_path: Path) -> None:
    _record(org, 2)
    head_file = export_head(tmp_path)
    record = json.loads(head_file.read_text())
    record["seq"] = 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(record))
    with pytest.raises(Exception, match="MAC does not match") as caught:
        call_command("audit", "verify", "--against", str(forged))
    assert getattr(caught.value, "returncode", None) == 2
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    with pytest.raises(Exception, match="not a chain head file"):
        call_command("audit", "verify", "--against", str(garbage))


def test_the_scheduler_exports_the_head_and_keeps_a_history(org: Organization, tmp_path: Path, settings, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from datashare.core.scheduler import run_due, run_inline

    settings.AUDIT_HEAD_DIR = tmp_path
    _record(org, 2)
    assert "audit.export_head" in run_due(dispatch=run_inline)
    _record(org, 1)
    frozen_clock.advance(timedelta(minutes=settings.AUDIT_HEAD_EXPORT_MINUTES))
    assert "audit.export_head" in run_due(dispatch=run_inline)
    assert load_head(tmp_path / "audit-head.json")["seq"] == 3
    history = (tmp_path / "audit-heads.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in history] == [2, 3]
    assert load_head(tmp_path / "audit-heads.jsonl")["seq"] == 3
