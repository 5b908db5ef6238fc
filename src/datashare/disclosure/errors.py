"""The engine's exceptions: ``DisclosureError`` for bad input (the CLI turns it into exit 2),
``SolverGuardError`` when a solve hangs (the run stops; nothing is published)."""

from __future__ import annotations


class DisclosureError(ValueError):
    """Input the engine refuses: an inconsistent table, a bad spec, an unknown policy."""


class SolverGuardError(RuntimeError):
    """A solver ran past its wall-clock guard (``lp.GUARD_SECONDS``). Not bad input, and not a
    verdict: giving up on the solve instead would make the pattern (or the audit's verdict)
    depend on the machine's load, so the run stops and publishes nothing."""
