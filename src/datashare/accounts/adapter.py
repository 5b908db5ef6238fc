from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.http import HttpRequest

from datashare.accounts.models import Role
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

    def login(self, request: HttpRequest, user: Any) -> Any:
        # Who signed in, when and from where is part of the record an auditor reads.
        with transaction.atomic():
            response = super().login(request, user)
            record_event(actor=user, action="account.signed_in", target=user, request=request)
        return response
