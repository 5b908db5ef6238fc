"""The SFTP server's accounts, lockout and logs, from the database (``sftpd.Backend``).

The server calls these from worker threads (``asyncio.to_thread``); each call closes a
connection that went stale first, as a long-running process must.
"""

from __future__ import annotations

from pathlib import Path

from django.db import close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from datashare.delivery.models import AccountStatus, EventKind, SftpAccount, SftpEvent, SftpKey
from datashare.delivery.services import LOCKOUT, MAX_FAILURES
from datashare.delivery.sftpd import Grant


def _drop_stale_connection() -> None:
    # Inside a transaction (a test's, or a caller's atomic block) the connection is in use, and
    # Django's check would close it because autocommit is off: only a server thread's idle
    # connection may be replaced.
    if not connection.in_atomic_block:
        close_old_connections()


class DjangoBackend:
    def __init__(self, store: Path) -> None:
        self.store = Path(store)

    @staticmethod
    def _account(username: str) -> SftpAccount | None:
        _drop_stale_connection()
        return SftpAccount.objects.select_related("user").filter(username=username).first()

    def authorized_keys(self, username: str) -> list[str]:
        # A revoked account's keys too: its user's right key is then refused by ``grant`` and
        # logged as "no active agreement", not as a wrong key (which would also count towards
        # a lockout). Whether anyone gets in is decided by ``grant`` alone.
        _drop_stale_connection()
        return list(SftpKey.objects.filter(account__username=username).values_list("public_key", flat=True))

    def has_password_totp(self, username: str) -> bool:
        account = self._account(username)
        return bool(account and account.allow_password_totp and account.status == AccountStatus.ACTIVE)

    def check_password_totp(self, username: str, password: str, code: str) -> bool:
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import TOTP

        account = self._account(username)
        if account is None or not account.allow_password_totp or not account.user.is_active:
            return False
        if not account.user.check_password(password):
            return False
        totp = Authenticator.objects.filter(user=account.user, type=Authenticator.Type.TOTP).first()
        return totp is not None and TOTP(totp).validate_code(code.strip())

    def locked(self, username: str) -> bool:
        account = self._account(username)
        return bool(account and account.locked_until and account.locked_until > timezone.now())

    def auth_failed(self, username: str, method: str, peer: str, reason: str) -> None:
        account = self._account(username)
        SftpEvent.objects.create(kind=EventKind.AUTH_FAILED, account=account, username=username[:100],
                                 peer=peer[:64], method=method, reason=reason[:200])  # fmt: skip
        if account is None:
            return
        SftpAccount.objects.filter(pk=account.pk).update(failed_logins=F("failed_logins") + 1)
        # The lockout starts at the MAX-th failure; the counter restarts for the next window.
        SftpAccount.objects.filter(pk=account.pk, failed_logins__gte=MAX_FAILURES).update(
            failed_logins=0, locked_until=timezone.now() + LOCKOUT
        )

    def logged_in(self, username: str, method: str, peer: str) -> None:
        account = self._account(username)
        if account is not None:
            SftpAccount.objects.filter(pk=account.pk).update(failed_logins=0)
        SftpEvent.objects.create(kind=EventKind.LOGIN, account=account, username=username[:100],
                                 peer=peer[:64], method=method, package_id=account.package_id if account else "")  # fmt: skip

    def grant(self, username: str) -> Grant | None:
        account = self._account(username)
        if account is None or account.status != AccountStatus.ACTIVE or not account.package_id:
            return None
        if account.expires_on is not None and timezone.localdate() > account.expires_on:
            return None
        if not account.user.is_active:
            return None
        return Grant(username, account.agreement_label, account.package_id, self.store)

    def refused(self, username: str, operation: str, path: str, reason: str) -> None:
        account = self._account(username)
        SftpEvent.objects.create(kind=EventKind.REFUSED, account=account, username=username[:100],
                                 operation=operation[:30], path=path[:300], reason=reason[:200])  # fmt: skip

    def transfer(self, username: str, package_id: str, file: str, sent: int, size: int, complete: bool) -> None:
        account = self._account(username)
        SftpEvent.objects.create(kind=EventKind.TRANSFER, account=account, username=username[:100],
                                 package_id=package_id[:80], path=file[:300], bytes_sent=sent,
                                 size=size, complete=complete)  # fmt: skip
