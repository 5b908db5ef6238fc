from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import resolve_url

from datashare.accounts.models import Role, User
from datashare.audit.context import client_ip
from datashare.audit.services import record_event


class AccountAdapter(DefaultAccountAdapter):
    """Anyone may sign up as a requestor; agency roles are only ever granted (``grant_role``)."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        from datashare.accounts.services import grant_role

        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                grant_role(actor=user, user=user, role=Role.REQUESTOR)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # The emails greet with the agency's name and sign with the portal's address
        # (templates/account/email/base_message.txt), never the bare host name.
        names = {"AGENCY_NAME": settings.AGENCY_NAME, "SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL}
        super().send_mail(template_prefix, email, {**names, **context})

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Staff land on their work (a data steward's queue, via the staff dashboard), not on
        # the public home page; requestors on their requests. An explicit ?next= still wins.
        user = request.user
        if user.is_authenticated and getattr(user, "is_agency_staff", False):
            return resolve_url("web:staff_dashboard")
        if user.is_authenticated and user.has_role(Role.REQUESTOR):  # type: ignore[union-attr]
            return resolve_url("web:my_requests")
        return super().get_login_redirect_url(request)

    def login(self, request: HttpRequest, user: Any) -> Any:
        # Who signed in, when and from where is part of the record an auditor reads.
        with transaction.atomic():
            response = super().login(request, user)
            record_event(actor=user, action="account.signed_in", target=user, request=request)
        return response

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        # A wrong password (or an unknown account): recorded against the account when there is
        # one. Never the typed text: a password typed into the email field must not be kept.
        login = str(credentials.get("email") or credentials.get("username") or "").strip()
        user = User.objects.filter(email__iexact=login).first() if login else None
        record_event(
            actor=None,
            action="account.sign_in_failed",
            target=user,
            new={"reason": "wrong password" if user else "unknown account"},
            request=request,
        )

    def get_client_ip(self, request: HttpRequest) -> str:
        # The same address the audit rows record, honouring TRUSTED_PROXY_COUNT / _HEADER.
        return client_ip(request) or super().get_client_ip(request)
