"""A folder written whole or not at all (Django-free: the engines and their command lines use it).

The files go into a temporary folder beside the target (the same file system, so the final
rename is atomic) and the folder is renamed into place only when everything is written: a
reader never finds a half-written release or source, and a crash leaves at most a temporary
folder, never a target that looks complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(out: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; rename it to ``out`` when the block ends.

    On any exception (``BaseException``: Ctrl-C and the CLI's SIGTERM too) the temporary
    folder is removed and ``out`` is left as it was. With ``replace`` an existing ``out`` is
    moved aside and removed only once the new folder is in place; without it, the caller has
    checked that ``out`` does not exist (the rename would refuse a non-empty one). The
    temporary folder is ``.OUT.XXXX`` (hidden).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        if replace and out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
