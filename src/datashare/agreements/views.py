"""Thin views: parse, load through ``permissions``, call one service, render."""

from __future__ import annotations

import contextlib
import datetime as dt
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from datashare.accounts.models import Role, User
from datashare.accounts.permissions import require_roles, staff_required
from datashare.agreements import selectors, services
from datashare.agreements.errors import AgreementError
from datashare.agreements.models import (
    Agreement,
    AgreementStatus,
    Signer,
    SignerStatus,
    WorkItem,
    WorkItemStatus,
)
from datashare.agreements.permissions import (
    can_manage,
    get_agreement_for,
    is_party,
    visible_agreements,
)
from datashare.agreements.transitions import Action, allowed
from datashare.audit.context import origin_of
from datashare.intake.models import DataRequest, delivery_formats_text
from datashare.intake.models import Status as RequestStatus


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _base_template(user: User) -> str:
    # A page both sides see wears the staff layout only for staff (tests/test_permissions.py).
    return "agreements/staff_base.html" if user.is_agency_staff else "agreements/base.html"


def auth_method(request: HttpRequest) -> str:
    """How the signer proved who they are in this session, from allauth's records."""
    names = {"password": "password", "code": "email code", "socialaccount": "OIDC", "mfa": "second factor"}
    kinds = {"totp": "TOTP", "webauthn": "passkey", "recovery_codes": "recovery code"}
    parts: list[str] = []
    for record in request.session.get("account_authentication_methods", []):
        method = record.get("method", "")
        label = kinds.get(record.get("type", ""), "") if method == "mfa" else names.get(method, method)
        if label and label not in parts:
            parts.append(label)
    return "+".join(parts) or "session"


@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = visible_agreements(user).select_related("organization").order_by("-created_at")[:200]
    # Approved requests whose draft was not generated (the on-commit hook failed): the steward
    # generates it here with the same idempotent service.
    missing = (
        DataRequest.objects.filter(status=RequestStatus.APPROVED, agreements__isnull=True)
        .exclude(kind__in=services.KINDS_WITHOUT_AGREEMENT)
        .select_related("organization")[:50]
        if can_manage(user)
        else []
    )
    return render(request, "agreements/list.html", {"base_template": _base_template(user), "rows": rows, "missing": missing})


@require_POST
@require_roles(Role.DATA_STEWARD, Role.ADMINISTRATOR)
def generate(request: HttpRequest, request_id: UUID) -> HttpResponse:
    r = get_object_or_404(DataRequest, public_id=request_id, status=RequestStatus.APPROVED)
    try:
        a = services.create_from_request(actor=_user(request), data_request=r)
    except AgreementError as exc:
        messages.error(request, exc.message)
        return redirect("agreements:list")
    return redirect("agreements:detail", a.public_id)


@login_required
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    a = get_agreement_for(user, public_id)
    manage = can_manage(user)
    party = is_party(user, a)
    my_turn = a.signers.filter(user=user, status__in=[SignerStatus.SENT, SignerStatus.VIEWED]).first()
    context = {
        "base_template": _base_template(user),
        "a": a,
        "exhibit_a_grids": selectors.exhibit_a_grids(a),
        "exhibit_b": selectors.exhibit_b_rows(a),
        "authorized_users": list(a.authorized_users.all()),
        "signers": list(a.signers.select_related("user")),
        "work_items": list(a.work_items.select_related("assignee")),
        "manage": manage,
        "can": {action.value: allowed(action, a.status) for action in Action},
        "party": party,
        "my_turn": my_turn,
        "missing": services.preflight(a) if manage and a.status == AgreementStatus.DRAFT else [],
        "next_steps": services.NEXT_STEPS_EXECUTED if a.status in (AgreementStatus.EXECUTED, AgreementStatus.ACTIVE) else "",
        "replaced_by": Agreement.objects.filter(replaces=a).first(),
        "amendments": list(a.amendments.select_related("data_request")),
    }
    return render(request, "agreements/detail.html", context)


def _pdf(field_file: object, filename: str) -> FileResponse:
    if not field_file:
        raise Http404("No document yet")
    return FileResponse(field_file.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf")  # type: ignore[attr-defined]


@login_required
def document(request: HttpRequest, public_id: UUID) -> FileResponse:
    """The sealed PDF once executed, else the PDF as sent for signature."""
    a = get_agreement_for(_user(request), public_id)
    if a.sealed_document:
        return _pdf(a.sealed_document, f"{a.number}-v{a.version}-executed.pdf")
    return _pdf(a.document, f"{a.number}-v{a.version}.pdf")


def _signer_for(request: HttpRequest, signer_id: UUID) -> Signer:
    # The link works only for the user it was sent to: anyone else gets 404, not a hint.
    return get_object_or_404(
        Signer.objects.select_related("agreement", "agreement__organization", "agreement__data_request", "agreement__template"),
        public_id=signer_id,
        user=_user(request),
    )


@login_required
def signer_document(request: HttpRequest, signer_id: UUID) -> FileResponse:
    s = _signer_for(request, signer_id)
    return _pdf(s.agreement.document, f"{s.agreement.number}-v{s.agreement.version}.pdf")


@login_required
def sign(request: HttpRequest, signer_id: UUID) -> HttpResponse:
    user = _user(request)
    s = _signer_for(request, signer_id)
    a = s.agreement
    origin = origin_of(request)
    ip, agent = (origin.ip, origin.user_agent) if origin else (None, "")
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("decision") == "decline":
                services.decline(actor=user, signer=s, reason=request.POST.get("reason", ""))
                messages.info(request, "You declined to sign. The agency has been told why.")
            else:
                services.sign(
                    actor=user,
                    signer=s,
                    typed_name=request.POST.get("typed_name", ""),
                    consent=request.POST.get("consent") == "on",
                    auth_method=auth_method(request),
                    ip=ip,
                    user_agent=agent,
                )
                messages.success(request, f"You signed {a.label}.")
            return redirect("agreements:detail", a.public_id)
        except AgreementError as exc:
            error = exc.message
    elif s.status in (SignerStatus.SENT, SignerStatus.VIEWED):
        with contextlib.suppress(AgreementError):
            services.record_view(actor=user, signer=s, ip=ip, user_agent=agent)
    s.refresh_from_db()
    earlier = a.signers.filter(position__lt=s.position).exclude(status=SignerStatus.SIGNED).first()
    context = {
        "base_template": _base_template(user),
        "a": a,
        "s": s,
        "error": error,
        "waiting_for": earlier,
        "open": a.status == AgreementStatus.OUT_FOR_SIGNATURE and s.status in (SignerStatus.SENT, SignerStatus.VIEWED) and earlier is None,
        "exhibit_a_grids": selectors.exhibit_a_grids(a),
        "formats": delivery_formats_text(a.delivery_formats) if a.delivery_formats is not None else "",
    }
    return render(request, "agreements/sign.html", context, status=422 if error else 200)


ACTIONS = {"send", "void", "reissue", "terminate", "amend"}


@require_POST
@login_required
def act(request: HttpRequest, public_id: UUID, action: str) -> HttpResponse:
    user = _user(request)
    if action not in ACTIONS:
        raise Http404("No such action")
    a = get_agreement_for(user, public_id)
    reason = request.POST.get("reason", "").strip()
    try:
        if action == "send":
            services.send_for_signature(actor=user, agreement=a)
            messages.success(request, f"{a.label} was sent to its first signer.")
        elif action == "void":
            services.void(actor=user, agreement=a, reason=reason)
            messages.info(request, f"{a.label} was voided.")
        elif action == "reissue":
            new = services.reissue(actor=user, agreement=a)
            messages.success(request, f"{new.label} was drafted.")
            return redirect("agreements:detail", new.public_id)
        elif action == "terminate":
            day = request.POST.get("termination_date", "")
            services.terminate(actor=user, agreement=a, reason=reason, termination_date=dt.date.fromisoformat(day) if day else None)
            messages.info(request, f"{a.label} was terminated.")
        elif action == "amend":
            amendment = services.request_amendment(actor=user, agreement=a, description=request.POST.get("description", ""))
            messages.success(request, "An amendment request was drafted: complete it and submit it for review.")
            return redirect("intake:detail", amendment.data_request.public_id)
    except ValueError:
        messages.error(request, "Give the date as YYYY-MM-DD.")
    except AgreementError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    return redirect("agreements:detail", a.public_id)


@staff_required
def work_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    department = request.GET.get("department", "")
    items = WorkItem.objects.select_related("agreement", "agreement__organization", "assignee").exclude(
        status__in=[WorkItemStatus.DONE, WorkItemStatus.CANCELLED]
    )
    if department:
        items = items.filter(department=department)
    from datashare.agreements.models import Department

    return render(
        request,
        "agreements/work_queue.html",
        {"items": list(items.order_by("due_date", "pk")[:300]), "departments": Department.choices, "department": department, "user": user, "statuses": WorkItemStatus.choices},
    )


@require_POST
@staff_required
def work_item_update(request: HttpRequest, public_id: UUID) -> HttpResponse:
    item = get_object_or_404(WorkItem, public_id=public_id)
    try:
        services.update_work_item(actor=_user(request), item=item, status=request.POST.get("status", ""))
        messages.success(request, "Work item updated.")
    except AgreementError as exc:
        messages.error(request, exc.message)
    return redirect("agreements:work_queue")


@require_roles(Role.DATA_STEWARD, Role.ADMINISTRATOR)
def edit_template(request: HttpRequest) -> HttpResponse:
    """The agency's agreement text: saving makes the next version; agreements keep theirs."""
    current = services.current_template()
    error = ""
    if request.method == "POST":
        try:
            new = services.edit_template(
                actor=_user(request),
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
                security_terms=request.POST.get("security_terms", ""),
            )
            messages.success(request, f"Saved as version {new.version}. Agreements drafted from now on use it.")
            return redirect("agreements:template")
        except AgreementError as exc:
            error = exc.message
    return render(request, "agreements/template_edit.html", {"t": current, "error": error, "sections": services.REQUIRED_SECTIONS}, status=422 if error else 200)
