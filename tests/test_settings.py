"""Settings come from the environment; bad values stop start-up naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PRODUCTION_ENV = {
    "SECRET_KEY": "a-production-like-secret-key-that-is-long-enough-0123456789",
    "AUDIT_HMAC_KEY": "a-production-like-audit-key-that-is-long-enough-9876543210",
    "ALLOWED_HOSTS": "data.agency.example",
    "SITE_URL": "https://data.agency.example",
    "DEBUG": "0",
}
OIDC_ENV = {
    **PRODUCTION_ENV,
    "OIDC_ENABLED": "1",
    "OIDC_CLIENT_ID": "datashare",
    "OIDC_CLIENT_SECRET": "not-a-real-secret",
    "OIDC_SERVER_URL": "https://login.agency.example/realms/staff",
}


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "DATASHARE_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "datashare.cli", *args], capture_output=True, text=True, env={**base, **env}, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_passes_with_oidc_switched_on(tmp_path: Path) -> None:
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], OIDC_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"SITE_URL": None}, "SITE_URL"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE"),
        ({"AUDIT_HMAC_KEY": None}, "AUDIT_HMAC_KEY"),
        ({"AUDIT_HMAC_KEY": "short"}, "AUDIT_HMAC_KEY"),
        ({"OIDC_ENABLED": "1"}, "OIDC_CLIENT_ID"),
    ],
)
def test_an_invalid_setting_stops_start_up_naming_the_variable(
    change: dict[str, str | None], named: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in {**PRODUCTION_ENV, **change}.items() if v is not None}
    if "SECRET_KEY_FILE" in change:
        env.pop("SECRET_KEY")
    result = _run(["check"], env, tmp_path)
    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_a_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(PRODUCTION_ENV["SECRET_KEY"] + "\n")
    env = {**PRODUCTION_ENV, "SECRET_KEY_FILE": str(key_file)}
    env.pop("SECRET_KEY")
    result = _run(["check"], env, tmp_path)
    assert result.returncode == 0, result.stderr


def test_production_settings_hash_passwords_with_argon2_and_expire_sessions() -> None:
    code = (
        "from datashare import settings as s\n"
        "assert s.PASSWORD_HASHERS[0].endswith('Argon2PasswordHasher'), s.PASSWORD_HASHERS\n"
        "assert s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE and s.SECURE_SSL_REDIRECT\n"
        "assert s.SECURE_HSTS_SECONDS >= 31536000\n"
        "assert s.SESSION_COOKIE_AGE <= 8 * 3600 and s.SESSION_EXPIRE_AT_BROWSER_CLOSE\n"
        "assert s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'] == [\"'self'\"]\n"
    )
    env = {"PATH": os.environ["PATH"], **PRODUCTION_ENV}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_with_oidc_switched_on_the_sign_in_page_offers_the_agency_provider(tmp_path: Path) -> None:
    env = {**OIDC_ENV, "ALLOWED_HOSTS": "testserver", "OIDC_PROVIDER_NAME": "Agency staff sign-in"}
    assert _run(["migrate", "-v", "0"], env, tmp_path).returncode == 0
    code = (
        "import django; django.setup()\n"
        "from django.test import Client, override_settings\n"
        "plain = {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}\n"
        "from django.conf import settings\n"
        "with override_settings(STORAGES={**settings.STORAGES, 'staticfiles': plain}):\n"
        "    body = Client().get('/accounts/login/', secure=True).content.decode()\n"
        "assert 'Agency staff sign-in' in body, body\n"
        "assert '/accounts/oidc/agency/login/' in body, body\n"
    )
    base = {"PATH": os.environ["PATH"], "DATASHARE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "datashare.settings"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**base, **env}, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
