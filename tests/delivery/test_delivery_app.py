"""The delivery app's story: a steward's account for an authorized user, the user adds a key
in the portal and downloads with OpenSSH sftp from the real server (accounts from the
database), stewards read the log and revoke; outsiders get 404, requestors 403."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from datashare.accounts.models import Role
from datashare.delivery import services
from datashare.delivery.backend import DjangoBackend
from datashare.delivery.models import AccountStatus, EventKind, SftpAccount, SftpEvent
from tests.factories import enable_totp, make_org, make_staff, make_user, totp_code

from .sftp_harness import ServerThread, client_key, make_package


@pytest.fixture
def store(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    settings.DELIVERY_STORE = tmp_path / "store"
    settings.SFTP_HOST_KEY_FILE = tmp_path / "host_key"
    make_package(tmp_path, settings.DELIVERY_STORE, "pkg-0042")
    return settings.DELIVERY_STORE


@pytest.fixture
def ana(db):  # type: ignore[no-untyped-def]
    return make_user("ana@university.example", organization=make_org())


@pytest.fixture
def account(ana, store) -> SftpAccount:  # type: ignore[no-untyped-def]
    steward, _ = make_staff("steward@agency.example")
    return services.create_account(actor=steward, user=ana, agreement_label="DSA-2025-0042",
                                   package_id="pkg-0042", expires_on=None)  # fmt: skip


def _login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_the_user_adds_a_key_in_the_portal_and_downloads_with_openssh(
    account: SftpAccount, ana, store: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    key, pub = client_key(tmp_path / "id_ed25519")
    client = _login(ana)
    page = client.get(reverse("delivery:mine"))
    assert page.status_code == 200 and account.username in page.content.decode()
    response = client.post(reverse("delivery:add_key", args=[account.public_id]), {"public_key": pub})
    assert response.status_code == 302
    assert account.keys.count() == 1

    with ServerThread(DjangoBackend(store), tmp_path / "host_key") as server:  # type: ignore[arg-type]
        down = tmp_path / "down"
        down.mkdir()
        (tmp_path / "batch").write_text(f"lcd {down}\nget *\nbye\n")
        result = subprocess.run(
            ["sftp", "-b", str(tmp_path / "batch"), "-P", str(server.port), "-i", str(key),
             "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={server.known_hosts(tmp_path / 'kh')}",
             "-o", "IdentitiesOnly=yes", f"{account.username}@127.0.0.1"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=down, check=True)

        # The fingerprint and the downloads are on the user's page.
        body = client.get(reverse("delivery:mine")).content.decode()
        assert server.host_key.get_fingerprint("sha256") in body
        assert "enrollment.parquet" in body
        # How to connect: host, port and the account in each client's own terms.
        from django.conf import settings

        assert f"sftp -P {settings.SFTP_PORT} -i ~/.ssh/id_ed25519 {account.username}@{settings.SFTP_PUBLIC_HOST}" in body
        assert "<h4>WinSCP</h4>" in body and "<h4>FileZilla</h4>" in body

        # A steward revokes: the next login is refused and logged.
        services.revoke_account(actor=None, account=account, reason="agreement terminated")
        again = subprocess.run(
            ["sftp", "-b", str(tmp_path / "batch"), "-P", str(server.port), "-i", str(key),
             "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={tmp_path / 'kh'}",
             "-o", "IdentitiesOnly=yes", f"{account.username}@127.0.0.1"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert again.returncode != 0
    kinds = set(SftpEvent.objects.values_list("kind", flat=True))
    assert {EventKind.LOGIN, EventKind.TRANSFER} <= kinds
    transfers = SftpEvent.objects.filter(kind=EventKind.TRANSFER)
    assert transfers.count() == 4 and all(t.complete for t in transfers)


@pytest.mark.django_db(transaction=True)
def test_a_wrong_key_an_expired_a_revoked_and_a_locked_account_are_refused_and_logged(
    account: SftpAccount, store: Path, tmp_path: Path
) -> None:
    import datetime as dt
    import time

    import paramiko
    from django.utils import timezone

    key, pub = client_key(tmp_path / "id_ed25519")
    wrong, _ = client_key(tmp_path / "id_wrong")
    services.add_key(actor=account.user, account=account, public_key=pub)

    def attempt(server: ServerThread, with_key: Path) -> bool:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.load_host_keys(str(server.known_hosts(tmp_path / "known_hosts")))
        try:
            client.connect("127.0.0.1", port=server.port, username=account.username, key_filename=str(with_key),
                           look_for_keys=False, allow_agent=False, timeout=20)  # fmt: skip
            return "README.txt" in client.open_sftp().listdir(".")
        except paramiko.AuthenticationException:
            return False
        finally:
            client.close()

    def events() -> list[tuple[str, str, str]]:
        return [(e.kind, e.operation, e.reason) for e in SftpEvent.objects.filter(account=account).order_by("pk")]

    def settle(count: int) -> None:  # the server logs from its own threads
        deadline = time.monotonic() + 10
        while len(events()) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    with ServerThread(DjangoBackend(store), tmp_path / "host_key") as server:  # type: ignore[arg-type]
        assert not attempt(server, wrong)
        settle(1)
        assert events()[-1] == (EventKind.AUTH_FAILED, "", "no authorized key offered")
        SftpAccount.objects.filter(pk=account.pk).update(expires_on=dt.date(2020, 1, 1))  # the agreement's end passed
        assert not attempt(server, key)
        settle(2)
        assert events()[-1] == (EventKind.REFUSED, "login", "no active agreement")
        SftpAccount.objects.filter(pk=account.pk).update(expires_on=None)
        assert attempt(server, key)
        settle(3)
        services.revoke_account(actor=None, account=account, reason="agreement terminated")
        assert not attempt(server, key)
        settle(4)
        # A revoked user's own key is refused for the account's state, not counted as a wrong key.
        assert events()[-1] == (EventKind.REFUSED, "login", "no active agreement")
        SftpAccount.objects.filter(pk=account.pk).update(status=AccountStatus.ACTIVE, revoked_at=None,
                                                         locked_until=timezone.now() + services.LOCKOUT)  # fmt: skip
        assert not attempt(server, key)
        settle(5)
        assert events()[-1] == (EventKind.REFUSED, "login", "account locked")
    kinds = [k for k, _o, _r in events()]
    assert kinds.count(EventKind.LOGIN) == 1
    assert kinds.count(EventKind.AUTH_FAILED) == 1  # only the wrong key counts towards a lockout


def test_lockout_after_repeated_failures(account: SftpAccount) -> None:
    backend = DjangoBackend(Path("/nonexistent"))
    for _ in range(services.MAX_FAILURES):
        assert not backend.locked(account.username)
        backend.auth_failed(account.username, "publickey", "127.0.0.1", "no authorized key offered")
    assert backend.locked(account.username)
    assert SftpEvent.objects.filter(kind=EventKind.AUTH_FAILED).count() == services.MAX_FAILURES


def test_grant_ends_with_revocation_expiry_or_an_inactive_user(account: SftpAccount, ana) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    backend = DjangoBackend(Path("/store"))
    assert backend.grant(account.username) is not None
    SftpAccount.objects.filter(pk=account.pk).update(expires_on=dt.date(2020, 1, 1))
    assert backend.grant(account.username) is None
    SftpAccount.objects.filter(pk=account.pk).update(expires_on=None)
    assert services.revoke_for_agreement(actor=None, agreement_label="DSA-2025-0042", reason="ended") == 1
    assert backend.grant(account.username) is None
    assert SftpAccount.objects.get(pk=account.pk).status == AccountStatus.REVOKED


def test_password_and_totp_uses_the_portal_password_and_authenticator(account: SftpAccount, ana) -> None:  # type: ignore[no-untyped-def]
    ana.set_password("a long portal password")
    ana.save()
    secret = enable_totp(ana)
    backend = DjangoBackend(Path("/store"))
    assert not backend.has_password_totp(account.username)  # optional: off until allowed
    SftpAccount.objects.filter(pk=account.pk).update(allow_password_totp=True)
    assert backend.has_password_totp(account.username)
    assert not backend.check_password_totp(account.username, "wrong", totp_code(secret))
    assert backend.check_password_totp(account.username, "a long portal password", totp_code(secret))


def test_bad_keys_are_form_errors_not_500s(account: SftpAccount, ana) -> None:  # type: ignore[no-untyped-def]
    client = _login(ana)
    url = reverse("delivery:add_key", args=[account.public_id])
    for bad, message in [
        ("", "This field is required"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "never a private key"),
        ("ssh-dss AAAAB3NzaC1kc3M= old", "Ed25519, ECDSA or RSA"),
        ("ssh-ed25519 notbase64!!", "not a valid OpenSSH public key"),
    ]:
        response = client.post(url, {"public_key": bad})
        assert response.status_code == 400 and message in response.content.decode(), bad
    assert account.keys.count() == 0


def test_an_outsider_gets_404_for_another_users_account(account: SftpAccount, tmp_path: Path) -> None:
    _key, pub = client_key(tmp_path / "k")
    outsider = make_user("eve@elsewhere.example", organization=make_org("Elsewhere College"))
    client = _login(outsider)
    assert client.post(reverse("delivery:add_key", args=[account.public_id]), {"public_key": pub}).status_code == 404
    assert account.username not in client.get(reverse("delivery:mine")).content.decode()
    assert account.keys.count() == 0


def test_requestors_get_403_for_steward_pages_and_actions(account: SftpAccount, ana) -> None:  # type: ignore[no-untyped-def]
    client = _login(ana)
    assert client.get(reverse("delivery:staff_log")).status_code == 403
    assert client.post(reverse("delivery:revoke", args=[account.public_id])).status_code == 403
    assert SftpAccount.objects.get(pk=account.pk).status == AccountStatus.ACTIVE
    anonymous = Client()
    assert anonymous.get(reverse("delivery:mine")).status_code == 302


def test_a_steward_reads_the_log_and_revokes(account: SftpAccount) -> None:
    steward, _secret = make_staff("second@agency.example", Role.DATA_STEWARD)
    client = Client()
    client.force_login(steward)
    DjangoBackend(Path("/s")).refused(account.username, "open", "../etc/passwd", "path traversal ('..')")
    page = client.get(reverse("delivery:staff_log"))
    assert page.status_code == 200, page.status_code
    assert "path traversal" in page.content.decode()
    client.post(reverse("delivery:revoke", args=[account.public_id]), {"reason": "left the project"})
    assert SftpAccount.objects.get(pk=account.pk).revoke_reason == "left the project"


def test_a_steward_cannot_unlock_their_own_account(store: Path, db: None) -> None:
    steward, _ = make_staff("third@agency.example", Role.DATA_STEWARD)
    own = services.create_account(actor=None, user=steward, agreement_label="DSA-1", package_id="pkg-0042", expires_on=None)
    client = Client()
    client.force_login(steward)
    response = client.post(reverse("delivery:unlock", args=[own.public_id]))
    assert response.status_code == 403

