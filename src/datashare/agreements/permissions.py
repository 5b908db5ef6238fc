"""Who may see and do what with agreements: the one place object access is decided.

Agency: data stewards and administrators prepare, send, void and terminate; auditors read
everything; agency signatories see the agreements they sign. Requesting organization: the
request's creator and data manager, and anyone named as a signer, see the agreement; nobody
else at any organization learns it exists (404).
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from datashare.accounts.models import Role, User
from datashare.agreements.models import Agreement

MANAGER_ROLES = (Role.DATA_STEWARD, Role.ADMINISTRATOR)
READ_ALL_ROLES = (Role.DATA_STEWARD, Role.ADMINISTRATOR, Role.AUDITOR)


def can_manage(user: User) -> bool:
    return bool(user.is_authenticated and user.has_role(*MANAGER_ROLES))


def visible_agreements(user: User) -> QuerySet[Agreement]:
    if not user.is_authenticated:
        return Agreement.objects.none()
    if user.has_role(*READ_ALL_ROLES):
        return Agreement.objects.all()
    mine = Q(data_request__created_by=user) | Q(data_request__data_manager=user) | Q(signers__user=user)
    return Agreement.objects.filter(mine).distinct()


def get_agreement_for(user: User, public_id: UUID | str) -> Agreement:
    """The agreement if ``user`` may see it, else 404 (outsiders cannot learn it exists)."""
    try:
        return (
            visible_agreements(user)
            .select_related("organization", "data_request", "template", "requestor_signatory")
            .get(public_id=public_id)
        )
    except (Agreement.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such agreement") from None


def is_party(user: User, agreement: Agreement) -> bool:
    """The requesting side of this agreement (creator or data manager of its request)."""
    r = agreement.data_request
    return user.pk in (r.created_by_id, r.data_manager_id)
