"""A visible table of allowed moves for any status field, read by every service of an app.

    AGREEMENT = TransitionTable(
        "agreement",
        {
            "sign": ({Status.SENT}, Status.SIGNED),
            "expire": ({Status.SENT, Status.SIGNED}, Status.EXPIRED),
        },
    )
    to = AGREEMENT.check("sign", agreement.status)  # raises TransitionNotAllowed (409)

The table is data, so docs and tests can print it (``rows()``) and a page can offer only the
actions ``allowed(status)`` lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from datashare.core.errors import TransitionNotAllowed

A = TypeVar("A", bound=str)
S = TypeVar("S", bound=str)


def _words(value: str) -> str:
    return str(value).replace("_", " ")


class TransitionTable(Generic[A, S]):
    """``action -> (states it may start from, state it leads to)``."""

    def __init__(self, name: str, moves: Mapping[A, tuple[Iterable[S], S]]) -> None:
        self.name = name
        self._moves: dict[A, tuple[frozenset[S], S]] = {
            action: (frozenset(sources), to) for action, (sources, to) in moves.items()
        }

    def target(self, action: A, current: str) -> S | None:
        """The state ``action`` leads to from ``current``, or None if it is not allowed."""
        sources, to = self._moves[action]
        return to if current in sources else None

    def allowed(self, current: str) -> list[A]:
        """The actions open from ``current``, in the table's order."""
        return [action for action, (sources, _) in self._moves.items() if current in sources]

    def check(self, action: A, current: str) -> S:
        """The target state, or ``TransitionNotAllowed`` (code ``<name>.not_allowed``, HTTP 409)."""
        to = self.target(action, current)
        if to is None:
            raise TransitionNotAllowed(
                f"{self.name}.not_allowed",
                f"cannot {_words(action)}: the {_words(self.name)} is {_words(current)}",
            )
        return to

    def rows(self) -> list[tuple[A, frozenset[S], S]]:
        return [(action, sources, to) for action, (sources, to) in self._moves.items()]

    def __contains__(self, action: object) -> bool:
        return action in self._moves
