"""Django settings, all from the environment (see README: production configuration)."""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from datashare.env import env_bool, env_int, env_list, env_secret, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
# Everything the running system writes (SQLite db, attachments, extracts, SFTP root, keys)
# lives under DATA_DIR, outside the web root and outside the package.
DATA_DIR = Path(env_str("DATASHARE_DATA_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
# Demo mode: `make run` on 127.0.0.1 over plain HTTP with a generated secret key. Never in
# production: it switches off HTTPS-only cookies and redirects.
DEMO = env_bool("DATASHARE_DEMO", False)
SITE_NAME = env_str("SITE_NAME", "Student Data Sharing")
AGENCY_NAME = env_str("AGENCY_NAME", "Office of the State Superintendent (demo)")
# Where requestors write with questions (the Contact page); blank hides the address.
CONTACT_EMAIL = env_str("CONTACT_EMAIL", "student.information@agency.example" if (DEBUG or DEMO) else "")
# The portal's public address, for links in emails (no trailing slash).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000" if (DEBUG or DEMO) else None).rstrip("/")


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        if len(key) < 32 and not (DEBUG or DEMO):
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters")
        return key
    if not (DEBUG or DEMO):
        raise ImproperlyConfigured("SECRET_KEY or SECRET_KEY_FILE must be set")
    # Demo/development only: a random key kept under DATA_DIR so sessions survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _audit_hmac_key() -> str:
    """The key of the audit chain's HMAC (``datashare.audit.chain``): without it, a rewrite of the
    log that recomputes every later hash cannot be told from the real log. Keep it away from the
    database's administrators (a secrets manager, a file only the app user reads)."""
    key = env_secret("AUDIT_HMAC_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("AUDIT_HMAC_KEY must be at least 32 characters")
        return key
    if not (DEBUG or DEMO):
        raise ImproperlyConfigured("AUDIT_HMAC_KEY or AUDIT_HMAC_KEY_FILE must be set")
    # Demo/development only: a random key kept under DATA_DIR (`make run` makes it once).
    path = DATA_DIR / "audit_hmac_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


AUDIT_HMAC_KEY = _audit_hmac_key()
# Rows #1..#N written before the chain was keyed (plain SHA-256) that verify still accepts; 0 for
# a log keyed from its first row. Set outside the database on purpose: see docs/architecture.md.
AUDIT_UNKEYED_UP_TO = env_int("AUDIT_UNKEYED_UP_TO", 0)
# Where the scheduler writes the signed chain head (copy it off this host: see the docs).
AUDIT_HEAD_DIR = Path(env_str("AUDIT_HEAD_DIR", str(DATA_DIR / "audit"))).resolve()
AUDIT_HEAD_EXPORT_MINUTES = env_int("AUDIT_HEAD_EXPORT_MINUTES", 15)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if (DEBUG or DEMO) else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    # Only for its bundled Swagger UI files at /api/v1/docs (no CDN).
    "ninja",
    "datashare.core",
    "datashare.accounts",
    "datashare.audit",
    "datashare.web",
    "datashare.catalog",
    "datashare.intake",
    "datashare.agreements",
    "datashare.results",
    "datashare.retention",
    "datashare.delivery",
    "datashare.portal",
]

OIDC_ENABLED = env_bool("OIDC_ENABLED", False)
if OIDC_ENABLED:
    INSTALLED_APPS.append("allauth.socialaccount.providers.openid_connect")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "datashare.web.middleware.HealthzMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "datashare.audit.context.AuditContextMiddleware",
    "datashare.accounts.middleware.StaffMFAMiddleware",
    # After WhiteNoise (static files keep their long cache), before the views' answers leave.
    "datashare.web.middleware.NoStoreMiddleware",
    "datashare.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "datashare.urls"
WSGI_APPLICATION = "datashare.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "datashare.web.context.site",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'datashare.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate-limit counters (allauth) must be shared by every web process and host, so the cache is
# the database (table created by web migration 0002), not per-process memory.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "datashare_cache"}
}
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# --- allauth: sign-in by email, mandatory verification, MFA ---
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "datashare.accounts.forms.SignupDetailsForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# No "remember me": every session ends when the browser closes (and after SESSION_COOKIE_AGE).
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if (DEBUG or DEMO) else "https"
# Failed sign-ins (passwords, and TOTP codes: allauth's MFA step counts under login_failed
# with the account as key) are limited per account and, more loosely, per client address: one
# person's five wrong codes lock out only their own account, never a colleague on the same
# network, while a spray across many accounts from one address still stops at 30.
ACCOUNT_RATE_LIMITS = {"login_failed": env_str("LOGIN_FAILED_RATE_LIMIT", "30/5m/ip,5/5m/key")}
# The client address behind the agency's own reverse proxies (see audit.context.client_ip):
# how many proxies append to X-Forwarded-For, or the header one trusted proxy sets. Leave both
# unset when clients connect directly, or X-Forwarded-For could be forged to dodge the limits.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
TRUSTED_CLIENT_IP_HEADER = env_str("TRUSTED_CLIENT_IP_HEADER", "")
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = TRUSTED_CLIENT_IP_HEADER or None
ACCOUNT_ADAPTER = "datashare.accounts.adapter.AccountAdapter"
LOGIN_REDIRECT_URL = "web:home"
LOGIN_URL = "account_login"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG or DEMO
MFA_TOTP_ISSUER = SITE_NAME
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_PROVIDERS: dict[str, object] = {}
if OIDC_ENABLED:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env_str("OIDC_PROVIDER_ID", "agency"),
                "name": env_str("OIDC_PROVIDER_NAME", "Agency sign-in"),
                "client_id": env_str("OIDC_CLIENT_ID"),
                "secret": env_secret("OIDC_CLIENT_SECRET") or "",
                "settings": {"server_url": env_str("OIDC_SERVER_URL")},
            }
        ]
    }

# --- sessions and cookies ---
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
_HTTPS = not (DEBUG or DEMO)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
# Load balancers probe over plain HTTP on the private side; the answer holds no data.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = _HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "datashare.web.views.csrf_failure"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy (django-csp 4): nothing inline, nothing third-party ---
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- email ---
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if (DEBUG or DEMO)
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "datashare@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- background tasks (Django's tasks API backport, database queue) ---
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        # datashare.core.queues: "default" (short work) and "long" (extracts, publishing).
        "QUEUES": ["default", "long"],
    }
}
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 120)

# --- static and uploaded files ---
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "private"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploaded files are never served from a URL of their own: views check permissions and stream.
MEDIA_ROOT = DATA_DIR / "private"
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# An attachment past the size limit is dropped as it arrives, not written to disk first.
FILE_UPLOAD_HANDLERS = [
    "datashare.intake.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- agreements: the seal on executed agreements (PAdES) ---
# The demo (`datashare demo`) makes a throwaway CA and signing certificate at these defaults;
# production points them at the agency's key and certificate (and the CA that issued it).
AGREEMENT_SIGNING_KEY_FILE = Path(env_str("AGREEMENT_SIGNING_KEY_FILE", str(DATA_DIR / "pki" / "signing-key.pem")))
AGREEMENT_SIGNING_CERT_FILE = Path(env_str("AGREEMENT_SIGNING_CERT_FILE", str(DATA_DIR / "pki" / "signing.pem")))
AGREEMENT_CA_CERT_FILE = Path(env_str("AGREEMENT_CA_CERT_FILE", str(DATA_DIR / "pki" / "ca.pem")))
AGREEMENT_TSA_URL = env_str("AGREEMENT_TSA_URL", "")
# An external e-signature service instead of the built-in signer (see agreements/esign.py); empty: built-in.
AGREEMENT_ESIGN_ADAPTER = env_str("AGREEMENT_ESIGN_ADAPTER", "")
# A signer who has not signed is reminded after this many business days (and again after as many).
AGREEMENT_REMINDER_BUSINESS_DAYS = env_int("AGREEMENT_REMINDER_BUSINESS_DAYS", 3)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/Los_Angeles")
USE_I18N = True
USE_TZ = True

# Nothing sensitive in logs: request bodies and emails are never logged; errors go to stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.security.DisallowedHost": {"level": "ERROR"}},
}

# Retention (record of disclosures, destruction, public register, results review).
# 34 CFR 99.32(a)(2): the record is kept as long as the education records; the agency sets how long.
DISCLOSURE_RECORD_RETENTION_YEARS = env_int("DISCLOSURE_RECORD_RETENTION_YEARS", 10)
# Share results (step 5): the agency reviews a product within this many days of its latest version.
RESULTS_REVIEW_DAYS = env_int("RESULTS_REVIEW_DAYS", 30)

# Delivery (SFTP): where sealed packages live (encrypted, datashare.extract.vault), the agency-only
# crosswalks (never under the store), the master key that wraps each package's data key, and the
# SFTP server `datashare run` starts (SFTP_ENABLED=0 to run it elsewhere).
DELIVERY_STORE = Path(env_str("DELIVERY_STORE", str(DATA_DIR / "delivery"))).resolve()
AGENCY_PRIVATE_DIR = Path(env_str("AGENCY_PRIVATE_DIR", str(DATA_DIR / "agency"))).resolve()
MASTER_KEY_FILE = Path(env_str("DATASHARE_MASTER_KEY_FILE", str(DATA_DIR / "master.key")))
SFTP_ENABLED = env_bool("SFTP_ENABLED", True)
SFTP_HOST = env_str("SFTP_HOST", "127.0.0.1")
SFTP_PORT = env_int("SFTP_PORT", 2222)
SFTP_PUBLIC_HOST = env_str("SFTP_PUBLIC_HOST", SFTP_HOST)  # the name researchers connect to
SFTP_HOST_KEY_FILE = Path(env_str("SFTP_HOST_KEY_FILE", str(DATA_DIR / "sftp_host_ed25519")))
# Extract jobs: the statewide source (one Parquet file per table; `datashare synth` makes one),
# the agency's crosswalk key, and the formats cut besides Parquet and CSV.
EXTRACT_SOURCE_DIR = Path(env_str("EXTRACT_SOURCE_DIR", str(DATA_DIR / "source"))).resolve()
CROSSWALK_KEY_FILE = Path(env_str("CROSSWALK_KEY_FILE", str(AGENCY_PRIVATE_DIR / "crosswalk.key")))
EXTRACT_FORMATS = env_list("EXTRACT_FORMATS", ["parquet", "csv", "dta", "sav"])
# The public register of agreements (organization, purpose, categories of data, term, destruction).
PUBLIC_REGISTER_ENABLED = env_bool("PUBLIC_REGISTER_ENABLED", True)
