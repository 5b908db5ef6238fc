"""Who sees which results and who may act on them: the one place these are decided.

The researcher side: the agreement's authorized users and its request's creator and data
manager see the agreement's results; anyone else at any organization gets 404. The agency:
data stewards and administrators review, auditors read.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from datashare.accounts.models import Role, User
from datashare.agreements.models import Agreement, AgreementStatus
from datashare.results.models import ResultsSubmission

REVIEWER_ROLES = (Role.DATA_STEWARD, Role.ADMINISTRATOR)
READ_ALL_ROLES = (Role.DATA_STEWARD, Role.ADMINISTRATOR, Role.AUDITOR)
# Results are shared while the data are held and after the agreement ends (a paper may come late).
SHARING_STATUSES = (AgreementStatus.EXECUTED, AgreementStatus.ACTIVE, AgreementStatus.EXPIRED, AgreementStatus.TERMINATED)


def _party(user: User, prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}authorized_users__user": user})
        | Q(**{f"{prefix}data_request__created_by": user})
        | Q(**{f"{prefix}data_request__data_manager": user})
    )


def is_researcher_on(user: User, agreement: Agreement) -> bool:
    return bool(user.is_authenticated) and Agreement.objects.filter(_party(user), pk=agreement.pk).exists()


def can_review(user: User) -> bool:
    return bool(user.is_authenticated and user.has_role(*REVIEWER_ROLES))


def submittable_agreements(user: User) -> QuerySet[Agreement]:
    """Agreements this researcher may send results under (authorized user or party)."""
    if not user.is_authenticated:
        return Agreement.objects.none()
    return Agreement.objects.filter(_party(user), status__in=SHARING_STATUSES).distinct()


def visible_submissions(user: User) -> QuerySet[ResultsSubmission]:
    if not user.is_authenticated:
        return ResultsSubmission.objects.none()
    if user.has_role(*READ_ALL_ROLES):
        return ResultsSubmission.objects.all()
    ids = Agreement.objects.filter(_party(user)).values("pk")
    return ResultsSubmission.objects.filter(agreement__in=ids)


def get_submission_for(user: User, public_id: UUID | str) -> ResultsSubmission:
    try:
        return visible_submissions(user).select_related("agreement", "submitted_by").get(public_id=public_id)
    except (ResultsSubmission.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such results") from None
