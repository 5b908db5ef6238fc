"""Staff administration in the portal: people, organizations and roles (administrators), and the
audit log (auditors). Thin views: a form, a permission check, one service call, a page.

Each list page costs the same number of queries whatever its length (asserted in the tests):
roles are prefetched and MFA is an ``Exists`` annotation, never a query per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from datashare.accounts.models import Organization, Role, RoleGrant, User
from datashare.accounts.permissions import require_roles
from datashare.accounts.services import grant_role, revoke_role, set_active
from datashare.audit import registry
from datashare.audit.selectors import EventFilters, events, target_types
from datashare.audit.services import record_event
from datashare.audit.status import last_verification, run_verification
from datashare.core.csvexport import csv_response
from datashare.core.errors import DomainError
from datashare.core.models import ScheduledJob
from datashare.core.scheduler import registered_jobs

PAGE_SIZE = 50


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


# --- people and roles (administrators) ---


class UserFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Name or email")
    role = forms.ChoiceField(required=False, choices=[("", "Any"), *Role.choices])


def _users_with_roles_and_mfa() -> QuerySet[User]:
    has_mfa = Authenticator.objects.filter(user=OuterRef("pk")).exclude(type=Authenticator.Type.RECOVERY_CODES)
    return (
        User.objects.select_related("organization")
        .prefetch_related(Prefetch("role_grants", queryset=RoleGrant.objects.order_by("role")))
        .annotate(has_mfa=Exists(has_mfa))
    )


@require_roles(Role.ADMINISTRATOR)
def users(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET or None)
    qs = _users_with_roles_and_mfa().order_by("email")
    if form.is_valid():
        if q := form.cleaned_data["q"].strip():
            qs = qs.filter(Q(email__icontains=q) | Q(full_name__icontains=q))
        if role := form.cleaned_data["role"]:
            qs = qs.filter(role_grants__role=role)
    page = Paginator(qs, PAGE_SIZE).get_page(_page_number(request))
    filters = {k: v for k, v in (form.cleaned_data.items() if form.is_valid() else ()) if v}
    return render(
        request,
        "web/admin_users.html",
        {"form": form, "page": page, "querystring": urlencode(filters), "role_labels": dict(Role.choices)},
    )


class RoleChangeForm(forms.Form):
    op = forms.ChoiceField(choices=[("grant", "Grant"), ("revoke", "Revoke")])
    role = forms.ChoiceField(choices=Role.choices)
    reason = forms.CharField(max_length=500, label="Reason (recorded in the audit log)")


class StandingForm(forms.Form):
    op = forms.ChoiceField(choices=[("deactivate", "Deactivate"), ("reactivate", "Reactivate")])
    reason = forms.CharField(max_length=500, label="Reason (recorded in the audit log)")


@require_roles(Role.ADMINISTRATOR)
def user_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    person = get_object_or_404(_users_with_roles_and_mfa(), public_id=public_id)
    role_form: forms.Form = RoleChangeForm(prefix="role")
    standing_form: forms.Form = StandingForm(prefix="standing")
    status = 200
    if request.method == "POST":
        actor = request.user
        assert isinstance(actor, User)
        form: forms.Form = RoleChangeForm(request.POST, prefix="role") if "role-op" in request.POST else StandingForm(
            request.POST, prefix="standing"
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["op"] == "grant":
                    grant_role(actor=actor, user=person, role=data["role"], reason=data["reason"].strip())
                elif data["op"] == "revoke":
                    revoke_role(actor=actor, user=person, role=data["role"], reason=data["reason"].strip())
                else:
                    set_active(actor=actor, user=person, active=data["op"] == "reactivate", reason=data["reason"].strip())
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, "Saved and recorded in the audit log.")
                return redirect("web:admin_user", public_id=person.public_id)
        else:
            status = 422
        if isinstance(form, RoleChangeForm):
            role_form = form
        else:
            standing_form = form
    return render(
        request,
        "web/admin_user.html",
        {"person": person, "role_form": role_form, "standing_form": standing_form, "role_labels": dict(Role.choices)},
        status=status,
    )


@require_roles(Role.ADMINISTRATOR)
def organizations(request: HttpRequest) -> HttpResponse:
    qs = Organization.objects.annotate(
        member_count=Count("members", distinct=True),
        active_count=Count("members", filter=Q(members__is_active=True), distinct=True),
    ).order_by("name")
    page = Paginator(qs, PAGE_SIZE).get_page(_page_number(request))
    return render(request, "web/admin_organizations.html", {"page": page})


@require_roles(Role.ADMINISTRATOR)
def scheduled_jobs(request: HttpRequest) -> HttpResponse:
    """The periodic jobs: when each runs next and how its last run went (a failure shows here)."""
    registered = registered_jobs()
    rows = [
        (job, registered.get(job.name))
        for job in ScheduledJob.objects.order_by("name")
    ]
    return render(request, "web/admin_jobs.html", {"rows": rows})


# --- the audit log (auditors) ---


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=254, label="Actor (email contains)")
    action = forms.ChoiceField(required=False)
    target_type = forms.ChoiceField(required=False, label="Object type")
    target_id = forms.CharField(required=False, max_length=64, label="Object id")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action, target_type = self.fields["action"], self.fields["target_type"]
        assert isinstance(action, forms.ChoiceField) and isinstance(target_type, forms.ChoiceField)
        action.choices = [("", "Any"), *((str(a), f"{a.label} ({a})") for a in registry.all_actions())]
        target_type.choices = [("", "Any"), *((t, t) for t in target_types())]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self) -> EventFilters:
        if not self.is_bound or not self.is_valid():
            return EventFilters()
        d = self.cleaned_data
        return EventFilters(
            actor=d["actor"].strip(),
            action=d["action"],
            target_type=d["target_type"],
            target_id=d["target_id"].strip(),
            since=d["since"],
            until=d["until"],
        )


def _audit_form(request: HttpRequest) -> AuditFilterForm:
    return AuditFilterForm(request.GET if any(k != "page" for k in request.GET) else None)


@require_roles(Role.AUDITOR)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = _audit_form(request)
    filters = form.filters()
    page = Paginator(events(filters), PAGE_SIZE).get_page(_page_number(request))
    rows = [(event, registry.label(event.action)) for event in page.object_list]
    querystring = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    return render(
        request,
        "web/audit_log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "querystring": querystring,
            "verification": last_verification(),
        },
        status=200 if not form.is_bound or form.is_valid() else 422,
    )


CSV_COLUMNS = ["seq", "occurred_at", "actor", "action", "action_text", "target_type", "target_id", "target", "old", "new", "ip", "hash"]


@require_roles(Role.AUDITOR)
def audit_log_csv(request: HttpRequest) -> HttpResponse:
    form = _audit_form(request)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{field}: {errors[0]}" for field, errors in form.errors.items())
        return HttpResponse(f"The filters are not valid: {problems}", status=422, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    actor = request.user
    record_event(actor=actor, action="audit.log_exported", new={k: str(v) for k, v in vars(filters).items() if v})

    def rows() -> Iterator[tuple[object, ...]]:
        yield tuple(CSV_COLUMNS)
        for e in events(filters).iterator(chunk_size=2000):
            yield (
                e.seq, e.occurred_at.isoformat(), e.actor_label, e.action, registry.label(e.action),
                e.target_type, e.target_id, e.target_label, e.old_values, e.new_values, e.ip, e.hash,
            )  # fmt: skip

    response = csv_response(rows(), "audit-log.csv")
    return response  # type: ignore[return-value]  # streamed: the log may be long


@require_POST
@require_roles(Role.AUDITOR)
def audit_verify(request: HttpRequest) -> HttpResponse:
    outcome = run_verification()
    record_event(
        actor=request.user, action="audit.chain_verified", new={"ok": outcome["ok"], "events": outcome["events"]}
    )
    if outcome["ok"]:
        messages.success(request, f"The chain of {outcome['events']} events verified.")
    else:
        messages.error(request, f"The chain is BROKEN: {outcome['problems'][0]}")
    return redirect("web:audit_log")
