"""The extract engine's one error type: bad input, reported as one line with exit status 2."""

from __future__ import annotations

from datashare.cliutil import UsageError


class ExtractError(UsageError):
    """A spec, source, key or crosswalk the engine refuses; the message is one clear line."""
