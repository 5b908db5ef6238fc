"""Reads for the delivery pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from datashare.delivery import keys


def connection_details() -> dict[str, Any]:
    return {
        "sftp_host": settings.SFTP_PUBLIC_HOST,
        "sftp_port": settings.SFTP_PORT,
        "sftp_fingerprint": keys.host_key_fingerprint(),
    }
