"""Writes to accounts: each one audited in the same transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from datashare.accounts.models import STAFF_ROLES, ApiToken, Organization, Role, RoleGrant, User
from datashare.audit.services import record_event
from datashare.core.errors import Forbidden, ValidationFailed


def _not_on_own_account(actor: User | None, user: User, what: str) -> None:
    # Separation of duties: an agency role, or an account's standing, is always changed by
    # someone else (or by the system: actor None, as the CLI and the demo seeder do).
    if actor is not None and actor.pk == user.pk:
        raise Forbidden("account.own_account", f"You cannot {what} on your own account: ask another administrator.")


def grant_role(*, actor: User | None, user: User, role: Role | str, reason: str = "") -> RoleGrant:
    """Give ``user`` the role (no-op if held). Sign-up grants the requestor role to oneself;
    nobody grants themselves an agency role."""
    if str(role) not in Role.values:
        raise ValidationFailed("account.unknown_role", f"There is no role {role!r}.", fields={"role": ["Unknown role."]})
    if str(role) in STAFF_ROLES:
        _not_on_own_account(actor, user, "grant an agency role")
    with transaction.atomic():
        grant, created = RoleGrant.objects.get_or_create(
            user=user, role=role, defaults={"granted_by": actor}
        )
        if created:
            new: dict[str, str] = {"role": str(role)}
            if reason:
                new["reason"] = reason
            record_event(actor=actor, action="account.role_granted", target=user, new=new)
        user.forget_roles()
        return grant


def revoke_role(*, actor: User | None, user: User, role: Role | str, reason: str = "") -> None:
    if str(role) not in Role.values:
        raise ValidationFailed("account.unknown_role", f"There is no role {role!r}.", fields={"role": ["Unknown role."]})
    _not_on_own_account(actor, user, "revoke a role")
    with transaction.atomic():
        deleted, _ = RoleGrant.objects.filter(user=user, role=role).delete()
        if deleted:
            record_event(
                actor=actor,
                action="account.role_revoked",
                target=user,
                old={"role": str(role)},
                new={"reason": reason} if reason else None,
            )
        user.forget_roles()


def set_active(*, actor: User | None, user: User, active: bool, reason: str) -> User:
    """Deactivate (or reactivate) an account: it can no longer sign in or use its API tokens.

    Nothing is deleted: requests, grants and the audit trail stay attributable to the person."""
    _not_on_own_account(actor, user, "change the standing")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active == active:
            return locked
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        record_event(
            actor=actor,
            action="account.reactivated" if active else "account.deactivated",
            target=locked,
            old={"active": not active},
            new={"active": active, "reason": reason},
        )
    user.is_active = active
    return locked


def set_organization(*, actor: User | None, user: User, organization: Organization | None) -> None:
    with transaction.atomic():
        old = user.organization.name if user.organization else None
        was_verified = user.affiliation_verified_at is not None
        if user.organization_id != (organization.pk if organization else None):
            # A confirmed affiliation was with the old organization, not the new one.
            user.affiliation_verified_at = None
            user.affiliation_verified_by = None
        user.organization = organization
        user.save(update_fields=["organization", "affiliation_verified_at", "affiliation_verified_by"])
        record_event(
            actor=actor,
            action="account.organization_changed",
            target=user,
            old={"organization": old, "affiliation_verified": was_verified},
            new={
                "organization": organization.name if organization else None,
                "affiliation_verified": user.affiliation_verified_at is not None,
            },
        )


TOKEN_PREFIX = "dsk_"  # noqa: S105 - a public marker, not a secret
# A token is a long-lived credential that skips the sign-in form (and its MFA step): it ends
# on its own unless someone asks for another term. No token lives past MAX_TOKEN_DAYS.
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366


def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_api_token(
    *, actor: User | None, user: User, name: str, expires_at: datetime | None = None, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token for a service account. Returns (row, raw token): show the raw token once.

    It expires after ``expires_in_days`` (default 90) or at ``expires_at``; never later than
    MAX_TOKEN_DAYS from now."""
    now = timezone.now()
    if expires_at is None:
        days = DEFAULT_TOKEN_DAYS if expires_in_days is None else expires_in_days
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise ValueError(f"a token lives from 1 to {MAX_TOKEN_DAYS} days, not {days}")
        expires_at = now + timedelta(days=days)
    elif expires_at > now + timedelta(days=MAX_TOKEN_DAYS):
        raise ValueError(f"a token lives at most {MAX_TOKEN_DAYS} days")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], digest=_token_digest(raw), expires_at=expires_at
        )
        record_event(
            actor=actor,
            action="account.api_token_issued",
            target=user,
            new={
                "token": str(token.public_id),
                "name": name,
                "prefix": token.prefix,
                "expires_at": expires_at.isoformat(),
            },
        )
    return token, raw


def revoke_api_token(*, actor: User | None, token: ApiToken) -> None:
    with transaction.atomic():
        # Conditional update: two concurrent revocations record one event.
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if changed:
            record_event(
                actor=actor,
                action="account.api_token_revoked",
                target=token.user,
                old={"token": str(token.public_id), "name": token.name},
            )


def user_for_api_token(raw: str) -> User | None:
    """The active user a live token belongs to, or None. Marks the token used."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    # Tokens issued before expiry became mandatory end DEFAULT_TOKEN_DAYS after their issue.
    expires_at = token.expires_at or token.created_at + timedelta(days=DEFAULT_TOKEN_DAYS)
    if expires_at <= now:
        return None
    # Usage bookkeeping only, not an audited change; at most one write a minute per token.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


class ProfileError(ValueError):
    """A profile change refused, with a message fit for the user."""


def update_profile(*, actor: User, user: User, full_name: str) -> User:
    full_name = full_name.strip()
    if not full_name:
        raise ProfileError("Enter your full name.")
    if "\x00" in full_name or len(full_name) > 200:
        raise ProfileError("Enter your full name (at most 200 characters, no control characters).")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        old = locked.full_name
        if old == full_name:
            return locked
        locked.full_name = full_name
        locked.save(update_fields=["full_name"])
        record_event(
            actor=actor, action="account.profile_changed", target=locked, old={"full_name": old}, new={"full_name": full_name}
        )
    return locked


def join_organization(*, actor: User | None, user: User, name: str, kind: str) -> Organization:
    """Put ``user`` in the organization called ``name``, creating it with ``kind`` if it is new.

    An existing organization keeps its kind: a newcomer cannot relabel it (kind sets priority).
    """
    with transaction.atomic():
        organization = Organization.objects.filter(name__iexact=name).first()
        if organization is None:
            try:
                with transaction.atomic():
                    organization = Organization.objects.create(name=name, kind=kind)
            except IntegrityError:
                # Another sign-up created it between our read and our insert.
                organization = Organization.objects.get(name__iexact=name)
            else:
                record_event(
                    actor=actor, action="organization.created", target=organization, new={"name": name, "kind": kind}
                )
        set_organization(actor=actor, user=user, organization=organization)
    return organization
