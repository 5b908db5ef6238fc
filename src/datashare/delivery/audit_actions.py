"""The delivery app's audit actions."""

from __future__ import annotations

from datashare.audit.registry import register

ACCOUNT_CREATED = register("sftp_account.created", "SFTP account created")
ACCOUNT_REVOKED = register("sftp_account.revoked", "SFTP account revoked")
ACCOUNT_UNLOCKED = register("sftp_account.unlocked", "SFTP account unlocked")
KEY_ADDED = register("sftp_key.added", "SFTP public key added")
KEY_REMOVED = register("sftp_key.removed", "SFTP public key removed")
JOB_QUEUED = register("extract_job.queued", "Extract queued")
JOB_READY = register("extract_job.ready", "Extract ready for review")
JOB_FAILED = register("extract_job.failed", "Extract failed")
JOB_RELEASED = register("extract_job.released", "Extract released for download")
JOB_REJECTED = register("extract_job.rejected", "Extract rejected (package erased)")
JOB_RECUT = register("extract_job.recut", "Extract re-cut with coarsening (package erased, a new cut queued)")
