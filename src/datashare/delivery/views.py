"""Delivery pages: how to connect and the user's own keys and downloads; for stewards, every
account and the SFTP log. Thin: load through a queryset narrowed to what the user may see
(404 otherwise), call one service, render."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from datashare.accounts.models import Role, User
from datashare.accounts.permissions import require_roles
from datashare.core.errors import DomainError
from datashare.delivery import jobs, selectors, services
from datashare.delivery.models import (
    EventKind,
    ExtractJob,
    JobStatus,
    SftpAccount,
    SftpEvent,
    SftpKey,
)


class KeyForm(forms.Form):
    public_key = forms.CharField(
        label="Public key", max_length=16_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        help_text="One line, e.g. the content of ~/.ssh/id_ed25519.pub (never the private key).",
    )  # fmt: skip


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def my_delivery(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    accounts = list(SftpAccount.objects.filter(user=user).prefetch_related("keys"))
    downloads = SftpEvent.objects.filter(account__user=user, kind=EventKind.TRANSFER)[:50]
    return render(request, "delivery/mine.html", {
        "accounts": accounts, "downloads": downloads, "form": KeyForm(), "jobs": _my_jobs(user),
        **selectors.connection_details()})  # fmt: skip


def _my_jobs(user: User) -> list[ExtractJob]:
    """The delivery status of the agreements the user is an authorized user of."""
    return list(ExtractJob.objects.filter(agreement__authorized_users__user=user)
                .exclude(status=JobStatus.REJECTED).select_related("agreement").distinct()[:20])  # fmt: skip


@login_required
@require_POST
def add_key(request: HttpRequest, public_id: UUID) -> HttpResponse:
    account = get_object_or_404(SftpAccount, public_id=public_id, user=_user(request))
    form = KeyForm(request.POST)
    if form.is_valid():
        try:
            services.add_key(actor=_user(request), account=account, public_key=form.cleaned_data["public_key"])
        except DomainError as exc:
            for msgs in exc.fields.values():
                for m in msgs:
                    form.add_error("public_key", m)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            messages.success(request, "Key added. You can connect with it now.")
            return redirect("delivery:mine")
    accounts = list(SftpAccount.objects.filter(user=_user(request)).prefetch_related("keys"))
    downloads = SftpEvent.objects.filter(account__user=_user(request), kind=EventKind.TRANSFER)[:50]
    return render(request, "delivery/mine.html", {
        "accounts": accounts, "downloads": downloads, "form": form, "jobs": _my_jobs(_user(request)),
        **selectors.connection_details()}, status=400)  # fmt: skip


@login_required
@require_POST
def remove_key(request: HttpRequest, public_id: UUID, key_id: int) -> HttpResponse:
    key = get_object_or_404(SftpKey, pk=key_id, account__public_id=public_id, account__user=_user(request))
    services.remove_key(actor=_user(request), key=key)
    messages.success(request, "Key removed.")
    return redirect("delivery:mine")


@require_roles(Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR)
def staff_log(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    events = SftpEvent.objects.select_related("account")
    if kind in EventKind.values:
        events = events.filter(kind=kind)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    accounts = SftpAccount.objects.select_related("user")
    return render(request, "delivery/staff_log.html", {
        "page": page, "kind": kind, "kinds": EventKind.choices, "accounts": accounts,
        **selectors.connection_details()})  # fmt: skip


@require_roles(Role.DATA_STEWARD)
@require_POST
def revoke(request: HttpRequest, public_id: UUID) -> HttpResponse:
    account = get_object_or_404(SftpAccount, public_id=public_id)
    reason = (request.POST.get("reason") or "revoked by a data steward").strip()[:200]
    if services.revoke_account(actor=_user(request), account=account, reason=reason):
        messages.success(request, f"{account.username} revoked: access ends within a minute.")
    return redirect("delivery:staff_log")


@require_roles(Role.DATA_STEWARD)
@require_POST
def unlock(request: HttpRequest, public_id: UUID) -> HttpResponse:
    account = get_object_or_404(SftpAccount, public_id=public_id)
    services.unlock_account(actor=_user(request), account=account)
    messages.success(request, f"{account.username} unlocked.")
    return redirect("delivery:staff_log")





@require_roles(Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR)
def staff_jobs(request: HttpRequest) -> HttpResponse:
    jobs_list = ExtractJob.objects.select_related("agreement")[:200]
    return render(request, "delivery/staff_jobs.html", {"jobs": jobs_list})


@require_roles(Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR)
def staff_job(request: HttpRequest, public_id: UUID) -> HttpResponse:
    job = get_object_or_404(ExtractJob.objects.select_related("agreement"), public_id=public_id)
    return render(request, "delivery/staff_job.html", {"job": job, "risk": job.risk_report})


@require_roles(Role.DATA_STEWARD)
@require_POST
def release_job(request: HttpRequest, public_id: UUID) -> HttpResponse:
    job = get_object_or_404(ExtractJob.objects.select_related("agreement"), public_id=public_id)
    accounts = jobs.release(actor=_user(request), job=job, acknowledge_risk=request.POST.get("acknowledge_risk") == "on")
    messages.success(request, f"Released: {len(accounts)} SFTP account(s) created for the authorized users.")
    return redirect("delivery:staff_job", public_id=job.public_id)


@require_roles(Role.DATA_STEWARD)
@require_POST
def reject_job(request: HttpRequest, public_id: UUID) -> HttpResponse:
    job = get_object_or_404(ExtractJob.objects.select_related("agreement"), public_id=public_id)
    jobs.reject(actor=_user(request), job=job, reason=(request.POST.get("reason") or "").strip())
    messages.success(request, "Rejected: the package was crypto-erased.")
    return redirect("delivery:staff_job", public_id=job.public_id)


@require_roles(Role.DATA_STEWARD)
@require_POST
def recut_job(request: HttpRequest, public_id: UUID) -> HttpResponse:
    job = get_object_or_404(ExtractJob.objects.select_related("agreement"), public_id=public_id)
    new = jobs.recut(actor=_user(request), job=job, reason=(request.POST.get("reason") or "").strip())
    messages.success(request, "Re-cut with coarsening: the package was crypto-erased and a coarsened cut is queued.")
    return redirect("delivery:staff_job", public_id=new.public_id)


@require_roles(Role.DATA_STEWARD)
@require_POST
def retry_job(request: HttpRequest, public_id: UUID) -> HttpResponse:
    job = get_object_or_404(ExtractJob.objects.select_related("agreement"), public_id=public_id)
    jobs.retry(actor=_user(request), job=job)
    messages.success(request, "Queued again.")
    return redirect("delivery:staff_job", public_id=job.public_id)
