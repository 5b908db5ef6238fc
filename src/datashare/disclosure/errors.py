"""The one exception the engine raises for bad input (the CLI turns it into exit 2)."""

from __future__ import annotations


class DisclosureError(ValueError):
    """Input the engine refuses: an inconsistent table, a bad spec, an unknown policy."""
