"""Thin views: parse, load through ``access.get_request_for``, call one service, render."""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from datashare.accounts.models import Role, User
from datashare.accounts.permissions import require_roles
from datashare.catalog.selectors import catalog as load_catalog
from datashare.elements import format_school_year
from datashare.intake import grid, selectors, services, snapshot, uploads, validation
from datashare.intake.access import can_edit, get_request_for, is_steward
from datashare.intake.errors import AlreadyDecided, IncompleteRequest, IntakeError, NotPermitted
from datashare.intake.forms import (
    CommentRequestForm,
    ContactsStepForm,
    NewRequestForm,
    ProjectStepForm,
    RequestStepForm,
    SecurityStepForm,
    TablesStepForm,
)
from datashare.intake.models import (
    AttachmentPurpose,
    CommentRequest,
    DataRequest,
    RequestKind,
    Status,
)
from datashare.intake.transitions import EDITABLE, OPEN_FOR_REVIEW

# Bounds of URL and query numbers: beyond them the database would overflow, not just miss.
MAX_VERSION = 100_000
MAX_AGE_DAYS = 36_500

# Steps whose page is more than a list of fields; the others share intake/step_form.html.
STEP_TEMPLATES = {"contacts": "intake/step_contacts.html", "security": "intake/step_security.html"}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _base_template(user: User) -> str:
    # Pages that requestors and agency staff share wear the staff layout only for staff, so no
    # requestor ever gets a page marked data-area="staff" (tests/test_permissions.py).
    return "intake/staff_base.html" if user.is_agency_staff else "intake/base.html"


@require_roles(Role.REQUESTOR)
def my_requests(request: HttpRequest) -> HttpResponse:
    rows = selectors.my_requests(_user(request))
    return render(request, "intake/my_requests.html", {"rows": rows})


@login_required
def new_request(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        services.require_may_file(user)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    needs_org = user.organization_id is None
    form = NewRequestForm(request.POST or None, needs_organization=needs_org)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                r = services.create_draft(
                    actor=user,
                    title=form.cleaned_data["title"],
                    kind=form.cleaned_data["kind"],
                    organization_name=form.cleaned_data.get("organization_name", ""),
                    organization_kind=form.cleaned_data.get("organization_kind", ""),
                )
                # The rest of the first step, asked on the same page (nothing asked twice).
                services.update_draft(actor=user, data_request=r, changes=_request_step_changes(form.cleaned_data))
        except IncompleteRequest as exc:
            _apply_errors(form, exc.errors.get("request", {}))
        except IntakeError as exc:
            form.add_error(None, str(exc))
        else:
            r.refresh_from_db()
            missing = validation.check_step("request", r, None, complete=True)
            if missing:
                messages.warning(request, "Your draft is started. Some answers of this step are still needed.")
                return redirect(reverse("intake:edit", args=[r.public_id, "request"]) + "?check=1")
            return redirect("intake:edit", r.public_id, validation.steps_for(r)[1][0])
    _mark_required(form, "request", None)
    return render(request, "intake/new.html", {"form": form, "show_ferpa": form.chosen_kind() == RequestKind.IDENTIFIABLE})


def _request_step_changes(cleaned: dict[str, Any]) -> dict[str, Any]:
    changes = {f: cleaned[f] for f in services.EDITABLE_FIELDS["request"] if f in cleaned}
    if changes.get("kind") != RequestKind.IDENTIFIABLE or not changes.get("ferpa_exception"):
        # FERPA exceptions are for identifiable data only; an answer left from another kind
        # would only confuse the reviewer.
        changes["ferpa_exception"] = changes.get("ferpa_exception") or ""
    if changes.get("kind") and changes["kind"] != RequestKind.IDENTIFIABLE:
        changes["ferpa_exception"], changes["ferpa_explanation"] = "", ""
    return changes


def _mark_required(form: Any, step: str, r: Any) -> None:
    """Mark the fields a complete request needs (for this kind and these answers): the same
    rules as submission, read off an empty request of the same kind."""
    kind = form.chosen_kind() if hasattr(form, "chosen_kind") else (r.kind if r else RequestKind.DEIDENTIFIED)
    blank = DataRequest(kind=kind if kind in RequestKind.values else RequestKind.DEIDENTIFIED)
    blank.legislative_requirement = bool(getattr(r, "legislative_requirement", False)) or bool(form.data.get("legislative_requirement"))
    blank.irb_approved = bool(getattr(r, "irb_approved", False)) or bool(form.data.get("irb_approved"))
    required = validation.check_step(step, blank, load_catalog() if step == "data" else None, complete=True, has_policy=False)
    for name in required:
        if name in form.fields:
            form.fields[name].submit_required = True


def _apply_errors(form: Any, errors: dict[str, list[str]]) -> None:
    for field, msgs in errors.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


def _step_nav(r: Any, current: str) -> dict[str, Any]:
    steps = validation.steps_for(r)
    keys = [s for s, _ in steps]
    index = keys.index(current)
    # "Review and submit" is a step too: the counter counts what the navigation lists.
    return {"steps": steps, "current_step": current, "step_number": index + 1, "step_count": len(steps) + 1, "next_step": keys[index + 1] if index + 1 < len(keys) else None}


@login_required
def edit_step(request: HttpRequest, public_id: UUID, step: str) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    if not can_edit(user, r):
        raise PermissionDenied
    if r.status not in EDITABLE:
        messages.info(request, f"This request is {r.get_status_display().lower()} and can no longer be edited.")
        return redirect("intake:detail", r.public_id)
    if step not in dict(validation.steps_for(r)):
        raise Http404("No such step")
    nav = _step_nav(r, step)
    if step == "data" and not r.is_short_form:
        return _data_step(request, r, nav)
    action = request.POST.get("action", "continue")
    form = _make_form(step, r, request.POST or None, request.FILES or None)
    for field in uploads.oversized(request) & set(form.fields):
        form.add_error(field, uploads.too_large_message())
    if request.method == "POST":
        saved = form.is_valid() and _save_step(request, user, r, step, form)
        r.refresh_from_db()
        if saved:
            if action == "draft":
                messages.success(request, "Draft saved.")
                return redirect("web:my_requests")
            missing = _missing(step, r)
            if not missing:
                return redirect("intake:edit", r.public_id, nav["next_step"]) if nav["next_step"] else redirect("intake:review", r.public_id)
            _apply_errors(form, missing)
            messages.warning(request, "Saved. Some answers on this page are still needed before you can continue.")
        elif action != "draft":
            # All the problems in one round: a mistyped email must not hide an empty name.
            _add_missing_without_errors(form, step, r)
    elif request.GET.get("check"):
        # Coming from the review page: show what is missing next to each field.
        form = _make_form(step, r, dict(form.initial), {})
        form.is_valid()
        _apply_errors(form, _missing(step, r))
    _mark_required(form, step, r)
    return render(
        request,
        STEP_TEMPLATES.get(step, "intake/step_form.html"),
        {"r": r, "form": form, "show_ferpa": step == "request" and form.chosen_kind() == RequestKind.IDENTIFIABLE, **nav, **_attachments(r)},
    )


def _add_missing_without_errors(form: Any, step: str, r: Any) -> None:
    """What submission would still ask for, judged on the answers just posted (applied to an
    unsaved copy), for each field that has no error yet."""
    preview = copy.copy(r)
    cleaned = getattr(form, "cleaned_data", {})
    if step == "contacts":
        for prefix in form.prefixes:
            setattr(preview, f"{prefix}_contact", {k: str(form.data.get(f"{prefix}_{k}", "")).strip() for k, _ in validation.CONTACT_FIELDS})
    else:
        for name in services.EDITABLE_FIELDS.get(step, ()):
            if name in cleaned:
                setattr(preview, name, cleaned[name])
    has_policy = r.attachments.filter(purpose=AttachmentPurpose.SECURITY_POLICY).exists() or bool(form.files.get("security_policy"))
    missing = validation.check_step(step, preview, load_catalog() if step == "data" else None, complete=True, has_policy=has_policy)
    if step == "contacts" and str(form.data.get("data_manager_email", "")).strip():
        missing.pop("data_manager_email", None)  # named just now; checked when it is saved
    for name, msgs in missing.items():
        if name in form.fields and form[name].errors:
            continue
        for msg in msgs:
            if msg not in form.errors.get(name if name in form.fields else "__all__", []):
                form.add_error(name if name in form.fields else None, msg)


def _missing(step: str, r: Any) -> dict[str, list[str]]:
    has_policy = r.attachments.filter(purpose=AttachmentPurpose.SECURITY_POLICY).exists()
    return validation.check_step(step, r, load_catalog(), complete=True, has_policy=has_policy)


def _make_form(step: str, r: Any, data: Any, files: Any) -> Any:
    if step == "request":
        return RequestStepForm(data, instance=r)
    if step == "data":
        return TablesStepForm(data, instance=r)
    if step == "contacts":
        return ContactsStepForm(data, initial=ContactsStepForm.initial_for(r), short_form=r.is_short_form)
    if step == "project":
        return ProjectStepForm(data, instance=r, short_form=r.is_short_form)
    return SecurityStepForm(data, files, instance=r)


def _attachments(r: Any) -> dict[str, Any]:
    return {"attachments": list(r.attachments.all())}


def _save_step(request: HttpRequest, user: User, r: Any, step: str, form: Any) -> bool:
    """Save one step; errors go onto the form. True when everything was saved."""
    ok = True
    if step == "contacts":
        changes: dict[str, Any] = form.contacts()
    elif step == "request":
        changes = _request_step_changes(form.cleaned_data)
    else:
        changes = {f: form.cleaned_data[f] for f in services.EDITABLE_FIELDS[step] if f in form.cleaned_data}
    if step == "security":
        for field, purpose in SecurityStepForm.UPLOADS.items():
            upload = form.cleaned_data.get(field)
            if upload:
                try:
                    services.add_attachment(actor=user, data_request=r, purpose=purpose, upload=upload, name=upload.name, size=upload.size)
                except IntakeError as exc:
                    form.add_error(field, str(exc))
                    ok = False
    try:
        services.update_draft(actor=user, data_request=r, changes=changes)
    except IncompleteRequest as exc:
        _apply_errors(form, exc.errors.get(step, {}))
        return False
    if step == "contacts" and not r.is_short_form:
        email = form.cleaned_data.get("data_manager_email")
        if email:
            try:
                services.designate_data_manager(actor=user, data_request=r, email=email)
            except IncompleteRequest as exc:
                _apply_errors(form, exc.errors.get("contacts", {}))
                ok = False
    return ok


def _data_step(request: HttpRequest, r: Any, nav: dict[str, Any]) -> HttpResponse:
    user = _user(request)
    cat = load_catalog()
    errors: dict[str, list[str]] = {}
    selections, justifications = r.selections, r.justifications
    range_from, range_to, range_scope = cat.years[0], cat.latest, grid.SCOPE_CHOSEN
    if request.method == "POST":
        action = request.POST.get("action", "continue")
        parsed = grid.parse(request.POST, cat)
        selections, justifications, errors = parsed.selections, parsed.justifications, parsed.errors
        applied = None
        if action in ("range", "standard") or action.startswith("range_file:"):
            # A range for many elements at once: the page's "all elements" control, a file's
            # own control, or the standard base file shortcut.
            prefix = "range" if action in ("range", "standard") else f"range_{action.removeprefix('range_file:')}"
            got_from = grid.parse_range_year(request.POST.get(f"{prefix}_from", ""), cat, default=cat.years[0], errors=errors)
            got_to = grid.parse_range_year(request.POST.get(f"{prefix}_to", ""), cat, default=cat.latest, errors=errors)
            if action == "standard":
                scope = grid.SCOPE_STANDARD
            elif action == "range":
                scope = request.POST.get("range_scope", grid.SCOPE_CHOSEN)
            else:
                scope = grid.FILE_SCOPE_PREFIX + action.removeprefix("range_file:")
            if action == "range":
                range_from, range_to, range_scope = got_from, got_to, scope
            if not errors:
                selections, applied = grid.apply_range(selections, cat, kind=r.kind, scope=scope, first=got_from, last=got_to)
        justifications = {k: v for k, v in justifications.items() if k in selections}
        if not errors:
            try:
                services.update_draft(actor=user, data_request=r, changes={"selections": selections, "justifications": justifications})
            except IncompleteRequest as exc:
                errors = exc.errors.get("data", {})
        if not errors and applied is not None:
            messages.success(
                request,
                f"School years {format_school_year(min(got_from, got_to))} to {format_school_year(max(got_from, got_to))} "
                f"applied to {applied} element{'s' if applied != 1 else ''}. Saved as a draft.",
            )
        if not errors and action == "draft":
            messages.success(request, "Draft saved.")
            return redirect("web:my_requests")
        if not errors and action == "continue":
            r.refresh_from_db()
            missing = validation.check_data_step(r, cat, complete=True)
            if not missing:
                return redirect("intake:edit", r.public_id, nav["next_step"]) if nav["next_step"] else redirect("intake:review", r.public_id)
            errors = missing
            messages.warning(request, "Saved. Some answers on this page are still needed before you can continue.")
    elif request.GET.get("check"):
        errors = validation.check_data_step(r, cat, complete=True)
    files = grid.rows(cat, selections, justifications, r.kind, errors)
    return render(
        request,
        "intake/step_data.html",
        {
            "r": r,
            "files": files,
            "years": cat.year_labels,
            "errors": errors,
            "general_errors": errors.get("selections", []),
            "scopes": grid.scope_choices(cat),
            "range_from": range_from,
            "range_to": range_to,
            "range_scope": range_scope,
            "chosen_count": sum(f["chosen_count"] for f in files),
            **nav,
        },
    )


@login_required
def review(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    if not can_edit(user, r) or r.status not in EDITABLE:
        return redirect("intake:detail", r.public_id)
    cat = load_catalog()
    if request.method == "POST":
        try:
            services.submit(actor=user, data_request=r)
        except IncompleteRequest:
            messages.error(request, "The request is not complete yet: see the problems listed below.")
        except IntakeError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Your request was submitted. You will get an email at every change of status.")
            return redirect("intake:detail", r.public_id)
    attachments = list(r.attachments.all())
    has_policy = any(a.purpose == AttachmentPurpose.SECURITY_POLICY for a in attachments)
    problems = validation.check_all(r, cat, complete=True, has_policy=has_policy)
    return render(
        request,
        "intake/review.html",
        {
            "r": r,
            "snapshot": snapshot.take(r, cat, attachments),
            "problems": [(step, dict(validation.steps_for(r))[step], errs) for step, errs in problems.items()],
            "steps": validation.steps_for(r),
        },
    )


@login_required
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    staff = user.is_agency_staff
    steward = is_steward(user)
    versions = list(r.versions.order_by("-number"))
    attachments = list(r.attachments.all())
    # Reviewers read what was submitted (the latest version); the requestor sees the live form.
    if versions and not can_edit(user, r):
        shown, shown_label = versions[0].snapshot, f"As submitted (version {versions[0].number})"
    else:
        shown, shown_label = snapshot.take(r, load_catalog(), attachments), "The request as it stands"
    context: dict[str, Any] = {
        "base_template": _base_template(user),
        "snapshot": shown,
        "snapshot_label": shown_label,
        "r": r,
        "timeline": selectors.timeline(r, staff=staff, viewer=user),
        "versions": versions,
        "attachments": attachments,
        "can_edit": can_edit(user, r) and r.status in EDITABLE,
        "can_withdraw": can_edit(user, r) and r.status in (*EDITABLE, *OPEN_FOR_REVIEW),
        "is_data_manager": r.data_manager_id == user.pk and r.data_manager_accepted_at is None,
        "steward": steward,
        "staff": staff,
        "change_comments": [(validation.STEP_TITLES.get(k, k), v) for k, v in (r.change_comments or {}).items()],
        # Asked only while the request is open and the steward has not cancelled the question.
        "my_comment_requests": list(
            r.comment_requests.filter(reviewer=user, responded_at__isnull=True, cancelled_at__isnull=True)
        )
        if r.status in OPEN_FOR_REVIEW
        else [],
        "can_reply": can_edit(user, r) and r.status == Status.CHANGES_REQUESTED,
        "age_days": selectors.age_days(r),
        "target_days": selectors.service_target_days(),
    }
    # The requestor sees what was approved and what data minimization removed, like the staff.
    context["approved_names"] = _selection_lines(r.approved_selections)
    context["minimized"] = _selection_lines(r.minimization)
    if staff:
        context["comment_requests"] = list(r.comment_requests.select_related("reviewer", "requested_by"))
    # Separation of duties: a steward who is a party to the request gets no review controls
    # (the services refuse them anyway), only a note saying another steward reviews it.
    context["reviewed_by_another"] = steward and r.status in OPEN_FOR_REVIEW and services.is_party(user, r)
    if steward and r.status in OPEN_FOR_REVIEW and not context["reviewed_by_another"]:
        cat = load_catalog()
        context["decision_rows"] = [
            {"el": cat.by_identifier.get(k), "identifier": k, "years": [(y, format_school_year(y)) for y in v]}
            for k, v in sorted(r.selections.items())
        ]
        context["stewards"] = list(User.objects.filter(role_grants__role=Role.DATA_STEWARD).order_by("email"))
        context["comment_form"] = _comment_form()
        context["sections"] = validation.steps_for(r)
        context["unconfirmed_priority"] = services.awaits_affiliation_check(r)
        context["pending_comments"] = selectors.pending_comment_requests(r)
    return render(request, "intake/detail.html", context)


def _selection_lines(selections: dict[str, list[int]]) -> list[str]:
    if not selections:
        return []
    names = {e.identifier: e.name for e in load_catalog().by_identifier.values()}
    return [f"{names.get(k, k)}: {', '.join(format_school_year(y) for y in v)}" for k, v in sorted(selections.items())]


def _comment_form(data: Any = None) -> CommentRequestForm:
    form = CommentRequestForm(data)
    reviewer = form.fields["reviewer"]
    assert isinstance(reviewer, forms.ChoiceField)
    reviewer.choices = [
        (str(u.public_id), str(u)) for u in User.objects.filter(role_grants__role=Role.DEPARTMENT_REVIEWER).order_by("email")
    ]
    return form


def _do(request: HttpRequest, r: Any, call: Any, success: str) -> HttpResponse:
    try:
        call()
    except NotPermitted as exc:
        # The wrong person for this move (separation of duties): the 403 page, as the API's 403.
        raise PermissionDenied(str(exc)) from exc
    except AlreadyDecided as exc:
        messages.error(request, str(exc))
    except IncompleteRequest as exc:
        for errs in exc.errors.values():
            for msgs in errs.values():
                for m in msgs:
                    messages.error(request, m)
    except IntakeError as exc:
        messages.error(request, str(exc)[0].upper() + str(exc)[1:] + ".")
    else:
        messages.success(request, success)
    return redirect("intake:detail", r.public_id)


def _confirm(request: HttpRequest, r: Any, *, action: str, heading: str, button: str, lines: list[str], warnings: list[str], danger: bool = False) -> HttpResponse:
    """The second step of an irreversible action: a page that says what will happen and posts
    the same answers again with ``confirmed=1`` (no JavaScript needed)."""
    hidden = [(k, v) for k in request.POST if k not in ("csrfmiddlewaretoken", "confirmed") for v in request.POST.getlist(k)]
    return render(
        request,
        "intake/confirm.html",
        {
            "base_template": _base_template(_user(request)),
            "r": r,
            "action": action,
            "heading": heading,
            "button": button,
            "lines": lines,
            "warnings": warnings,
            "hidden": hidden,
            "danger": danger,
        },
    )


def _pending_warning(r: Any) -> list[str]:
    pending = selectors.pending_comment_requests(r)
    if not pending:
        return []
    names = ", ".join(str(cr.reviewer) for cr in pending)
    return [f"Department comments are still pending from {names}. Deciding now means deciding without them; they will no longer be asked."]


@require_POST
@require_roles(Role.DATA_STEWARD)
def decide(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    decision = request.POST.get("decision")
    confirmed = request.POST.get("confirmed") == "1"
    if decision == "approve":
        approved, _ = validation.parse_grid(request.POST.getlist("keep"), latest=load_catalog().latest)
        if not confirmed and r.status in OPEN_FOR_REVIEW:
            removed = {k: sorted(set(v) - set(approved.get(k, []))) for k, v in r.selections.items()}
            removed = {k: v for k, v in removed.items() if v}
            lines = ["The requestor is told the request is approved and the agreement can be prepared."]
            if removed:
                lines.append("Removed by data minimization: " + "; ".join(_selection_lines(removed)))
            if request.POST.get("note", "").strip():
                lines.append(f"Note to the requestor: {request.POST['note'].strip()}")
            return _confirm(request, r, action=reverse("intake:decide", args=[r.public_id]), heading=f"Approve “{r.title}”?", button="Yes, approve", lines=lines, warnings=_pending_warning(r))
        return _do(request, r, lambda: services.approve(actor=user, data_request=r, approved_selections=approved, note=request.POST.get("note", "")), "Approved.")
    if decision == "deny":
        reason = request.POST.get("reason", "")
        if not confirmed and r.status in OPEN_FOR_REVIEW and reason.strip():
            return _confirm(request, r, action=reverse("intake:decide", args=[r.public_id]), heading=f"Deny “{r.title}”?", button="Yes, deny", lines=["The requestor is told the request is denied, with this reason:", reason.strip()], warnings=_pending_warning(r), danger=True)
        return _do(request, r, lambda: services.deny(actor=user, data_request=r, reason=reason), "Denied; the requestor was told why.")
    if decision == "request_changes":
        comments = {step: request.POST.get(f"comment_{step}", "") for step in validation.STEP_TITLES}
        return _do(request, r, lambda: services.request_changes(actor=user, data_request=r, comments=comments), "Sent back to the requestor for changes.")
    messages.error(request, "Choose a decision.")
    return redirect("intake:detail", r.public_id)


@require_POST
@require_roles(Role.DATA_STEWARD)
def assign(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    value = request.POST.get("assignee", "")
    assignee = None
    if value:
        assignee = User.objects.filter(public_id=value).first() if _is_uuid(value) else None
        if assignee is None:
            messages.error(request, "Choose a data steward.")
            return redirect("intake:detail", r.public_id)
    return _do(request, r, lambda: services.assign(actor=user, data_request=r, assignee=assignee), "Assignment saved.")


@require_POST
@require_roles(Role.DATA_STEWARD)
def verify_affiliation(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    return _do(
        request,
        r,
        lambda: services.verify_affiliation(actor=user, data_request=r),
        f"Confirmed: {r.created_by} works for {r.organization}. Their queued requests now go first.",
    )


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


@require_POST
@require_roles(Role.DATA_STEWARD)
def ask_comments(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    form = _comment_form(request.POST)
    if not form.is_valid():
        for field, errs in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for e in errs:
                messages.error(request, f"{label}: {e}" if label else str(e))
        return redirect("intake:detail", r.public_id)
    reviewer = User.objects.get(public_id=form.cleaned_data["reviewer"])
    return _do(
        request,
        r,
        lambda: services.request_comments(actor=user, data_request=r, reviewer=reviewer, question=form.cleaned_data["question"], due_date=form.cleaned_data["due_date"]),
        "Comments requested.",
    )


@require_POST
@require_roles(Role.DEPARTMENT_REVIEWER)
def respond_comments(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    cr = get_object_or_404(CommentRequest.objects.select_related("request"), public_id=public_id, reviewer=user)
    return _do(request, cr.request, lambda: services.respond_to_comment_request(actor=user, comment_request=cr, response=request.POST.get("response", "")), "Thank you: your comments were sent.")


@require_POST
@login_required
def withdraw(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    if request.POST.get("confirmed") != "1" and can_edit(user, r):
        lines = ["A withdrawn request cannot be reopened: to ask again, start a new request."]
        if r.submitted_at:
            lines.append("The agency stops reviewing it.")
        return _confirm(request, r, action=reverse("intake:withdraw", args=[r.public_id]), heading=f"Withdraw “{r.title}”?", button="Yes, withdraw", lines=lines, warnings=[], danger=True)
    return _do(request, r, lambda: services.withdraw(actor=user, data_request=r, reason=request.POST.get("reason", "")), "Request withdrawn.")


@require_POST
@require_roles(Role.DATA_STEWARD)
def cancel_comments(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    cr = get_object_or_404(CommentRequest.objects.select_related("request"), public_id=public_id)
    r = get_request_for(user, cr.request.public_id)
    return _do(request, r, lambda: services.cancel_comment_request(actor=user, comment_request=cr), f"The request for comments from {cr.reviewer} was cancelled.")


@require_POST
@login_required
def reply_to_changes(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    return _do(request, r, lambda: services.reply_to_changes(actor=user, data_request=r, message=request.POST.get("message", "")), "Your reply was sent to the agency.")


@require_POST
@login_required
def accept_data_manager(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    return _do(request, r, lambda: services.accept_data_manager_role(actor=user, data_request=r), "You accepted the role of data manager.")


@login_required
def download_attachment(request: HttpRequest, public_id: UUID, attachment_id: UUID) -> FileResponse:
    r = get_request_for(_user(request), public_id)
    attachment = get_object_or_404(r.attachments, public_id=attachment_id)
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def version_diff(request: HttpRequest, public_id: UUID, old: int, new: int) -> HttpResponse:
    user = _user(request)
    r = get_request_for(user, public_id)
    # A number no version can have is simply not found (a huge one would overflow the column).
    if not (0 < old <= MAX_VERSION and 0 < new <= MAX_VERSION):
        raise Http404("No such version")
    versions = {v.number: v for v in r.versions.filter(number__in=[old, new])}
    if old not in versions or new not in versions:
        raise Http404("No such version")
    sections = snapshot.diff(versions[old].snapshot, versions[new].snapshot)
    return render(request, "intake/diff.html", {"base_template": _base_template(user), "r": r, "old": versions[old], "new": versions[new], "sections": sections})


@require_roles(Role.DATA_STEWARD)
def queue(request: HttpRequest) -> HttpResponse:
    try:
        min_age = int(request.GET["age"]) if request.GET.get("age") else None
    except ValueError:
        min_age = None
    if min_age is not None and not 0 <= min_age <= MAX_AGE_DAYS:
        messages.warning(request, f"Older than: enter a number of days between 0 and {MAX_AGE_DAYS}.")
        min_age = None
    assignee = request.GET.get("assignee", "")
    if assignee not in ("", "me", "none") and not _is_uuid(assignee):
        messages.warning(request, "Assignee: choose someone from the list.")
        assignee = ""
    filters = selectors.QueueFilters(
        status=request.GET.get("status", ""),
        kind=request.GET.get("kind", ""),
        organization=request.GET.get("organization", "").strip(),
        assignee=assignee,
        min_age_days=min_age,
        title=request.GET.get("q", "").strip()[:200],
        sort=request.GET.get("sort", "") if request.GET.get("sort", "") in selectors.QUEUE_SORTS else "",
    )
    q = selectors.queue(filters, user=_user(request), page_number=request.GET.get("page", 1))
    # Rows are flattened here: the template then does one lookup per cell, which keeps a page
    # of 50 well inside the latency budget (bench/queue_page.py).
    detail_prefix = reverse("web:my_requests")
    start = q.page.start_index()
    rows = []
    for n, r in enumerate(q.page):
        age = selectors.age_days(r)
        rows.append(
            {
                "number": start + n,
                "url": f"{detail_prefix}{r.public_id}/",
                "title": r.title,
                "organization": r.organization.name,
                "kind": r.get_kind_display(),
                "priority": r.priority_label,
                "status": r.get_status_display(),
                "submitted": date_format(timezone.localtime(r.submitted_at), "M j, Y") if r.submitted_at else "",
                "age": age,
                "overdue": age is not None and age > q.target_days,
                "assignee": str(r.assignee) if r.assignee else "—",
            }
        )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "intake/queue.html",
        {
            "q": q,
            "rows": rows,
            "statuses": [(s, label) for s, label in Status.choices if s != Status.DRAFT],
            "status_counts": [(s, label, q.counts.get(s, 0)) for s, label in Status.choices if s != Status.DRAFT],
            "kinds": RequestKind.choices,
            "sorts": [(k, label) for k, (label, _) in selectors.QUEUE_SORTS.items()],
            "querystring": params.urlencode(),
        },
    )


def catalog_page(request: HttpRequest) -> HttpResponse:
    cat = load_catalog()
    query = request.GET.get("q", "").strip()[:100]
    files: list[dict[str, Any]] = []
    for cf in cat.files:
        elements = [e for e in cf.elements if not query or _matches(e, query)]
        if elements:
            files.append({"file": cf.file, "elements": elements})
    return render(
        request,
        "intake/catalog.html",
        {
            "cat": cat,
            "files": files,
            "query": query,
            "match_count": sum(len(f["elements"]) for f in files),
            "first_label": format_school_year(cat.years[0]),
            "latest_label": format_school_year(cat.latest),
        },
    )


def _matches(element: Any, query: str) -> bool:
    q = query.lower()
    return any(q in str(text).lower() for text in (element.name, element.identifier, element.definition, element.get_tier_display()))
