"""A delivery SFTP server on a free loopback port, in its own thread and event loop, with an
in-memory backend that records every login, refusal and transfer, for tests with real
clients (OpenSSH ``sftp`` and paramiko)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datashare.delivery import sftpd
from datashare.extract import vault

MASTER = bytes(range(32))


@dataclass
class MemoryBackend:
    keys: dict[str, list[str]] = field(default_factory=dict)
    passwords: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (password, code)
    grants: dict[str, sftpd.Grant] = field(default_factory=dict)
    max_failures: int = 5
    failures: dict[str, int] = field(default_factory=dict)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def authorized_keys(self, username: str) -> list[str]:
        return list(self.keys.get(username, []))

    def has_password_totp(self, username: str) -> bool:
        return username in self.passwords

    def check_password_totp(self, username: str, password: str, code: str) -> bool:
        return self.passwords.get(username) == (password, code)

    def locked(self, username: str) -> bool:
        return self.failures.get(username, 0) >= self.max_failures

    def auth_failed(self, username: str, method: str, peer: str, reason: str) -> None:
        self.failures[username] = self.failures.get(username, 0) + 1
        self.events.append(("auth_failed", username, method, reason))

    def logged_in(self, username: str, method: str, peer: str) -> None:
        self.events.append(("login", username, method))

    def grant(self, username: str) -> sftpd.Grant | None:
        return self.grants.get(username)

    def refused(self, username: str, operation: str, path: str, reason: str) -> None:
        self.events.append(("refused", username, operation, path, reason))

    def transfer(self, username: str, package_id: str, file: str, sent: int, size: int, complete: bool) -> None:
        self.events.append(("transfer", username, package_id, file, sent, size, complete))

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] == kind]


class ServerThread:
    def __init__(self, backend: MemoryBackend, host_key_path: Path, **options: Any) -> None:
        self.backend = backend
        self.host_key = sftpd.load_or_create_host_key(host_key_path)
        self.server = sftpd.DeliveryServer(
            backend, master_key=MASTER, host_key=self.host_key, port=0, **options
        )
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.start())
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        assert self._ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)

    @property
    def port(self) -> int:
        return self.server.port

    def known_hosts(self, path: Path) -> Path:
        line = self.host_key.export_public_key("openssh").decode().strip()
        path.write_text(f"[127.0.0.1]:{self.port} {line}\n")
        return path


def make_package(tmp: Path, store: Path, package_id: str, big: int = 3 * 1024 * 1024 + 17) -> Path:
    plain = tmp / f"plain-{package_id}"
    plain.mkdir()
    (plain / "student.csv").write_text("rid,gender\nBCDFGHJKLMNP,F\n")
    (plain / "enrollment.parquet").write_bytes(os.urandom(big))
    (plain / "README.txt").write_text(f"package {package_id}\n")
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(plain.iterdir())]
    (plain / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    vault.seal_package(plain, store, MASTER, package_id)
    return plain


def client_key(path: Path) -> tuple[Path, str]:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path, Path(str(path) + ".pub").read_text().strip()


