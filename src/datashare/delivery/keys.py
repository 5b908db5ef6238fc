"""The master key that wraps every package's data key, and the SFTP host key's fingerprint.

Production: ``DATASHARE_MASTER_KEY`` (64 hex digits) or ``DATASHARE_MASTER_KEY_FILE``. Demo and
development only: a key is created once under ``DATA_DIR`` (mode 0600) so ``make run`` works.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import asyncssh
from django.conf import settings

from datashare.extract import keys as extract_keys
from datashare.extract import vault


def master_key() -> bytes:
    if os.environ.get(vault.MASTER_KEY_ENV):
        return vault.read_master_key()
    path = Path(settings.MASTER_KEY_FILE)
    if not path.exists() and (settings.DEBUG or settings.DEMO):
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(extract_keys.ExtractError):  # another process made it first
            extract_keys.new_key(path)
    return vault.read_master_key(path)


def host_key_fingerprint() -> str:
    """The SFTP host key's SHA256 fingerprint, or '' before the server first started."""
    path = Path(f"{settings.SFTP_HOST_KEY_FILE}.pub")
    try:
        return str(asyncssh.read_public_key(str(path)).get_fingerprint("sha256"))
    except (OSError, asyncssh.KeyImportError):
        return ""
