"""CPU seconds for the benchmarks, children included."""

from __future__ import annotations

import resource


def cpu_seconds() -> float:
    """CPU seconds of this process (every thread) and of its children waited for: a table's
    parts run in processes (``aggregate.publish``) and the suppressor solves regions ahead
    in forked ones (``disclosure.forked``), both missed by ``time.process_time``."""
    own, kids = (resource.getrusage(resource.RUSAGE_SELF),
                 resource.getrusage(resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
