from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.http import HttpRequest

from datashare.accounts.models import Role


class AccountAdapter(DefaultAccountAdapter):
    """Anyone may sign up as a requestor; agency roles are only ever granted (``grant_role``)."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        from datashare.accounts.services import grant_role

        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                grant_role(actor=user, user=user, role=Role.REQUESTOR)
        return user
