"""Moved to ``datashare.core.notifications``; kept as an alias for existing imports."""

from datashare.core.notifications import send_notification  # noqa: F401
