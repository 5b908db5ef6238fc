"""Every change to SFTP accounts and keys: one transaction, a row lock, an audit event.

The SFTP server reads accounts on every login and re-checks them at least every 30 seconds
(``sftpd.GRANT_TTL``), so a revocation committed here ends access within a minute with no
message to the server.
"""

from __future__ import annotations

import datetime as dt
import re

import asyncssh
from django.db import transaction
from django.utils import timezone

from datashare.accounts.models import User
from datashare.audit.services import record_event
from datashare.core.errors import Conflict, Forbidden, ValidationFailed
from datashare.delivery import audit_actions
from datashare.delivery.models import AccountStatus, SftpAccount, SftpKey

MAX_FAILURES = 5  # failed logins before a lockout
LOCKOUT = dt.timedelta(minutes=15)
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")  # fmt: skip
MIN_RSA_BITS = 3072


def username_for(user: User, agreement_label: str) -> str:
    """A readable, unique login: the agreement number and the user's email's local part."""
    local = re.sub(r"[^a-z0-9]+", "-", user.email.split("@")[0].lower()).strip("-")[:20] or "user"
    base = f"{re.sub(r'[^a-z0-9]+', '-', agreement_label.lower()).strip('-')}-{local}"[:56]
    name, n = base, 1
    while SftpAccount.objects.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def create_account(
    *, actor: User | None, user: User, agreement_label: str, package_id: str, expires_on: dt.date | None
) -> SftpAccount:
    with transaction.atomic():
        account = SftpAccount.objects.create(
            user=user,
            username=username_for(user, agreement_label),
            agreement_label=agreement_label,
            package_id=package_id,
            expires_on=expires_on,
        )
        record_event(actor=actor, action=audit_actions.ACCOUNT_CREATED, target=account,
                     new={"username": account.username, "agreement": agreement_label,
                          "package": package_id, "expires_on": str(expires_on or "")})  # fmt: skip
    return account


def parse_public_key(text: str) -> tuple[str, str]:
    """(normalized OpenSSH line, SHA256 fingerprint) or ValidationFailed naming the problem."""
    line = " ".join(text.strip().split())
    if not line or "\n" in text.strip() or "PRIVATE KEY" in text:
        raise ValidationFailed("bad_key", "Paste one public key line (never a private key).",
                               status=400, fields={"public_key": ["Paste one public key line, e.g. the content of id_ed25519.pub (never a private key)."]})  # fmt: skip
    if line.split(" ")[0] not in KEY_TYPES:
        raise ValidationFailed("bad_key", "Unsupported key type.", status=400,
                               fields={"public_key": ["Use an Ed25519, ECDSA or RSA (3072 bits or more) public key."]})  # fmt: skip
    try:
        key = asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError):
        raise ValidationFailed("bad_key", "Not a valid public key.", status=400,
                               fields={"public_key": ["This is not a valid OpenSSH public key."]}) from None  # fmt: skip
    if key.algorithm == b"ssh-rsa" and getattr(key, "key_size", MIN_RSA_BITS) < MIN_RSA_BITS:
        raise ValidationFailed("weak_key", "RSA key too short.", status=400,
                               fields={"public_key": [f"RSA keys need at least {MIN_RSA_BITS} bits."]})  # fmt: skip
    return key.export_public_key("openssh").decode().strip(), str(key.get_fingerprint("sha256"))


def add_key(*, actor: User, account: SftpAccount, public_key: str) -> SftpKey:
    """The account's own user adds a public key (uploaded in the portal)."""
    if actor.pk != account.user_id:
        raise Forbidden("not_yours", "Only the account's user adds its keys.", status=403)
    line, fp = parse_public_key(public_key)
    with transaction.atomic():
        locked = SftpAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status != AccountStatus.ACTIVE:
            raise Conflict("revoked", "This account was revoked.")
        if SftpKey.objects.filter(account=locked, fingerprint=fp).exists():
            raise ValidationFailed("duplicate_key", "This key is already on the account.", status=400,
                                   fields={"public_key": ["This key is already on the account."]})  # fmt: skip
        key = SftpKey.objects.create(account=locked, public_key=line, fingerprint=fp)
        record_event(actor=actor, action=audit_actions.KEY_ADDED, target=locked, new={"fingerprint": fp})
    return key


def remove_key(*, actor: User, key: SftpKey) -> None:
    if actor.pk != key.account.user_id:
        raise Forbidden("not_yours", "Only the account's user removes its keys.", status=403)
    with transaction.atomic():
        record_event(actor=actor, action=audit_actions.KEY_REMOVED, target=key.account,
                     old={"fingerprint": key.fingerprint})  # fmt: skip
        key.delete()


def revoke_account(*, actor: User | None, account: SftpAccount, reason: str) -> bool:
    """Revoke (idempotent: False when it already was). Conditional UPDATE: two revokes, one event."""
    with transaction.atomic():
        now = timezone.now()
        changed = SftpAccount.objects.filter(pk=account.pk, status=AccountStatus.ACTIVE).update(
            status=AccountStatus.REVOKED, revoked_at=now, revoke_reason=reason[:200]
        )
        if changed:
            record_event(actor=actor, action=audit_actions.ACCOUNT_REVOKED, target=account,
                         old={"status": "active"}, new={"status": "revoked", "reason": reason[:200]})  # fmt: skip
    return bool(changed)


def revoke_for_agreement(*, actor: User | None, agreement_label: str, reason: str) -> int:
    """Every account of an agreement that ended (expired, terminated): the ``agreement_ended`` hook."""
    accounts = list(SftpAccount.objects.filter(agreement_label=agreement_label, status=AccountStatus.ACTIVE))
    return sum(revoke_account(actor=actor, account=a, reason=reason) for a in accounts)


def unlock_account(*, actor: User, account: SftpAccount) -> None:
    if actor.pk == account.user_id:
        raise Forbidden("own_account", "A steward cannot unlock their own SFTP account.", status=403)
    with transaction.atomic():
        SftpAccount.objects.filter(pk=account.pk).update(failed_logins=0, locked_until=None)
        record_event(actor=actor, action=audit_actions.ACCOUNT_UNLOCKED, target=account)
