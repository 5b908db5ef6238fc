"""The delivery SFTP server with real clients: OpenSSH ``sftp -b`` and paramiko download a
package and ``sha256sum -c SHA256SUMS`` passes; traversal, symlinks, another agreement's
files, writes, an ended grant and a wrong key are refused, and each is logged."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from datashare.delivery import sftpd, sshfast

from .sftp_harness import MemoryBackend, ServerThread, client_key, make_package

USER = "dsa-2025-0042-ana"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[ServerThread, MemoryBackend, Path, Path]]:
    store = tmp_path / "store"
    make_package(tmp_path, store, "pkg-mine")
    make_package(tmp_path, store, "pkg-other", big=1000)
    key, pub = client_key(tmp_path / "id_ed25519")
    backend = MemoryBackend(
        keys={USER: [pub]},
        grants={USER: sftpd.Grant(USER, "DSA-2025-0042", "pkg-mine", store)},
    )
    with ServerThread(backend, tmp_path / "host_key", grant_ttl=0.3) as server:
        yield server, backend, key, tmp_path


def _paramiko(
    server: ServerThread, key: Path, user: str = USER
) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_host_keys(str(server.known_hosts(key.parent / "known_hosts")))
    client.connect("127.0.0.1", port=server.port, username=user, key_filename=str(key),
                   look_for_keys=False, allow_agent=False, timeout=20)  # fmt: skip
    return client, client.open_sftp()


def _openssh_sftp(
    server: ServerThread, key: Path, tmp: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sftp", "-b", str(tmp / "batch"), "-P", str(server.port), "-i", str(key),
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={server.known_hosts(tmp / 'known_hosts')}",
         "-o", "IdentitiesOnly=yes", *options, f"{USER}@127.0.0.1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_openssh_sftp_batch_download_verifies(
    world: tuple[ServerThread, MemoryBackend, Path, Path],
) -> None:
    server, backend, key, tmp = world
    down = tmp / "down"
    down.mkdir()
    (tmp / "batch").write_text(f"lcd {down}\nls -l\nget *\nbye\n")
    result = subprocess.run(
        ["sftp", "-b", str(tmp / "batch"), "-P", str(server.port), "-i", str(key),
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={server.known_hosts(tmp / 'known_hosts')}",
         "-o", "IdentitiesOnly=yes", f"{USER}@127.0.0.1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in down.iterdir()) == [
        "README.txt", "SHA256SUMS", "enrollment.parquet", "student.csv"]  # fmt: skip
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=down, check=True)
    assert ("login", USER, "publickey") in backend.events
    transfers = backend.of("transfer")
    assert {t[3] for t in transfers} == {
        "README.txt",
        "SHA256SUMS",
        "enrollment.parquet",
        "student.csv",
    }
    assert all(t[6] and t[4] == t[5] for t in transfers), transfers  # every byte, complete


@pytest.mark.parametrize(
    "cipher", ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-ctr"]
)
def test_each_offered_cipher_downloads_intact(
    world: tuple[ServerThread, MemoryBackend, Path, Path], cipher: str
) -> None:
    # The fast paths (sshfast) batch the server's packets and leave out its ignore packets:
    # the OpenSSH client must still decrypt and authenticate every byte with each cipher.
    server, _backend, key, tmp = world
    down = tmp / "down"
    down.mkdir()
    (tmp / "batch").write_text(f"lcd {down}\nget *\nbye\n")
    result = _openssh_sftp(server, key, tmp, "-c", cipher)
    assert result.returncode == 0, result.stderr
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=down, check=True)


def test_a_download_across_many_rekeys_verifies(tmp_path: Path) -> None:
    # The data fast path (sshfast) keeps asyncssh's sequence numbers and rekey byte count:
    # with a rekey every 256 KiB, a 3 MiB file crosses a dozen key exchanges mid-transfer.
    store = tmp_path / "store"
    make_package(tmp_path, store, "pkg-mine")
    key, pub = client_key(tmp_path / "id_ed25519")
    backend = MemoryBackend(
        keys={USER: [pub]}, grants={USER: sftpd.Grant(USER, "DSA", "pkg-mine", store)}
    )
    with ServerThread(
        backend, tmp_path / "host_key", ssh_options={"rekey_bytes": 256 * 1024}
    ) as server:
        down = tmp_path / "down"
        down.mkdir()
        (tmp_path / "batch").write_text(f"lcd {down}\nget *\nbye\n")
        for cipher in ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"):
            result = _openssh_sftp(server, key, tmp_path, "-c", cipher)
            assert result.returncode == 0, result.stderr
            subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=down, check=True)


def test_cbc_ciphers_are_not_offered(world: tuple[ServerThread, MemoryBackend, Path, Path]) -> None:
    # Leaving out asyncssh's ignore packets is only sound without CBC (RFC 4251, 9.3.1).
    server, _backend, key, tmp = world
    (tmp / "batch").write_text("ls\nbye\n")
    result = _openssh_sftp(server, key, tmp, "-c", "aes128-cbc")
    assert result.returncode != 0
    assert "no matching cipher" in result.stderr


def test_real_connections_get_the_fast_paths(
    world: tuple[ServerThread, MemoryBackend, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _backend, key, tmp = world
    cut: list[int] = []
    take = sshfast.SendPieces.take

    def counted(self: sshfast.SendPieces, limit: int) -> list[memoryview]:
        cut.append(limit)
        return take(self, limit)

    monkeypatch.setattr(sshfast.SendPieces, "take", counted)
    client, sftp = _paramiko(server, key)
    try:
        assert "README.txt" in sftp.listdir(".")
        conns = list(server.server.sessions)
        assert conns and all(sshfast.is_tuned(c) for c in conns)  # not silently lost to an upgrade
        with sftp.open("enrollment.parquet") as fh:
            assert len(fh.read(200_000)) == 200_000
        assert cut  # READ replies took the fast path (sshfast.FastSFTPServerHandler)
    finally:
        client.close()
    # ... and so does OpenSSH's sftp, with what it checks
    cut.clear()
    down = tmp / "down"
    down.mkdir()
    (tmp / "batch").write_text(f"lcd {down}\nget *\nbye\n")
    result = _openssh_sftp(server, key, tmp)
    assert result.returncode == 0, result.stderr
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=down, check=True)
    assert len(cut) > 90  # 3 MiB in 32 KiB packets


def test_paramiko_download_with_prefetch_verifies(
    world: tuple[ServerThread, MemoryBackend, Path, Path],
) -> None:
    server, backend, key, tmp = world
    client, sftp = _paramiko(server, key)
    down = tmp / "pdown"
    down.mkdir()
    try:
        for name in sftp.listdir("."):
            sftp.get(name, str(down / name))  # paramiko prefetches the whole file by default
        # A resumed download: a read from the middle of the file decrypts only what it needs.
        with sftp.open("enrollment.parquet") as fh:
            fh.seek(2_000_000)
            middle = fh.read(70_000)
        assert middle == (down / "enrollment.parquet").read_bytes()[2_000_000:2_070_000]
    finally:
        client.close()
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=down, check=True)
    partial = [t for t in backend.of("transfer") if not t[6]]
    assert [(t[3], t[4]) for t in partial] == [("enrollment.parquet", 70_000)]


def test_what_waits_for_a_client_that_prefetches_and_does_not_read_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # paramiko asks for the whole 12 MiB file at once, then reads nothing: its 2 MiB window
    # fills and the rest of the replies wait in the server. A bare asyncssh server queued all
    # of them (a whole 1 GiB file under paramiko's default prefetch).
    store = tmp_path / "store"
    make_package(tmp_path, store, "pkg-big", big=12 << 20)
    key, pub = client_key(tmp_path / "id_ed25519")
    backend = MemoryBackend(keys={USER: [pub]}, grants={USER: sftpd.Grant(USER, "DSA-2025-0042", "pkg-big", store)})
    queued: list[int] = []
    read_views = sftpd._PackageSFTP.read_views

    async def watched(self: sftpd._PackageSFTP, file_obj: object, offset: int, size: int) -> list[memoryview]:
        views = await read_views(self, file_obj, offset, size)
        queued.append(self.channel.get_write_buffer_size())  # waiting for the client's window
        return views

    monkeypatch.setattr(sftpd._PackageSFTP, "read_views", watched)
    limit = 1 << 20
    with ServerThread(backend, tmp_path / "host_key", send_buffer_limit=limit) as server:
        client, sftp = _paramiko(server, key)
        try:
            with sftp.open("enrollment.parquet", "rb") as fh:
                fh.prefetch(12 << 20)
                time.sleep(3)  # not reading: the server's replies back up
                waiting = max(queued)
                got = b"".join(iter(lambda: fh.read(1 << 20), b""))
        finally:
            client.close()
    assert got == (tmp_path / "plain-pkg-big" / "enrollment.parquet").read_bytes()
    # Held back: at most the limit and the reply being answered (without the back-pressure,
    # every reply the window could not take, ~10 MiB, would wait in the server).
    assert limit // 2 < waiting <= limit + sftpd.MAX_READ + 64, waiting


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../pkg-other/data/README.txt", "path traversal"),
        ("/../../etc/passwd", "path traversal"),
        ("/etc/passwd", "no such file"),
        ("%2e%2e/%2e%2e/etc/passwd", "no such file"),
        ("..%2fpkg-other%2fdata%2fREADME.txt", "no such file"),
        ("/pkg-other/data/README.txt", "no such file"),
        ("evil", "no such file"),
        ("data/README.txt", "no such file"),
    ],
)
def test_paths_outside_the_package_are_refused_and_logged(
    world: tuple[ServerThread, MemoryBackend, Path, Path], path: str, reason: str
) -> None:
    server, backend, key, tmp = world
    # A symlink planted in the store, pointing outside it, is neither listed nor followed.
    (tmp / "store" / "pkg-mine" / "data" / "evil").symlink_to("/etc/passwd")
    client, sftp = _paramiko(server, key)
    try:
        assert "evil" not in sftp.listdir(".")
        with pytest.raises(OSError):
            sftp.open(path).read()
        with pytest.raises(OSError):
            sftp.stat(path)
    finally:
        client.close()
    refused = backend.of("refused")
    assert any(e[2] == "open" and e[3] == path and reason in e[4] for e in refused), refused


def test_every_write_is_refused_and_logged(
    world: tuple[ServerThread, MemoryBackend, Path, Path],
) -> None:
    server, backend, key, tmp = world
    (tmp / "upload.txt").write_text("x")
    client, sftp = _paramiko(server, key)
    try:
        for attempt in (
            lambda: sftp.put(str(tmp / "upload.txt"), "upload.txt"),
            lambda: sftp.open("README.txt", "r+"),
            lambda: sftp.open("README.txt", "a"),
            lambda: sftp.mkdir("new"),
            lambda: sftp.remove("README.txt"),
            lambda: sftp.rename("README.txt", "x.txt"),
            lambda: sftp.chmod("README.txt", 0o777),
            lambda: sftp.symlink("/etc/passwd", "link"),
        ):
            with pytest.raises(OSError):
                attempt()
        assert sorted(sftp.listdir(".")) == [
            "README.txt",
            "SHA256SUMS",
            "enrollment.parquet",
            "student.csv",
        ]
    finally:
        client.close()
    ops = {e[2] for e in backend.of("refused")}
    assert {"write", "mkdir", "remove", "rename", "setstat", "symlink"} <= ops
    assert not any(p.name == "upload.txt" for p in (tmp / "store").rglob("*"))


def test_wrong_key_is_refused_and_repeated_failures_lock_the_account(
    world: tuple[ServerThread, MemoryBackend, Path, Path],
) -> None:
    server, backend, key, tmp = world
    wrong, _pub = client_key(tmp / "id_wrong")
    for _ in range(backend.max_failures):
        with pytest.raises(paramiko.AuthenticationException):
            _paramiko(server, wrong)
    deadline = time.monotonic() + 10
    while len(backend.of("auth_failed")) < backend.max_failures and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backend.of("auth_failed")[0][1:] == (USER, "publickey", "no authorized key offered")
    # Locked: now even the right key is refused.
    with pytest.raises(paramiko.AuthenticationException):
        _paramiko(server, key)
    assert not backend.of("login")


def test_an_ended_grant_refuses_login_and_ends_open_sessions(
    world: tuple[ServerThread, MemoryBackend, Path, Path],
) -> None:
    server, backend, key, _tmp = world
    client, sftp = _paramiko(server, key)
    try:
        assert "README.txt" in sftp.listdir(".")
        del backend.grants[USER]  # the agreement ended, or the account was revoked
        time.sleep(0.5)  # past the grant TTL (0.3 s here, 30 s in production)
        with pytest.raises((OSError, EOFError, paramiko.SSHException)):
            sftp.open("README.txt").read()
    finally:
        client.close()
    assert any(e[2] == "session" and e[4] == "access has ended" for e in backend.of("refused"))
    with pytest.raises(paramiko.AuthenticationException):
        _paramiko(server, key)
    assert any(e[2] == "login" and e[4] == "no active agreement" for e in backend.of("refused"))


def test_password_and_totp_keyboard_interactive(
    world: tuple[ServerThread, MemoryBackend, Path, Path],
) -> None:
    server, backend, _key, _tmp = world
    backend.passwords[USER] = ("correct horse", "123456")

    def attempt(password: str, code: str) -> bool:
        transport = paramiko.Transport(("127.0.0.1", server.port))
        try:
            transport.connect()
            try:
                transport.auth_interactive(
                    USER, lambda _t, _i, prompts: [password, code][: len(prompts)]
                )
            except paramiko.AuthenticationException:
                return False
            sftp = paramiko.SFTPClient.from_transport(transport)
            assert sftp is not None
            return "README.txt" in sftp.listdir(".")
        finally:
            transport.close()

    assert not attempt("correct horse", "000000")
    assert attempt("correct horse", "123456")
    assert ("auth_failed", USER, "keyboard-interactive", "wrong password or code") in backend.events
    assert ("login", USER, "keyboard-interactive") in backend.events


def test_no_shell_or_command(world: tuple[ServerThread, MemoryBackend, Path, Path]) -> None:
    server, _backend, key, tmp = world
    result = subprocess.run(
        ["ssh", "-p", str(server.port), "-i", str(key), "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={server.known_hosts(tmp / 'known_hosts')}",
         "-o", "IdentitiesOnly=yes", f"{USER}@127.0.0.1", "cat /etc/passwd"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "root:" not in result.stdout


def test_host_key_is_generated_once(tmp_path: Path) -> None:
    first = sftpd.load_or_create_host_key(tmp_path / "k")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    again = sftpd.load_or_create_host_key(tmp_path / "k")
    assert sftpd.fingerprint(first) == sftpd.fingerprint(again)
    assert sftpd.fingerprint(first).startswith("SHA256:")


def test_the_sweep_closes_an_idle_session_whose_grant_ended(
    world: tuple[ServerThread, MemoryBackend, Path, Path],
) -> None:
    server, backend, key, _tmp = world
    client, sftp = _paramiko(server, key)
    try:
        assert "README.txt" in sftp.listdir(".")
        del backend.grants[USER]
        transport = client.get_transport()
        assert transport is not None
        deadline = time.monotonic() + 10
        # No request from the client: the server's sweep (every grant TTL) closes it.
        while transport.is_active() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not transport.is_active()
    finally:
        client.close()


_STOP_SCRIPT = """
import asyncio, os, signal, sys
from datashare.delivery import sftpd

server = sftpd.DeliveryServer(object(), master_key=bytes(32),
                              host_key=sftpd.load_or_create_host_key(sys.argv[1]), port=0)

async def main():
    serving = asyncio.ensure_future(sftpd.serve_until_signalled(server))
    while server.port == 0:
        await asyncio.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the terminal...
    await serving

asyncio.run(main())
os.kill(os.getpid(), signal.SIGTERM)  # ...then the supervisor's SIGTERM, after the loop closed
print("stopped cleanly")
"""


def test_ctrl_c_then_the_supervisors_sigterm_stop_the_server_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _STOP_SCRIPT, str(tmp_path / "host_key")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "stopped cleanly", "")
