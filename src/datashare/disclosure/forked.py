"""Work solved ahead in forked processes that read the parent's arrays (``local._repair``'s
regions).

Threads share the arrays too, but the Python work between a region's solves holds the GIL:
at 985,608 rows the local LPs took 0.69-0.75 of their one-thread time on two threads, while
two one-thread runs side by side each took their time alone (178.2 and 178.9 s against
177.9 s). A forked process starts with the parent's memory as it is at the fork (copied only
where either writes), so the table's arrays are not sent anywhere; what the parent writes
after the fork and the children must read (the cells hidden so far) lives in memory shared
with them (``shared_copy``). Each child runs ``work`` on the arguments submitted and sends
back its result (pickled).

Forked only where Linux forks (``AVAILABLE``). A child ignores SIGINT (the parent stops
the pool; a Ctrl-C in a terminal reaches the whole process group) and dies with the thread
that forked it (``PR_SET_PDEATHSIG``), so a killed worker leaves none running.
"""

from __future__ import annotations

import ctypes
import itertools
import mmap
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

R = TypeVar("R")

AVAILABLE = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
_PR_SET_PDEATHSIG = 1
# Looked up here, in the parent: a child loads no library (another thread of the parent
# may have held the loader's lock at the fork).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if AVAILABLE else None

_WORK: dict[int, Callable[..., Any]] = {}  # per pool: what its children run
_TOKENS = itertools.count()


def shared_copy(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` in anonymous shared memory: a process forked after this reads
    what the parent writes there later."""
    buffer = mmap.mmap(-1, max(1, array.nbytes))  # MAP_SHARED | MAP_ANONYMOUS
    out = np.frombuffer(buffer, dtype=array.dtype, count=array.size).reshape(array.shape)
    out[...] = array
    return out


def _child(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _PRCTL is not None and _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(1)
    if os.getppid() != parent:  # it died before the prctl: nobody would signal us
        os._exit(1)


def _call(token: int, *args: Any) -> Any:
    return _WORK[token](*args)


@contextmanager
def pool(work: Callable[..., R], n: int) -> Iterator[Callable[..., Future[R]]]:
    """``n`` processes running ``work`` (and what it reads, as it is when they fork: at the
    first call submitted) on the calls submitted; yields ``submit(*args)``. On leaving, the
    calls not started are cancelled and the processes end."""
    token = next(_TOKENS)
    _WORK[token] = work
    # "fork" explicitly: the processes must start from this memory, not a fresh interpreter.
    # ProcessPoolExecutor forks them all at the first submit, before its own threads start.
    executor = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_child, initargs=(os.getpid(),))
    try:
        yield lambda *args: executor.submit(_call, token, *args)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        del _WORK[token]
