"""SFTP delivery accounts, their public keys and the log of every login, refusal and file read.

An account belongs to one authorized user and serves one sealed package
(``datashare.extract.vault``) of one agreement. State changes only through
``datashare.delivery.services``; the SFTP server writes the log through ``backend.py``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class SftpAccount(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sftp_accounts")
    username = models.SlugField(max_length=64, unique=True)
    # The agreement it serves (its number/label), and that agreement's sealed package.
    agreement_label = models.CharField(max_length=40)
    package_id = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    # Access ends at the end of this day (the agreement's end), or when revoked, whichever first.
    expires_on = models.DateField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)
    # Optional second way in: the portal password plus the user's TOTP code (keyboard-interactive).
    allow_password_totp = models.BooleanField(default=False)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.username} ({self.agreement_label})"


class SftpKey(models.Model):
    account = models.ForeignKey(SftpAccount, on_delete=models.CASCADE, related_name="keys")
    public_key = models.TextField()  # one OpenSSH line: "ssh-ed25519 AAAA... comment"
    fingerprint = models.CharField(max_length=100)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["account", "fingerprint"], name="unique_sftp_key_per_account")]

    def __str__(self) -> str:
        return self.fingerprint


class EventKind(models.TextChoices):
    LOGIN = "login", "Login"
    AUTH_FAILED = "auth_failed", "Failed login"
    REFUSED = "refused", "Refused"
    TRANSFER = "transfer", "File read"


class SftpEvent(models.Model):
    """Who did what on the SFTP server. Append-only; shown to stewards (and to the account's
    own user, for their downloads). Never holds file content or credentials."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    account = models.ForeignKey(SftpAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    username = models.CharField(max_length=100)  # as given by the client, even if unknown
    peer = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=30, blank=True)
    operation = models.CharField(max_length=30, blank=True)
    path = models.CharField(max_length=300, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    package_id = models.CharField(max_length=80, blank=True)
    bytes_sent = models.BigIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    complete = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.username}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Cutting the extract"
    REVIEW = "review", "Ready for the steward's review"
    RELEASED = "released", "Released: downloadable"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected by the steward (package erased)"
    RECUT = "recut", "Re-cut with coarsening by the steward (package erased)"


FORMAT_NAMES = {
    "parquet": "Parquet", "csv": "CSV", "dta": "Stata (.dta)", "sav": "SPSS (.sav)", "xpt": "SAS transport (.xpt)",
}  # fmt: skip


class ExtractJob(models.Model):
    """One cut of an executed agreement's extract: queued when the agreement is executed, run
    by the long worker, reviewed (risk report) and released by a steward."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agreement = models.ForeignKey("agreements.Agreement", on_delete=models.PROTECT, related_name="extract_jobs")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    formats = models.JSONField(default=list)
    spec = models.JSONField(default=dict)  # the extract spec built from Exhibit A
    # A re-cut: the risk report's coarsenings applied to the delivered values, and the job
    # whose review chose it.
    coarsened = models.BooleanField(default=False)
    recut_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    package_id = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A running job whose lease passed was abandoned (worker killed): a retry may claim it.
    lease_until = models.DateTimeField(null=True, blank=True)
    progress = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=500, blank=True)
    risk_report = models.JSONField(default=dict, blank=True)
    files = models.JSONField(default=dict, blank=True)  # name -> {"bytes", "sha256"}
    rows = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    risk_acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Extract {self.public_id} ({self.get_status_display()})"

    @property
    def format_names(self) -> list[str]:
        """The package's formats as people name them: 'Parquet', 'CSV', 'Stata (.dta)'."""
        return [FORMAT_NAMES.get(f, f) for f in self.formats]

    @property
    def exceeds_threshold(self) -> bool:
        return bool(self.risk_report.get("exceeds_threshold"))
