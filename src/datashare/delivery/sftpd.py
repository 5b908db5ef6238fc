"""The delivery SFTP server: read-only, one agreement's encrypted package per account.

An asyncssh server whose SFTP side never touches the filesystem with a client's path.
asyncssh's own ``chroot`` maps client paths onto local paths as strings and then follows
whatever is there (a symlink planted in the tree escapes it). Here a client path is parsed
into components (any ``..`` refuses the request; ``.`` and empty parts are dropped) and must
then name exactly the virtual root ``/`` or one file of the account's package listing; the
listing holds only regular files of the package store (``vault.package_files`` skips
symlinks) and each is opened with ``O_NOFOLLOW``. Files are decrypted on the fly, one chunk
at a time (``vault.EncryptedReader``).

Every operation first checks the account's grant (the agreement still active, the account not
revoked), at most ``GRANT_TTL`` seconds old; a sweep re-checks every live connection on the
same period and closes those whose grant is gone, so access ends within a minute of the
agreement's end, termination or the account's revocation.

Memory per connection is bounded whatever the client's read-ahead: asyncssh handles one
SFTP request at a time per session, and a read is answered only once the channel's outgoing
buffer is under ``SEND_BUFFER_LIMIT`` (a bare asyncssh server answered every prefetched read
at once, and held a whole 1 GiB file in its send buffer under paramiko's default prefetch).

Django-free: accounts, keys, lockout and the logs come from a ``Backend`` (the Django one is
``datashare.delivery.backend``), whose blocking calls run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import asyncssh
from asyncssh import SFTPAttrs, SFTPName
from asyncssh.auth import KbdIntChallenge, KbdIntResponse

from datashare.delivery import sshfast
from datashare.extract import vault

log = logging.getLogger("datashare.sftp")

GRANT_TTL = 30.0  # seconds a grant check is trusted; the sweep runs on the same period
SEND_BUFFER_LIMIT = 4 << 20  # bytes queued to a client before its next read is answered
# The largest read answered, as OpenSSH's sftp-server (its client refuses messages over 256 KiB;
# a shorter read is normal SFTP and clients ask for the rest).
MAX_READ = 255 * 1024
LOGIN_TIMEOUT = 60
WRITE_FLAGS = asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC
FILE_MODE = 0o100444  # regular file, read-only
DIR_MODE = 0o040555  # directory, read-only

T = TypeVar("T")


@dataclass(frozen=True)
class Grant:
    """What one account may read now: one package of one agreement."""

    username: str
    agreement: str  # its label, for logs and the banner
    package_id: str
    store: Path


class Backend(Protocol):
    """Accounts, lockout and logs. Every method may block (database); none may raise for a
    missing user (an unknown user looks like a wrong key, never like a different error)."""

    def authorized_keys(self, username: str) -> list[str]: ...
    def has_password_totp(self, username: str) -> bool: ...
    def check_password_totp(self, username: str, password: str, code: str) -> bool: ...
    def locked(self, username: str) -> bool: ...
    def auth_failed(self, username: str, method: str, peer: str, reason: str) -> None: ...
    def logged_in(self, username: str, method: str, peer: str) -> None: ...
    def grant(self, username: str) -> Grant | None: ...
    def refused(self, username: str, operation: str, path: str, reason: str) -> None: ...
    def transfer(
        self, username: str, package_id: str, file: str, sent: int, size: int, complete: bool
    ) -> None: ...


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's Ed25519 host key, generated once (mode 0600) and then always reused, so
    the fingerprint shown in the portal stays true."""
    path = Path(path)
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key())
    # The public half beside it, for the portal to show the fingerprint without the secret.
    Path(f"{path}.pub").write_bytes(key.export_public_key("openssh"))
    return key


def fingerprint(key: asyncssh.SSHKey) -> str:
    return str(key.get_fingerprint("sha256"))


@dataclass
class _Session:
    """One authenticated connection."""

    username: str
    peer: str
    conn: asyncssh.SSHServerConnection
    grant: Grant | None = None
    data_key: bytes = b""
    checked: float = 0.0
    files: dict[str, int] = field(default_factory=dict)


class _Ranges:
    """Byte ranges of one file served to the client, merged, to log how much of the file
    was sent and whether all of it was."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        spans = self.spans
        if spans and spans[-1][0] <= start <= spans[-1][1]:  # the common, sequential case
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            return
        spans.append((start, end))
        spans.sort()
        merged = [spans[0]]
        for s, e in spans[1:]:
            if s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
            else:
                merged.append((s, e))
        self.spans = merged

    def total(self) -> int:
        return sum(e - s for s, e in self.spans)


@dataclass
class _OpenFile:
    name: str
    reader: vault.EncryptedReader
    ranges: _Ranges = field(default_factory=_Ranges)
    logged: bool = False


class DeliveryServer:
    """Serves every account's package; ``start()`` listens, ``close()`` stops."""

    def __init__(
        self,
        backend: Backend,
        *,
        master_key: bytes,
        host_key: asyncssh.SSHKey,
        host: str = "127.0.0.1",
        port: int = 2222,
        grant_ttl: float = GRANT_TTL,
        send_buffer_limit: int = SEND_BUFFER_LIMIT,
        ssh_options: dict[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        self.master_key = master_key
        self.host_key = host_key
        self.host = host
        self.port = port
        self.grant_ttl = grant_ttl
        self.send_buffer_limit = send_buffer_limit
        self.ssh_options = dict(ssh_options or {})  # more asyncssh options (tests: rekey_bytes)
        self.sessions: dict[asyncssh.SSHServerConnection, _Session] = {}
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def start(self) -> None:
        sshfast.install_ciphers()
        sshfast.install_sftp()
        self._acceptor = await asyncssh.create_server(
            lambda: _SSHServer(self),
            self.host,
            self.port,
            server_host_keys=[self.host_key],
            sftp_factory=lambda chan: _PackageSFTP(chan, self),
            sftp_version=3,
            encryption_algs=list(sshfast.CIPHERS),
            allow_scp=False,
            # No shell, so no line editing; without it the SFTP channel is asyncssh's own
            # (not its editor's proxy), which the READ fast path needs.
            line_editor=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=LOGIN_TIMEOUT,
            keepalive_interval=60,
            **self.ssh_options,
        )
        if self.port == 0:
            self.port = self._acceptor.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        for conn in list(self.sessions):
            conn.close()

    async def _sweep(self) -> None:
        """Close the connections whose grant has ended (agreement over, account revoked)."""
        while True:
            await asyncio.sleep(self.grant_ttl)
            for session in list(self.sessions.values()):
                try:
                    await self.refresh(session, force=True)
                except asyncssh.SFTPError:
                    pass  # refused and closed by refresh
                except Exception:  # a database hiccup must not stop the sweep for good
                    log.exception("grant sweep failed for %s", session.username)

    async def refresh(self, session: _Session, *, force: bool = False) -> Grant:
        """The session's grant, re-read when older than the TTL; a grant that ended closes
        the connection and refuses the operation."""
        now = time.monotonic()
        if force or now - session.checked >= self.grant_ttl or session.grant is None:
            grant = await self.call(self.backend.grant, session.username)
            if grant is None or (
                session.grant is not None and grant.package_id != session.grant.package_id
            ):
                session.grant = None
                await self.call(
                    self.backend.refused, session.username, "session", "", "access has ended"
                )
                session.conn.close()
                raise asyncssh.SFTPPermissionDenied("access to this package has ended")
            if session.grant is None:
                session.data_key = await self.call(
                    vault.package_key, grant.store, grant.package_id, self.master_key
                )
            session.grant = grant
            session.checked = now
        assert session.grant is not None
        return session.grant


class _SSHServer(asyncssh.SSHServer):
    def __init__(self, server: DeliveryServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer = ""
        self.username = ""
        self.is_locked = False
        self.key_refused = False
        self.login_refused = False
        self.authenticated = False
        self.grant: Grant | None = None
        self.data_key = b""
        self.method = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        sshfast.tune(conn)
        peer = conn.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.server.sessions.pop(self.conn, None)

    async def begin_auth(self, username: str) -> bool:
        self.username = username
        self.is_locked = await self.server.call(self.server.backend.locked, username)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return True

    async def _refuse_login(self, username: str, reason: str) -> None:
        """Log a login refused for the account's state (locked, no active agreement) once per
        connection: clients offer a key twice (query, then signature) and may retry."""
        if not self.login_refused:
            self.login_refused = True
            await self.server.call(self.server.backend.refused, username, "login", "", reason)

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self.is_locked:
            await self._refuse_login(username, "account locked")
            return False
        for line in await self.server.call(self.server.backend.authorized_keys, username):
            try:
                allowed = asyncssh.import_public_key(line)
            except (asyncssh.KeyImportError, ValueError):
                continue
            if allowed.public_data == key.public_data:
                # asyncssh verifies the signature after this: the login is only logged
                # once it succeeded (auth_completed).
                return await self._has_grant(username, "publickey")
        if not self.key_refused:
            # One failure per connection that offers wrong keys: a client trying several
            # keys of its agent is not several attacks.
            self.key_refused = True
            await self.server.call(
                self.server.backend.auth_failed,
                username,
                "publickey",
                self.peer,
                "no authorized key offered",
            )
        return False

    async def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> KbdIntChallenge:
        if self.is_locked:
            await self._refuse_login(username, "account locked")
            return False
        if not await self.server.call(self.server.backend.has_password_totp, username):
            return False
        return ("", "Password and the code from your authenticator app", "", [
            ("Password: ", False), ("Verification code: ", True)])  # fmt: skip

    async def validate_kbdint_response(
        self, username: str, responses: KbdIntResponse
    ) -> KbdIntChallenge:
        if self.is_locked or len(responses) != 2:
            return False
        ok = await self.server.call(
            self.server.backend.check_password_totp, username, responses[0], responses[1]
        )
        if not ok:
            await self.server.call(
                self.server.backend.auth_failed,
                username,
                "keyboard-interactive",
                self.peer,
                "wrong password or code",
            )
            return False
        return await self._has_grant(username, "keyboard-interactive")

    async def _has_grant(self, username: str, method: str) -> bool:
        """The credentials are right: is there still an agreement to serve?"""
        grant = await self.server.call(self.server.backend.grant, username)
        if grant is None:
            await self._refuse_login(username, "no active agreement")
            return False
        try:
            self.data_key = await self.server.call(
                vault.package_key, grant.store, grant.package_id, self.server.master_key
            )
        except vault.VaultError as exc:
            await self.server.call(self.server.backend.refused, username, "login", "", str(exc))
            return False
        self.grant = grant
        self.method = method
        return True

    async def auth_completed(self) -> None:
        assert self.conn is not None and self.grant is not None
        self.server.sessions[self.conn] = _Session(
            username=self.username,
            peer=self.peer,
            conn=self.conn,
            grant=self.grant,
            data_key=self.data_key,
            checked=time.monotonic(),
        )
        self.authenticated = True
        await self.server.call(self.server.backend.logged_in, self.username, self.method, self.peer)


def _denied(reason: str) -> asyncssh.SFTPPermissionDenied:
    return asyncssh.SFTPPermissionDenied(reason)


class _PackageSFTP(asyncssh.SFTPServer):
    """One SFTP session: the account's package as a flat, read-only folder ``/``."""

    def __init__(self, chan: asyncssh.SSHServerChannel, server: DeliveryServer) -> None:
        super().__init__(chan)
        self.server = server
        self.session = server.sessions[cast(asyncssh.SSHServerConnection, chan.get_connection())]
        self.open_files: list[_OpenFile] = []

    # -- helpers -----------------------------------------------------------------------

    async def _refuse(self, operation: str, path: bytes | str, reason: str) -> Exception:
        shown = path.decode("utf-8", "backslashreplace") if isinstance(path, bytes) else path
        await self.server.call(
            self.server.backend.refused, self.session.username, operation, shown[:300], reason
        )
        return _denied(reason) if reason != "no such file" else asyncssh.SFTPNoSuchFile(reason)

    async def _resolve(self, operation: str, path: bytes) -> str:
        """'' for the root, else the name of one package file; anything else is refused."""
        grant = await self.server.refresh(self.session)
        try:
            text = path.decode("utf-8")
        except UnicodeDecodeError:
            raise await self._refuse(operation, path, "path is not UTF-8") from None
        if "\x00" in text or "\\" in text:
            raise await self._refuse(operation, path, "invalid path")
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise await self._refuse(operation, path, "path traversal ('..')")
        if not parts:
            return ""
        names = await self.server.call(vault.package_files, grant.store, grant.package_id)
        if len(parts) == 1 and parts[0] in names:
            return parts[0]
        raise await self._refuse(operation, path, "no such file")

    async def _file_attrs(self, name: str) -> SFTPAttrs:
        grant = await self.server.refresh(self.session)
        size = self.session.files.get(name)
        if size is None:
            with await self.server.call(
                vault.open_file, grant.store, grant.package_id, name, self.session.data_key
            ) as reader:
                size = reader.size
            self.session.files[name] = size
        return SFTPAttrs(permissions=FILE_MODE, size=size, uid=0, gid=0)

    @staticmethod
    def _dir_attrs() -> SFTPAttrs:
        return SFTPAttrs(permissions=DIR_MODE, size=0, uid=0, gid=0)

    # -- reads -------------------------------------------------------------------------

    def format_user(self, uid: int | None) -> str:
        return "datashare"

    def format_group(self, gid: int | None) -> str:
        return "datashare"

    async def realpath(self, path: bytes) -> bytes:
        name = await self._resolve_any("realpath", path)
        return b"/" + name.encode("utf-8")

    async def _resolve_any(self, operation: str, path: bytes) -> str:
        # realpath may name a file that does not exist yet (clients build paths with it);
        # only the root and the package's files are real here, everything else is refused.
        return await self._resolve(operation, path)

    async def stat(self, path: bytes) -> SFTPAttrs:
        name = await self._resolve("stat", path)
        return self._dir_attrs() if not name else await self._file_attrs(name)

    async def lstat(self, path: bytes) -> SFTPAttrs:
        return await self.stat(path)

    async def fstat(self, file_obj: object) -> SFTPAttrs:
        assert isinstance(file_obj, _OpenFile)
        return SFTPAttrs(permissions=FILE_MODE, size=file_obj.reader.size, uid=0, gid=0)

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        name = await self._resolve("list", path)
        if name:
            raise await self._refuse("list", path, "not a directory")
        yield SFTPName(b".", attrs=self._dir_attrs())
        yield SFTPName(b"..", attrs=self._dir_attrs())
        grant = await self.server.refresh(self.session)
        for n in await self.server.call(vault.package_files, grant.store, grant.package_id):
            yield SFTPName(n.encode("utf-8"), attrs=await self._file_attrs(n))

    async def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        if pflags & WRITE_FLAGS or not pflags & asyncssh.FXF_READ:
            raise await self._refuse("write", path, "read-only: writing is not allowed")
        name = await self._resolve("open", path)
        if not name:
            raise await self._refuse("open", path, "is a directory")
        grant = self.session.grant
        assert grant is not None
        reader = await self.server.call(
            vault.open_file, grant.store, grant.package_id, name, self.session.data_key
        )
        handle = _OpenFile(name, reader)
        self.open_files.append(handle)
        return handle

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        return b"".join(await self.read_views(file_obj, offset, size))

    async def read_views(self, file_obj: object, offset: int, size: int) -> list[memoryview]:
        """``read`` as views of the decrypted chunks: the fast READ reply
        (``sshfast.FastSFTPServerHandler``) cuts them into SSH packets without copying."""
        assert isinstance(file_obj, _OpenFile)
        await self.server.refresh(self.session)
        chan = self.channel
        # Back-pressure: answer the next read only when what is queued for the client has
        # drained below the limit (asyncssh processes one request at a time per session).
        while chan.get_write_buffer_size() > self.server.send_buffer_limit:
            if chan.is_closing():
                raise asyncssh.SFTPConnectionLost("connection closed")
            await asyncio.sleep(0.002)
        try:
            views = file_obj.reader.read_views(offset, min(size, MAX_READ))
        except vault.VaultError as exc:
            raise await self._refuse("read", file_obj.name, str(exc)) from None
        file_obj.ranges.add(offset, offset + sum(map(len, views)))
        return views

    async def close(self, file_obj: object) -> None:
        assert isinstance(file_obj, _OpenFile)
        await self._log_transfer(file_obj)

    async def _log_transfer(self, f: _OpenFile) -> None:
        if f.logged:
            return
        f.logged = True
        f.reader.close()
        if f in self.open_files:
            self.open_files.remove(f)
        sent = f.ranges.total()
        grant = self.session.grant
        await self.server.call(
            self.server.backend.transfer,
            self.session.username,
            grant.package_id if grant else "",
            f.name,
            sent,
            f.reader.size,
            sent == f.reader.size,
        )

    async def exit(self) -> None:
        # The client left with files open (an interrupted download): log them as incomplete.
        for f in list(self.open_files):
            await self._log_transfer(f)

    # -- everything that would change anything is refused --------------------------------

    async def _no(self, operation: str, path: bytes | str = b"") -> None:
        raise await self._refuse(operation, path, "read-only: not allowed")

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        await self._no("write", getattr(file_obj, "name", ""))
        return 0

    async def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self._no("setstat", path)

    async def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self._no("setstat", path)

    async def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None:
        await self._no("setstat", getattr(file_obj, "name", ""))

    async def remove(self, path: bytes) -> None:
        await self._no("remove", path)

    async def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self._no("mkdir", path)

    async def rmdir(self, path: bytes) -> None:
        await self._no("rmdir", path)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._no("rename", oldpath)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._no("rename", oldpath)

    async def readlink(self, path: bytes) -> bytes:
        await self._no("readlink", path)
        return b""

    async def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        await self._no("symlink", newpath)

    async def link(self, oldpath: bytes, newpath: bytes) -> None:
        await self._no("link", newpath)

    async def lock(self, file_obj: object, offset: int, length: int, flags: int) -> None:
        await self._no("lock")

    async def unlock(self, file_obj: object, offset: int, length: int) -> None:
        await self._no("lock")

    async def fsync(self, file_obj: object) -> None:
        await self._no("fsync")

    async def statvfs(self, path: bytes) -> Any:
        raise asyncssh.SFTPOpUnsupported("statvfs is not supported")

    async def fstatvfs(self, file_obj: object) -> Any:
        raise asyncssh.SFTPOpUnsupported("statvfs is not supported")


async def serve_forever(server: DeliveryServer, stop: Awaitable[Any] | None = None) -> None:
    await server.start()
    log.info(
        "SFTP delivery on %s:%d, host key %s",
        server.host,
        server.port,
        fingerprint(server.host_key),
    )
    try:
        if stop is None:
            await asyncio.Event().wait()
        else:
            await stop
    finally:
        await server.close()


async def serve_until_signalled(
    server: DeliveryServer, signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
) -> None:
    """Serve until the first of ``signals``; ignore the rest of them while shutting down.

    Ctrl-C in ``make run`` reaches this process and then the supervisor's SIGTERM follows.
    asyncio's loop closes its self-pipe before it removes its signal handlers, so a signal in
    between made CPython print "Exception ignored when trying to write to the signal wakeup
    fd ... Bad file descriptor" on an ordinary stop. Detaching the handlers here, while the
    loop is still whole, closes that window; the process is on its way out, so nothing is lost
    by ignoring a second request to stop.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve_forever(server, stop.wait())
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
