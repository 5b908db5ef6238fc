"""Administrators manage people and roles in the portal; auditors read the audit log."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from datashare.accounts.models import Role, User
from datashare.audit.models import AuditEvent
from datashare.audit.services import record_event
from tests.factories import make_org, make_staff, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> User:
    return make_staff("root@agency.example", Role.ADMINISTRATOR)[0]


@pytest.fixture
def auditor() -> User:
    return make_staff("eye@agency.example", Role.AUDITOR)[0]


def _client(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _user_url(person: User) -> str:
    return reverse("web:admin_user", args=[person.public_id])


def test_an_administrator_sees_every_account_with_roles_mfa_and_standing(admin: User) -> None:
    make_staff("steward@agency.example", Role.DATA_STEWARD)
    make_user("ana@university.example", organization=make_org())
    body = _client(admin).get(reverse("web:admin_users")).content.decode()
    assert 'data-area="staff"' in body
    assert "steward@agency.example" in body and "ana@university.example" in body
    assert "Data steward" in body
    assert body.count("Enrolled") == 2  # the administrator and the steward; ana has none
    filtered = _client(admin).get(reverse("web:admin_users"), {"role": Role.DATA_STEWARD}).content.decode()
    assert "steward@agency.example" in filtered and "ana@university.example" not in filtered


def test_the_people_list_costs_the_same_queries_for_3_or_30_accounts(admin: User, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = _client(admin)
    org = make_org()
    for i in range(2):
        make_user(f"r{i}@university.example", organization=org)
    client.get(reverse("web:admin_users"))  # warm the session
    with django_assert_num_queries(7):
        assert client.get(reverse("web:admin_users")).status_code == 200
    for i in range(2, 30):
        make_user(f"r{i}@university.example", roles=(Role.REQUESTOR, Role.AUDITOR), organization=org)
    with django_assert_num_queries(7):
        assert client.get(reverse("web:admin_users")).status_code == 200
    with django_assert_num_queries(6):
        assert client.get(reverse("web:admin_organizations")).status_code == 200


def test_an_administrator_grants_and_revokes_a_role_with_a_reason_and_both_are_audited(admin: User) -> None:
    person = make_user("new.steward@agency.example", organization=make_org("State Education Agency"))
    client = _client(admin)
    response = client.post(_user_url(person), {"role-op": "grant", "role-role": Role.DATA_STEWARD, "role-reason": "Joined the data governance team"})
    assert response.status_code == 302
    assert person.__class__.objects.get(pk=person.pk).has_role(Role.DATA_STEWARD)
    granted = AuditEvent.objects.get(action="account.role_granted", target_id=str(person.public_id), actor_id=admin.pk)
    assert granted.new_values == {"role": "data_steward", "reason": "Joined the data governance team"}
    client.post(_user_url(person), {"role-op": "revoke", "role-role": Role.DATA_STEWARD, "role-reason": "Left the team"})
    assert not User.objects.get(pk=person.pk).has_role(Role.DATA_STEWARD)
    revoked = AuditEvent.objects.get(action="account.role_revoked", target_id=str(person.public_id))
    assert (revoked.old_values, revoked.new_values) == ({"role": "data_steward"}, {"reason": "Left the team"})


def test_a_role_change_without_a_reason_is_a_form_error_not_a_change(admin: User) -> None:
    person = make_user("x@agency.example")
    response = _client(admin).post(_user_url(person), {"role-op": "grant", "role-role": Role.AUDITOR, "role-reason": ""})
    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    assert not User.objects.get(pk=person.pk).has_role(Role.AUDITOR)
    bogus = _client(admin).post(_user_url(person), {"role-op": "grant", "role-role": "superuser", "role-reason": "why not"})
    assert bogus.status_code == 422


def test_an_administrator_cannot_change_their_own_roles_or_deactivate_themselves(admin: User) -> None:
    client = _client(admin)
    response = client.post(_user_url(admin), {"role-op": "grant", "role-role": Role.AUDITOR, "role-reason": "me too"})
    assert response.status_code == 403
    assert "your own account" in response.content.decode()
    assert not User.objects.get(pk=admin.pk).has_role(Role.AUDITOR)
    response = client.post(_user_url(admin), {"standing-op": "deactivate", "standing-reason": "oops"})
    assert response.status_code == 403
    assert User.objects.get(pk=admin.pk).is_active


def test_a_deactivated_account_can_no_longer_sign_in_and_it_is_audited(admin: User) -> None:
    person = make_user("leaver@university.example", organization=make_org())
    their_session = _client(person)
    assert their_session.get(reverse("web:account")).status_code == 200
    response = _client(admin).post(_user_url(person), {"standing-op": "deactivate", "standing-reason": "Left the university"})
    assert response.status_code == 302
    assert not User.objects.get(pk=person.pk).is_active
    event = AuditEvent.objects.get(action="account.deactivated")
    assert event.new_values == {"active": False, "reason": "Left the university"}
    # Their open session ends: the next page asks them to sign in.
    assert their_session.get(reverse("web:account")).status_code == 302


@pytest.mark.parametrize("role", [Role.REQUESTOR, Role.DATA_STEWARD, Role.AUDITOR, Role.AGENCY_SIGNATORY])
def test_nobody_but_an_administrator_opens_the_people_pages(role: str) -> None:
    if role == Role.REQUESTOR:
        outsider = make_user("out@university.example", organization=make_org())
    else:
        outsider = make_staff(f"{role}@agency.example", role)[0]
    victim = make_user("victim@university.example")
    client = _client(outsider)
    for url in (reverse("web:admin_users"), reverse("web:admin_organizations"), _user_url(victim)):
        assert client.get(url).status_code == 403, url
    assert client.post(_user_url(victim), {"role-op": "grant", "role-role": Role.ADMINISTRATOR, "role-reason": "x"}).status_code == 403
    assert not User.objects.get(pk=victim.pk).has_role(Role.ADMINISTRATOR)
    assert Client().get(reverse("web:admin_users")).status_code == 302  # anonymous: sign in


def _events(auditor: User) -> None:
    org = make_org()
    for i in range(3):
        record_event(actor=auditor, action="intake.submitted", target=org, new={"n": i})
    record_event(actor=None, action="organization.created", target=org, new={"name": "=HYPERLINK(\"http://evil\")"})


def test_an_auditor_filters_the_log_by_actor_action_object_and_date(auditor: User) -> None:
    _events(auditor)
    client = _client(auditor)
    body = client.get(reverse("web:audit_log")).content.decode()
    assert 'data-area="staff"' in body
    assert "Request submitted" in body and "Organization created" in body
    only = client.get(reverse("web:audit_log"), {"action": "organization.created"}).content.decode()
    assert "<code>intake.submitted</code>" not in only and "1 event," in only
    by_actor = client.get(reverse("web:audit_log"), {"actor": "eye@"}).content.decode()
    assert "<code>organization.created</code>" not in by_actor
    assert "3 events" in client.get(reverse("web:audit_log"), {"target_type": "accounts.organization", "action": "intake.submitted"}).content.decode()
    assert "0 events" in client.get(reverse("web:audit_log"), {"until": "2000-01-01"}).content.decode()
    bad = client.get(reverse("web:audit_log"), {"since": "9999-99-99", "action": "nope"})
    assert bad.status_code == 422  # a form error, never a 500


def test_the_audit_list_costs_the_same_queries_however_many_events(auditor: User, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = _client(auditor)
    _events(auditor)
    client.get(reverse("web:audit_log"))
    with django_assert_num_queries(7):
        client.get(reverse("web:audit_log"))
    org = make_org()
    for i in range(40):
        record_event(actor=auditor, action="intake.submitted", target=org, new={"n": i})
    with django_assert_num_queries(7):
        client.get(reverse("web:audit_log"))


def test_the_csv_export_has_the_filtered_events_defuses_formulas_and_is_itself_audited(auditor: User) -> None:
    _events(auditor)
    response = _client(auditor).get(reverse("web:audit_log_csv"), {"action": "organization.created"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert rows[0][:5] == ["seq", "occurred_at", "actor", "action", "action_text"]
    assert len(rows) == 2
    assert rows[1][3] == "organization.created"
    assert rows[1][9].startswith("{")  # the JSON of the new values, not a formula
    assert AuditEvent.objects.filter(action="audit.log_exported", actor_id=auditor.pk).exists()


def test_a_formula_looking_cell_is_written_as_text() -> None:
    from datashare.core.csvexport import safe_cell

    assert safe_cell('=HYPERLINK("x")') == "'=HYPERLINK(\"x\")"
    assert safe_cell("-1+2") == "'-1+2"
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""


def test_the_auditor_sees_the_chain_status_and_can_verify_now(auditor: User) -> None:
    _events(auditor)
    client = _client(auditor)
    assert "Not verified yet" in client.get(reverse("web:audit_log")).content.decode()
    response = client.post(reverse("web:audit_verify"), follow=True)
    body = response.content.decode()
    assert "Intact: the keyed chain of 5 events verified" in body  # 4 here + the auditor's role grant
    assert AuditEvent.objects.filter(action="audit.chain_verified").exists()


@pytest.mark.parametrize("role", [Role.REQUESTOR, Role.DATA_STEWARD, Role.ADMINISTRATOR])
def test_nobody_but_an_auditor_reads_or_exports_the_log(role: str) -> None:
    if role == Role.REQUESTOR:
        outsider = make_user("out@university.example", organization=make_org())
    else:
        outsider = make_staff(f"{role}@agency.example", role)[0]
    client = _client(outsider)
    assert client.get(reverse("web:audit_log")).status_code == 403
    assert client.get(reverse("web:audit_log_csv")).status_code == 403
    assert client.post(reverse("web:audit_verify")).status_code == 403


def test_roles_cli_grants_and_revokes_with_a_reason() -> None:
    person = make_user("script@agency.example")
    out = io.StringIO()
    call_command("roles", "grant", "script@agency.example", "auditor", "--reason", "Annual audit", stdout=out)
    assert "now holds auditor" in out.getvalue()
    assert User.objects.get(pk=person.pk).has_role(Role.AUDITOR)
    event = AuditEvent.objects.get(action="account.role_granted", target_id=str(person.public_id), new_values__role="auditor")
    assert event.actor_label == "system" and event.new_values["reason"] == "Annual audit"
    call_command("roles", "revoke", "script@agency.example", "auditor", "--reason", "Audit over", stdout=io.StringIO())
    assert not User.objects.get(pk=person.pk).has_role(Role.AUDITOR)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grant", "nobody@agency.example", "auditor", "--reason", "x"], "no user with email"),
        (["grant", "script@agency.example", "wizard", "--reason", "x"], "unknown role"),
        (["grant", "script@agency.example", "auditor", "--reason", "  "], "--reason"),
    ],
)
def test_roles_cli_refuses_bad_input_with_one_line_and_exit_2(args: list[str], message: str) -> None:
    make_user("script@agency.example")
    with pytest.raises(CommandError, match=message) as caught:
        call_command("roles", *args)
    assert caught.value.returncode == 2


def test_an_administrator_sees_each_scheduled_job_and_its_last_failure(admin: User, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from datashare.core.models import ScheduledJob

    ScheduledJob.objects.create(name="audit.export_head", next_run_at=timezone.now(), last_status="ok")
    ScheduledJob.objects.create(
        name="core.heartbeat", next_run_at=timezone.now(), last_status="failed", last_error="OperationalError: database is locked"
    )
    client = _client(admin)
    client.get(reverse("web:admin_jobs"))
    with django_assert_num_queries(5):
        body = client.get(reverse("web:admin_jobs")).content.decode()
    assert "core.heartbeat" in body and "audit.export_head" in body
    assert "OperationalError: database is locked" in body
    requestor = make_user("out@university.example", organization=make_org())
    assert _client(requestor).get(reverse("web:admin_jobs")).status_code == 403
    auditor = make_staff("eye2@agency.example", Role.AUDITOR)[0]
    assert _client(auditor).get(reverse("web:admin_jobs")).status_code == 403
