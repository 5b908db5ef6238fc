"""Writes to accounts: each one audited in the same transaction."""

from __future__ import annotations

from django.db import transaction

from datashare.accounts.models import Organization, Role, RoleGrant, User
from datashare.audit.services import record_event


def grant_role(*, actor: User | None, user: User, role: Role | str) -> RoleGrant:
    with transaction.atomic():
        grant, created = RoleGrant.objects.get_or_create(
            user=user, role=role, defaults={"granted_by": actor}
        )
        if created:
            record_event(
                actor=actor, action="account.role_granted", target=user, new={"role": str(role)}
            )
        user.forget_roles()
        return grant


def revoke_role(*, actor: User | None, user: User, role: Role | str) -> None:
    with transaction.atomic():
        deleted, _ = RoleGrant.objects.filter(user=user, role=role).delete()
        if deleted:
            record_event(
                actor=actor, action="account.role_revoked", target=user, old={"role": str(role)}
            )
        user.forget_roles()


def set_organization(*, actor: User | None, user: User, organization: Organization | None) -> None:
    with transaction.atomic():
        old = user.organization.name if user.organization else None
        user.organization = organization
        user.save(update_fields=["organization"])
        record_event(
            actor=actor,
            action="account.organization_changed",
            target=user,
            old={"organization": old},
            new={"organization": organization.name if organization else None},
        )
