"""Test settings: production settings, with the environment a test run needs set first.

pytest-django imports settings before any conftest runs, so the defaults live here.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("AUDIT_HMAC_KEY", "test-audit-hmac-key-not-for-production-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SITE_URL", "http://testserver")
# Tasks run in-process as soon as they are enqueued (notifications enqueue on commit, so in a
# plain django_db test use django_capture_on_commit_callbacks(execute=True) to see the email).
# tests/test_tasks.py runs the real database queue and worker.
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
os.environ.setdefault("DATASHARE_DATA_DIR", tempfile.mkdtemp(prefix="datashare-test-"))
os.environ["DEBUG"] = "0"
os.environ.pop("DATASHARE_DEMO", None)

from datashare.settings import *  # noqa: F403
from datashare.settings import STORAGES

# The manifest storage needs collectstatic; tests render templates without it.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Fast hashing in tests only; production uses Argon2 (asserted in test_settings).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
from datashare.settings import STATIC_ROOT  # noqa: E402

# WhiteNoise warns on every request when STATIC_ROOT is missing; tests never collectstatic.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# One process holds the whole test run (live server included); tests/test_pages.py checks the
# database cache production uses.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
