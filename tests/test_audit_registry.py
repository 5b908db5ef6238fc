"""Audit actions are a registry with display texts, not free strings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datashare.accounts.models import Organization, OrganizationKind
from datashare.audit import registry
from datashare.audit.services import record_event

SRC = Path(__file__).resolve().parents[1] / "src" / "datashare"


@pytest.mark.django_db
def test_recording_an_unregistered_action_is_refused_and_writes_nothing() -> None:
    from datashare.audit.models import AuditEvent

    org = Organization.objects.create(name="State University", kind=OrganizationKind.UNIVERSITY)
    with pytest.raises(registry.UnknownAuditAction, match=r"intake\.aproved"):
        record_event(actor=None, action="intake.aproved", target=org)
    assert not AuditEvent.objects.exists()


def test_every_action_the_code_records_is_registered_with_a_display_text() -> None:
    # Every literal action="noun.verb" in the source (record_event's keyword) must be registered.
    pattern = re.compile(r"""\baction=["']([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)["']""")
    used = {
        match
        for path in SRC.rglob("*.py")
        for match in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert "intake.approved" in used  # the scan finds what it should
    missing = sorted(name for name in used if not registry.is_registered(name))
    assert missing == []
    assert registry.label("intake.approved") == "Request approved"


def test_registering_a_name_twice_with_another_text_is_a_mistake() -> None:
    action = registry.register("test.thing_done", "Thing done")
    assert registry.register("test.thing_done", "Thing done") is action
    assert action == "test.thing_done" and action.label == "Thing done"
    with pytest.raises(ValueError, match="already registered"):
        registry.register("test.thing_done", "Something else")
    with pytest.raises(ValueError, match=r"noun\.verb"):
        registry.register("NoDots", "Bad")


def test_an_old_action_no_longer_in_the_code_still_shows_its_raw_name() -> None:
    assert registry.label("legacy.removed_action") == "legacy.removed_action"
