"""The time every deadline, sweep and scheduled job reads: ``clock.now()``, controllable in tests.

New code that decides "is this due?" calls ``datashare.core.clock.now()`` instead of
``timezone.now()``, so a test can stand at any moment and step through time:

    with frozen_clock(datetime(2026, 7, 1, 9, tzinfo=UTC)) as clock:
        run_due()                      # runs what is due at 09:00
        clock.advance(timedelta(days=31))
        run_due()                      # a month later

(``tests/conftest.py`` offers the same as the ``frozen_clock`` fixture.) The frozen moment is
process-wide, not per thread, so worker threads in a test see it too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_lock = threading.Lock()
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time (aware, UTC), or the frozen moment inside ``frozen_clock``."""
    frozen = _frozen
    return frozen if frozen is not None else timezone.now()


class FrozenClock:
    """The handle ``frozen_clock`` yields: move the frozen moment."""

    def set(self, moment: dt.datetime) -> None:
        if timezone.is_naive(moment):
            raise ValueError("the clock needs an aware datetime")
        global _frozen
        with _lock:
            _frozen = moment

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        global _frozen
        with _lock:
            if _frozen is None:
                raise RuntimeError("the clock is not frozen")
            _frozen = _frozen + delta
            return _frozen

    def now(self) -> dt.datetime:
        return now()


@contextmanager
def frozen_clock(at: dt.datetime | None = None) -> Iterator[FrozenClock]:
    """Freeze ``clock.now()`` at ``at`` (default: the real now) until the block ends."""
    global _frozen
    previous = _frozen
    handle = FrozenClock()
    handle.set(at if at is not None else timezone.now())
    try:
        yield handle
    finally:
        with _lock:
            _frozen = previous
