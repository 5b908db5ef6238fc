"""The one error the scanner raises for a file it cannot (or will not) read."""

from __future__ import annotations


class ScanError(ValueError):
    """A file that is corrupt, of the wrong type or past a size limit: one plain sentence."""
