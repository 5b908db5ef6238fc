"""The processes `datashare run` starts and supervises as one group.

``children()`` is the one list of what runs. The SFTP delivery server joins it here when it is
built: append ``Child("sftp", [*DATASHARE, "sftp"])`` (a management command serving on
127.0.0.1), and it starts, stops and dies together with the web server and the worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

# The datashare entry point, as the running interpreter (works in a venv without PATH set up).
DATASHARE = [sys.executable, "-m", "datashare.cli"]
GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Child:
    name: str
    argv: list[str]


def children(*, bind: str, web_workers: int, worker: bool = True, sftp: bool = False,
             long_workers: int = 1) -> list[Child]:
    procs = [
        Child(
            "web",
            [
                sys.executable, "-m", "gunicorn", "datashare.wsgi",
                "--bind", bind,
                "--workers", str(web_workers),
                "--access-logfile", "-",
                "--graceful-timeout", "5",
                # gunicorn 23+ opens a control socket under $HOME by default; nothing here uses it.
                "--no-control-socket",
            ],
        ),
    ]  # fmt: skip
    if worker:
        # Workers per queue (datashare.core.queues): a ten-minute extract on the long queue
        # never delays an email, a scheduled job or the heartbeat /healthz reads. The short
        # worker also runs the periodic scheduler. ``long_workers`` long jobs run side by
        # side: one table's suppression keeps about 1.5 of 2 cores busy, so a year's tables
        # publish sooner two at a time (each worker claims its own task).
        procs.append(Child("worker", [*DATASHARE, "worker", "--queue", "short"]))
        for n in range(1, long_workers + 1):
            name = "worker-long" if n == 1 else f"worker-long-{n}"
            procs.append(Child(name, [*DATASHARE, "worker", "--queue", "long"]))
    if sftp:
        # The SFTP delivery server (datashare.delivery): SFTP_HOST:SFTP_PORT, 127.0.0.1:2222 by default.
        procs.append(Child("sftp", [*DATASHARE, "sftp"]))
    return procs


def supervise(procs: Sequence[Child], *, log: Callable[[str], None], poll: float = 0.25) -> int:
    """Start every child; return when one exits (1) or on SIGINT/SIGTERM (0), stopping the rest.

    Children stay in our process group, so Ctrl-C in a terminal reaches all of them at once;
    SIGTERM (systemd, a container runtime) is forwarded. Either way each child gets
    ``GRACE_SECONDS`` to finish its current request or task before it is killed. If the
    supervisor itself is killed outright (SIGKILL, the OOM killer), Linux sends every child
    SIGTERM (see ``die_with_parent``), so nothing is left serving without its partners.
    """
    stop_signal: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_signal.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    running: list[tuple[Child, subprocess.Popen[bytes]]] = []
    status = 0
    try:
        preexec = die_with_parent()
        for child in procs:
            proc = subprocess.Popen(child.argv, env=os.environ.copy(), preexec_fn=preexec)  # noqa: S603
            running.append((child, proc))
            log(f"started {child.name} (pid {proc.pid})")
        while not stop_signal:
            dead = [(c, p) for c, p in running if p.poll() is not None]
            if dead:
                child, proc = dead[0]
                log(f"{child.name} (pid {proc.pid}) exited with status {proc.returncode}; stopping the others")
                status = 1
                break
            time.sleep(poll)
        else:
            log(f"received {signal.Signals(stop_signal[0]).name}; stopping")
    finally:
        _stop_all(running, log)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to send the child ``sig`` when this process dies.

    A supervisor killed with SIGKILL cannot forward anything; without this its web server and
    worker would keep running, orphaned, holding the port. Everything is looked up here, in the
    parent: between fork and exec the child only calls prctl (importing or loading a library
    there can deadlock on a lock another thread held at fork). None elsewhere than Linux (the
    graceful paths still apply).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            os._exit(1)  # the child would outlive us unnoticed: refuse to start it
        # The parent may have died between fork and prctl; then nobody would signal us. Compare
        # with its pid, not with 1: under a subreaper, or with us as a container's PID 1, an
        # orphan's parent is not (or is always) 1.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


_PR_SET_PDEATHSIG = 1


def _stop_all(running: list[tuple[Child, subprocess.Popen[bytes]]], log: Callable[[str], None]) -> None:
    for _, proc in running:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child, proc in running:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{child.name} (pid {proc.pid}) did not stop in {GRACE_SECONDS:.0f}s; killing it")
            proc.kill()
            proc.wait()
