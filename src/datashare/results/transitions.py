"""The allowed moves of a results submission (read by every service in ``services.py``)."""

from __future__ import annotations

from datashare.core.transitions import TransitionTable
from datashare.results.models import ResultsStatus as S

RESULTS: TransitionTable[str, str] = TransitionTable(
    "results",
    {
        "request_changes": ({S.IN_REVIEW}, S.CHANGES_REQUESTED),
        "clear": ({S.IN_REVIEW}, S.CLEARED),
        "add_version": ({S.IN_REVIEW, S.CHANGES_REQUESTED}, S.IN_REVIEW),
        "withdraw": ({S.IN_REVIEW, S.CHANGES_REQUESTED}, S.WITHDRAWN),
    },
)
# A comment changes no status; it is allowed while the review is open.
OPEN = frozenset({S.IN_REVIEW, S.CHANGES_REQUESTED})
