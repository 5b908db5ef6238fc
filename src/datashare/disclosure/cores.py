"""The machine's cores, shared by every suppression and audit running on it.

The region LPs are solved ahead in forked processes or threads (``local._repair``), a
big table's start point in pieces in threads (``audit._split_start``) and the cube phase's
numpy blocks in threads (``run_blocks``); ``threads`` counts every kind of worker. A second
worker pays only on a core nobody else is using: solving ahead costs about a quarter more
CPU than the serial run (regions solved again because an earlier one hid a cell they
read, and the threads' own overhead; scale-0.05 discipline: 327 s of CPU in two threads
against 253-263 s in one), which buys about a fifth off the wall time on an idle machine
(215 s against 254-276 s) and only costs when another table (the portal's second long
worker, or an assessment table's other subject) already keeps the other core busy.

So each core is a slot, a lock file (``flock``, released by the kernel when its process
ends, however it ends): a suppression or audit holds one for itself while it runs
(``working``), and asks for extra threads only from the slots no one holds (``threads``).
The results never depend on the number of threads (``local._repair``), so this changes only
how fast a table finishes, never what it publishes.

The slots live in ``DATASHARE_CORE_SLOTS`` (a directory), else in a directory of the
system's temporary directory per user; where it cannot be made, or is a link or another
user's, every block runs in one thread.
"""

from __future__ import annotations

import fcntl
import functools
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def cores() -> int:
    """The cores this process may run on (Linux's affinity), else the machine's."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity else os.cpu_count() or 1)


def slots_directory() -> Path:
    return Path(os.environ.get("DATASHARE_CORE_SLOTS")
                or Path(tempfile.gettempdir()) / f"datashare-core-slots-{os.getuid()}")


class _Held:
    """This process's own slot (``working``), shared by its threads, counted so nested
    calls (an audit inside a suppression) hold it once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.fd: int | None = None


_HELD = _Held()
_OPEN: set[int] = set()  # every slot descriptor this process holds


def _forget_in_child() -> None:
    """A forked child holds nothing of its own: the slots it inherited are its parent's
    (closing its copies releases nothing while the parent keeps them, but a child that
    outlives the parent's block no longer keeps them held), and the lock may have been
    copied mid-use."""
    global _HELD
    for fd in list(_OPEN):
        with suppress(OSError):
            os.close(fd)
    _OPEN.clear()
    _HELD = _Held()


os.register_at_fork(after_in_child=_forget_in_child)


_OURS: set[Path] = set()  # slot directories checked once in this process: made, ours


def _ours(directory: Path) -> bool:
    """Whether ``directory`` is a directory of this user (made if missing), not a link or
    another user's in a shared /tmp, which are not ours to trust. Checked once per process:
    ``threads`` asks at every region repair."""
    if directory in _OURS:
        return True
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(directory)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        return False
    _OURS.add(directory)
    return True


def _take(directory: Path, n: int, want: int) -> list[int]:
    """Up to ``want`` free slots of ``n``, taken without waiting: their open descriptors."""
    got: list[int] = []
    if want <= 0 or not _ours(directory):
        return got
    for i in range(n):
        try:
            fd = os.open(directory / f"{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        got.append(fd)
        _OPEN.add(fd)
        if len(got) == want:
            break
    return got


def _give_back(fds: list[int]) -> None:
    for fd in fds:
        if fd in _OPEN:
            _OPEN.discard(fd)
            with suppress(OSError):
                os.close(fd)  # closing the descriptor releases its lock


@contextmanager
def working() -> Iterator[None]:
    """Hold a slot for this process while the block runs, if one is free. Nested blocks
    (``threads`` inside a suppression) hold the same one; a process that has none (it
    started while every core was held) takes one at the next block, once one is free."""
    with _HELD.lock:
        _HELD.depth += 1
        if _HELD.fd is None:
            got = _take(slots_directory(), cores(), 1)
            _HELD.fd = got[0] if got else None
    try:
        yield
    finally:
        with _HELD.lock:
            _HELD.depth -= 1
            if _HELD.depth == 0 and _HELD.fd is not None:
                _give_back([_HELD.fd])
                _HELD.fd = None


def on_a_core(work: Callable[P, R]) -> Callable[P, R]:
    """``work`` run ``working``: an entry point of the engine (``api.suppress_table``,
    ``api.audit_table``)."""
    @functools.wraps(work)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with working():
            return work(*args, **kwargs)
    return wrapper


@contextmanager
def threads(most: int) -> Iterator[int]:
    """How many threads (1 to ``most``) the block may run: this process's own, plus one per
    slot no one holds, held until the block ends. A process without a slot of its own (it
    started while every core was held, or is outside ``working``) takes one first, kept
    until its ``working`` ends; with none free the block runs in one thread."""
    if most <= 1:
        yield 1
        return
    with working():
        if _HELD.fd is None:
            yield 1
            return
        extra = _take(slots_directory(), cores(), most - 1)
        try:
            yield 1 + len(extra)
        finally:
            _give_back(extra)


MAX_WORKERS = 4  # workers a block may ask for, whatever the cores or the environment say


def workers() -> int:
    """Workers a block may ask for: DATASHARE_LP_THREADS (1: serial), else the cores, at most
    MAX_WORKERS; ``threads`` then grants only those with a free core."""
    asked = os.environ.get("DATASHARE_LP_THREADS", "").strip()
    if asked.isdigit() and int(asked) > 0:
        return min(int(asked), MAX_WORKERS)
    return min(cores(), MAX_WORKERS)


def run_blocks(tasks: Sequence[Callable[[], None]], most: int) -> None:
    """Run independent ``tasks`` (each writes only its own rows of arrays made beforehand), in
    up to ``most`` threads where cores are free, else one after the other: numpy releases
    the GIL in its gathers, sorts and reductions, so blocks of numpy work share the cores
    (what they write is the same either way)."""
    if most > 1 and len(tasks) > 1:
        with threads(min(most, len(tasks))) as n:
            if n > 1:
                with ThreadPoolExecutor(n) as pool:
                    for done in [pool.submit(task) for task in tasks]:
                        done.result()
                return
    for task in tasks:
        task()
