"""Thin views: parse, load through ``permissions.get_agreement_for``, call one service, render."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from datashare.accounts.models import User
from datashare.agreements import selectors
from datashare.agreements.permissions import can_manage, get_agreement_for, visible_agreements


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _base_template(user: User) -> str:
    # A page both sides see wears the staff layout only for staff (tests/test_permissions.py).
    return "agreements/staff_base.html" if user.is_agency_staff else "agreements/base.html"


@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = visible_agreements(user).select_related("organization").order_by("-created_at")[:200]
    return render(request, "agreements/list.html", {"base_template": _base_template(user), "rows": rows})


@login_required
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    a = get_agreement_for(user, public_id)
    context = {
        "base_template": _base_template(user),
        "a": a,
        "exhibit_a": selectors.exhibit_a_rows(a),
        "exhibit_b": selectors.exhibit_b_rows(a),
        "authorized_users": list(a.authorized_users.all()),
        "signers": list(a.signers.select_related("user")),
        "work_items": list(a.work_items.select_related("assignee")) if user.is_agency_staff else [],
        "manage": can_manage(user),
    }
    return render(request, "agreements/detail.html", context)
