"""The record of disclosures (34 CFR 99.32): recorded once, searchable, exported, kept, purged."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from datashare.accounts.models import Role
from datashare.audit.models import AuditEvent
from datashare.retention.models import DisclosureRecord, RecordKind
from datashare.retention.services import purge_expired_records, record_disclosure
from tests.factories import PASSWORD, make_org, make_staff, make_user

pytestmark = pytest.mark.django_db


def disclose(**overrides: object) -> DisclosureRecord:
    values: dict[str, object] = {
        "actor": None,
        "source_key": "agreement:1",
        "kind": RecordKind.DISCLOSURE,
        "occurred_on": dt.date(2026, 3, 2),
        "organization": "Evergreen State University",
        "parties": ["Ada Lovelace", "Grace Hopper"],
        "legitimate_interest": "Study of chronic absence for the agency (studies exception)",
        "ferpa_exception": "99.31(a)(6) studies",
        "agreement_number": "DSA-2026-001",
        "elements": ["days_absent", "homeless"],
        "school_years": [2023, 2022, 2023],
        "redisclosure_parties": ["=cmd|' /C calc'!A0"],
    }
    values.update(overrides)
    return record_disclosure(**values)  # type: ignore[arg-type]




def test_a_disclosure_is_recorded_once_with_its_parties_and_an_audit_event(settings) -> None:
    settings.DISCLOSURE_RECORD_RETENTION_YEARS = 7
    first = disclose()
    again = disclose(organization="changed")
    assert again.pk == first.pk and DisclosureRecord.objects.count() == 1
    assert first.school_years == ["2022", "2023"]
    assert first.retain_until == dt.date(2033, 3, 2)
    assert AuditEvent.objects.filter(action="disclosure_record.added").count() == 1


def test_a_record_without_a_legitimate_interest_is_refused() -> None:
    with pytest.raises(ValueError, match="legitimate interest"):
        disclose(legitimate_interest="  ")


def test_entries_past_retention_are_purged_and_named_in_the_audit_log() -> None:
    old = disclose(source_key="a", occurred_on=dt.date(2010, 1, 4))
    disclose(source_key="b")
    assert purge_expired_records(actor=None, today=dt.date(2026, 1, 1)) == 1
    assert list(DisclosureRecord.objects.values_list("source_key", flat=True)) == ["b"]
    purged = AuditEvent.objects.get(action="disclosure_record.purged")
    assert purged.target_id == str(old.public_id)


@pytest.mark.parametrize("role", [Role.DATA_STEWARD, Role.AUDITOR])
def test_stewards_and_auditors_search_the_record(client, role: str) -> None:
    disclose()
    disclose(source_key="b", organization="Other College", parties=["Eve"], elements=["ell"])
    user, _ = make_staff(f"{role}@agency.gov", role)
    client.force_login(user)
    page = client.get(reverse("retention:disclosures"), {"q": "hopper"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Evergreen State University" in body and "Other College" not in body
    assert 'data-area="staff"' in body


def test_a_bad_date_in_the_search_is_a_form_error_not_a_500(client) -> None:
    user, _ = make_staff("auditor@agency.gov", Role.AUDITOR)
    client.force_login(user)
    assert client.get(reverse("retention:disclosures"), {"date_from": "yesterday"}).status_code == 200
    assert client.get(reverse("retention:disclosures_csv"), {"date_from": "x"}).status_code == 400


def test_the_csv_export_holds_every_field_and_defuses_formulas(client) -> None:
    disclose()
    user, _ = make_staff("auditor@agency.gov", Role.AUDITOR)
    client.force_login(user)
    response = client.get(reverse("retention:disclosures_csv"))
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["kind", "date", "agreement", "organization"]
    assert rows[1][4] == "Ada Lovelace; Grace Hopper"
    assert rows[1][9].startswith("'=")


def test_requestors_and_strangers_cannot_read_the_record(client) -> None:
    disclose()
    requestor = make_user("ada@evergreen.edu", organization=make_org())
    assert client.get(reverse("retention:disclosures")).status_code == 302
    client.login(email=requestor.email, password=PASSWORD)
    assert client.get(reverse("retention:disclosures")).status_code == 403
    assert client.get(reverse("retention:disclosures_csv")).status_code == 403
    reviewer, _ = make_staff("rev@agency.gov", Role.DEPARTMENT_REVIEWER)
    client.force_login(reviewer)
    assert client.get(reverse("retention:disclosures_csv")).status_code == 403


def test_an_executed_agreement_enters_the_record_once(agreement) -> None:
    from datashare.agreements.models import Agreement
    from datashare.agreements.signals import agreement_executed

    for _ in range(2):
        agreement_executed.send(sender=Agreement, agreement=agreement, actor=None)
    record = DisclosureRecord.objects.get()
    assert record.kind == RecordKind.DISCLOSURE and record.agreement_number == agreement.label
    assert record.organization == agreement.organization.name
    assert record.parties and "Principal investigator" in record.parties[0]
    assert record.elements == sorted(agreement.exhibit_a)
    assert record.legitimate_interest


def test_each_request_for_access_enters_the_record_once_when_first_submitted(django_capture_on_commit_callbacks) -> None:
    # 99.32(a)(1) asks for each request as well as each disclosure: a submitted request is
    # recorded with who asked, why and for what; a resubmission is the same request.
    from datashare.intake import services as intake
    from tests.intake.conftest import complete_request

    requestor = make_user("ada@university.example", organization=make_org())
    r = complete_request(requestor)
    with django_capture_on_commit_callbacks(execute=True):
        intake.submit(actor=requestor, data_request=r)
    record = DisclosureRecord.objects.get(kind=RecordKind.REQUEST)
    assert record.source_key == f"request:{r.public_id}"
    assert record.organization == r.organization.name
    assert any("ada@university.example" in p or "Ada" in p for p in record.parties)
    assert record.legitimate_interest == "Study chronic absence."
    assert record.elements == ["days_absent", "homeless"]
    assert record.school_years == ["2022", "2023"]
    assert AuditEvent.objects.filter(action="disclosure_record.added").exists()

    from datashare.intake.signals import request_submitted

    request_submitted.send(sender=type(r), data_request=r, actor=requestor)
    assert DisclosureRecord.objects.filter(kind=RecordKind.REQUEST).count() == 1


def test_a_request_for_suppressed_aggregate_tables_is_not_an_education_record_request() -> None:
    from datashare.intake import services as intake
    from datashare.intake.models import RequestKind
    from datashare.intake.signals import request_submitted

    requestor = make_user("ada@university.example", organization=make_org())
    r = intake.create_draft(actor=requestor, title="Counts by school", kind=RequestKind.SUPPRESSED_AGGREGATE)
    request_submitted.send(sender=type(r), data_request=r, actor=requestor)
    assert not DisclosureRecord.objects.exists()
