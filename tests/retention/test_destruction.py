"""Termination and destruction: the 45-day clock, reminders on the scheduled days and escalation
(a controllable clock), Exhibit C signed online, a steward verifies, and our own copies
crypto-erased with a certificate of our own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from datashare.accounts.models import Role
from datashare.agreements.models import Agreement, AgreementStatus, AuthorizedUser
from datashare.agreements.signals import agreement_ended
from datashare.audit.models import AuditEvent
from datashare.core.errors import ValidationFailed
from datashare.extract import vault
from datashare.retention import destruction as services
from datashare.retention.models import Destruction, DestructionStatus
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.django_db
LOCAL = ZoneInfo("America/Los_Angeles")
ENDED = dt.date(2026, 3, 2)


@pytest.fixture
def package(tmp_path: Path):
    """A real sealed package in a vault store, erased by a receiver as delivery's will be."""
    plain, store = tmp_path / "plain", tmp_path / "store"
    plain.mkdir()
    (plain / "students.csv").write_text("rid,days_absent\n1,3\n")
    master = vault.new_data_key()
    vault.seal_package(plain, store, master, "pkg-1")

    def erase(sender, **kwargs):
        record = vault.destroy_package_key(store, "pkg-1")
        return [
            {"what": "SFTP access to the package", "method": "crypto_erase", "detail": "grant ended"},
            {"what": "Package pkg-1 data key", "method": "crypto_erase", "detail": f"wrapped key sha256 {record.wrapped_key_sha256}"},
            {"what": "Package pkg-1 files", "method": "overwrite", "detail": f"{record.ciphertext_files} files deleted"},
        ]

    services.agency_copies_due.connect(erase, dispatch_uid="test-erase")
    yield store, master
    services.agency_copies_due.disconnect(dispatch_uid="test-erase")


def end(agreement: Agreement, capture, day: dt.date = ENDED) -> Destruction:
    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.TERMINATED, termination_date=day)
    agreement.refresh_from_db()
    with capture(execute=True):
        agreement_ended.send(sender=Agreement, agreement=agreement, termination_date=day, actor=None)
    return Destruction.objects.get(agreement=agreement)


def test_ending_an_agreement_starts_the_45_day_clock_and_erases_our_copies(agreement, package, django_capture_on_commit_callbacks) -> None:
    store, master = package
    d = end(agreement, django_capture_on_commit_callbacks)
    assert d.due == dt.date(2026, 4, 16) == agreement.destruction_due
    assert [e.what for e in d.agency_erasures.all()] == ["SFTP access to the package", "Package pkg-1 data key", "Package pkg-1 files"]
    with pytest.raises(vault.VaultError):
        vault.package_key(store, "pkg-1", master)
    assert not (store / "pkg-1").exists()
    assert AuditEvent.objects.filter(action="destruction.agency_copy_erased").count() == 3
    # The signal sent twice schedules nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        agreement_ended.send(sender=Agreement, agreement=agreement, termination_date=ENDED, actor=None)
    assert Destruction.objects.count() == 1 and d.agency_erasures.count() == 3


def test_reminders_come_30_14_7_and_1_days_before_and_overdue_goes_to_stewards_weekly(agreement, steward, frozen_clock, django_capture_on_commit_callbacks, mailoutbox) -> None:
    frozen_clock.set(dt.datetime(2026, 3, 2, 12, tzinfo=LOCAL))
    end(agreement, django_capture_on_commit_callbacks)
    reminded, escalated = [], []
    day = dt.datetime(2026, 3, 2, 10, tzinfo=LOCAL)
    while day.date() <= dt.date(2026, 4, 30):
        frozen_clock.set(day)
        before = AuditEvent.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            services.send_due_destruction_reminders()
            services.send_due_destruction_reminders()  # a second sweep the same hour sends nothing
        for e in AuditEvent.objects.order_by("pk")[before:]:
            (reminded if e.action == "destruction.reminded" else escalated).append(day.date())
        day += dt.timedelta(days=1)
    assert reminded == [dt.date(2026, 3, 17), dt.date(2026, 4, 2), dt.date(2026, 4, 9), dt.date(2026, 4, 15)]
    assert escalated == [dt.date(2026, 4, 17), dt.date(2026, 4, 24)]
    subjects = [m.subject for m in mailoutbox]
    assert any("by 2026-04-16" in s for s in subjects) and any("Destruction overdue" in s for s in subjects)
    assert next(m.to for m in mailoutbox if "overdue" in m.subject) == [steward.email]


def test_a_late_termination_sends_the_nearest_reminder_once(agreement, frozen_clock, django_capture_on_commit_callbacks) -> None:
    # Recorded 40 days late: due in 5 days; the 30-, 14- and 7-day reminders are past.
    frozen_clock.set(dt.datetime(2026, 4, 11, 10, tzinfo=LOCAL))
    d = end(agreement, django_capture_on_commit_callbacks)
    assert d.next_reminder_at.astimezone(LOCAL).date() == dt.date(2026, 4, 15)


CERT = [
    {"copy": "Analysis extract", "medium": "Enclave network share", "method": "crypto_erase", "destroyed_on": dt.date(2026, 3, 20), "destroyed_by": "Ada Lovelace"},
    {"copy": "Printed tables", "medium": "Paper", "method": "shredding", "destroyed_on": dt.date(2026, 3, 20), "destroyed_by": "Ada Lovelace"},
]


def test_the_researcher_signs_exhibit_c_and_a_steward_verifies(client, agreement, requestor, steward, frozen_clock, django_capture_on_commit_callbacks) -> None:
    frozen_clock.set(dt.datetime(2026, 3, 25, 10, tzinfo=LOCAL))
    d = end(agreement, django_capture_on_commit_callbacks)
    client.force_login(requestor)
    url = reverse("retention:destruction", args=[d.public_id])
    assert "Sign the certificate" in client.get(url).content.decode()
    form = {"consent": "on", "typed_name": "Ada Lovelace", "password": PASSWORD}
    for i, line in enumerate(CERT, start=1):
        form.update({f"item-{i}-{k}": (v.isoformat() if isinstance(v, dt.date) else v) for k, v in line.items()})
    wrong = client.post(reverse("retention:certify", args=[d.public_id]), {**form, "password": "nope"})
    assert wrong.status_code == 422 and "not your password" in wrong.content.decode()
    assert client.post(reverse("retention:certify", args=[d.public_id]), form).status_code == 302
    d.refresh_from_db()
    assert d.status == DestructionStatus.CERTIFIED and d.items.count() == 2 and len(d.certificate_sha256) == 64
    assert d.next_reminder_at is None

    assert client.post(reverse("retention:verify", args=[d.public_id])).status_code == 403
    client.force_login(steward)
    assert client.post(reverse("retention:verify", args=[d.public_id]), {"action": "verify"}).status_code == 302
    d.refresh_from_db()
    assert d.status == DestructionStatus.VERIFIED and d.verified_by == steward


def test_every_line_needs_a_method_fit_for_its_medium_and_a_past_date(agreement, requestor, frozen_clock, django_capture_on_commit_callbacks) -> None:
    frozen_clock.set(dt.datetime(2026, 3, 25, 10, tzinfo=LOCAL))
    d = end(agreement, django_capture_on_commit_callbacks)
    bad = [{**CERT[0], "method": "shredding"}, {**CERT[1], "destroyed_on": dt.date(2026, 5, 1)}]
    with pytest.raises(ValidationFailed) as caught:
        services.certify_destruction(actor=requestor, destruction=d, items=bad, typed_name="Ada Lovelace", password=PASSWORD)
    assert set(caught.value.fields) == {"item-1", "item-2"}
    with pytest.raises(ValidationFailed, match="full name"):
        services.certify_destruction(actor=requestor, destruction=d, items=CERT, typed_name="Someone Else", password=PASSWORD)
    with pytest.raises(ValidationFailed):
        services.certify_destruction(actor=requestor, destruction=d, items=[], typed_name="Ada Lovelace", password=PASSWORD)
    with pytest.raises(ValidationFailed, match="sign electronically"):
        services.certify_destruction(actor=requestor, destruction=d, items=CERT, typed_name="Ada Lovelace", password=PASSWORD, consent=False)


def test_a_returned_certificate_restarts_the_reminders(agreement, requestor, steward, frozen_clock, django_capture_on_commit_callbacks) -> None:
    frozen_clock.set(dt.datetime(2026, 3, 25, 10, tzinfo=LOCAL))
    d = end(agreement, django_capture_on_commit_callbacks)
    services.certify_destruction(actor=requestor, destruction=d, items=CERT, typed_name="Ada Lovelace", password=PASSWORD)
    services.return_certificate(actor=steward, destruction=d, reason="The laptop copy is missing.")
    d.refresh_from_db()
    assert d.status == DestructionStatus.PENDING and d.next_reminder_at is not None


def test_outsiders_see_nothing_and_a_steward_does_not_verify_their_own(client, agreement, outsider, requestor, frozen_clock, django_capture_on_commit_callbacks) -> None:
    frozen_clock.set(dt.datetime(2026, 3, 25, 10, tzinfo=LOCAL))
    d = end(agreement, django_capture_on_commit_callbacks)
    client.force_login(outsider)
    assert client.get(reverse("retention:destruction", args=[d.public_id])).status_code == 404
    assert client.post(reverse("retention:certify", args=[d.public_id])).status_code == 404
    assert client.get(reverse("retention:destructions")).status_code == 403
    services.certify_destruction(actor=requestor, destruction=d, items=CERT, typed_name="Ada Lovelace", password=PASSWORD)
    insider, _ = make_staff("insider@agency.gov", Role.DATA_STEWARD)
    AuthorizedUser.objects.create(agreement=agreement, user=insider, name="Insider", role="Analyst")
    client.force_login(insider)
    assert client.post(reverse("retention:verify", args=[d.public_id]), {"action": "verify"}).status_code == 403
    d.refresh_from_db()
    assert d.status == DestructionStatus.CERTIFIED
