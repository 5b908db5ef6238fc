"""Shared helpers for the engines' command lines (Django-free).

Bad input is reported as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from types import FrameType


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=f"datashare {prog}", description=description)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` and ``except
    BaseException`` cleanup runs (Python's default for SIGTERM is to die on the spot, which
    left an extract's temporary package and work folders behind)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM must not interrupt the cleanup the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


def run_guarded(body: Callable[[], int]) -> int:
    """Run a command body; turn UsageError (and the engines' own errors) into exit 2, and
    SIGINT/SIGTERM into a clean stop (every cleanup runs) with status 130/143."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return body()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
