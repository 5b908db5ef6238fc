"""Shared helpers for the engines' command lines (Django-free).

Bad input is reported as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=f"datashare {prog}", description=description)


def run_guarded(body: Callable[[], int]) -> int:
    """Run a command body; turn UsageError (and the engines' own errors) into exit 2."""
    try:
        return body()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
