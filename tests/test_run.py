"""`datashare run`: web and worker in one group; /healthz goes green; one dies, all stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from datashare.web.processes import Child, children, supervise


def test_run_starts_as_many_long_workers_as_asked_each_on_the_long_queue() -> None:
    procs = children(bind="127.0.0.1:0", web_workers=1, long_workers=3)
    long = [p for p in procs if p.argv[-2:] == ["--queue", "long"]]
    assert [p.name for p in long] == ["worker-long", "worker-long-2", "worker-long-3"]
    assert [p.name for p in procs if p.argv[-2:] == ["--queue", "short"]] == ["worker"]
    assert not [p for p in children(bind="127.0.0.1:0", web_workers=1, worker=False) if "worker" in p.name]


def test_run_refuses_no_long_worker_or_a_bad_count_in_one_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATASHARE_DEMO": "1",
           "DATASHARE_DATA_DIR": str(tmp_path), "LONG_WORKERS": "0"}
    done = subprocess.run([sys.executable, "-m", "datashare.cli", "run"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "CommandError: --long-workers (LONG_WORKERS) must be at least 1"]
    assert not done.stdout
    done = subprocess.run([sys.executable, "-m", "datashare.cli", "run"],
                          env={**env, "LONG_WORKERS": "two"}, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr.strip().splitlines()) == (
        2, ["CommandError: LONG_WORKERS must be an integer, got 'two'"])


def test_supervise_stops_the_others_and_fails_when_one_child_dies() -> None:
    lines: list[str] = []
    started = time.monotonic()
    status = supervise(
        [Child("sleeper", ["sleep", "30"]), Child("crasher", ["sh", "-c", "exit 3"])], log=lines.append, poll=0.05
    )
    assert status == 1
    assert any("crasher" in line and "exited with status 3" in line for line in lines)
    assert time.monotonic() - started < 10  # the sleeper was terminated, not waited for


@pytest.mark.timeout(60)
def test_children_stop_when_the_supervisor_is_killed_outright(tmp_path: Path) -> None:
    # SIGKILL leaves the supervisor no chance to stop its children; the kernel must do it.
    pidfile = tmp_path / "child.pid"
    child = tmp_path / "child.py"
    child.write_text(f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)\n")
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import sys\n"
        "from datashare.web.processes import Child, supervise\n"
        f"supervise([Child('sleeper', [sys.executable, {str(child)!r}])], log=print, poll=0.05)\n"
    )
    supervisor = subprocess.Popen([sys.executable, str(parent)])
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text()):
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    child_pid = int(pidfile.read_text())
    supervisor.kill()
    supervisor.wait()
    deadline = time.monotonic() + 10
    while _alive(child_pid):
        assert time.monotonic() < deadline, f"child {child_pid} outlived its supervisor"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as stopped; so does one reaped meanwhile.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.timeout(320)
def test_run_serves_healthz_with_a_live_worker_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    sftp_port = _free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATASHARE_DEMO": "1",
        "DATASHARE_DATA_DIR": str(tmp_path),
        "SFTP_PORT": str(sftp_port),
    }
    cli = [sys.executable, "-m", "datashare.cli"]
    subprocess.run([*cli, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120)
    port = _free_port()
    run = subprocess.Popen(
        [*cli, "run", "--bind", f"127.0.0.1:{port}", "--web-workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # Four Python processes boot at once; on a loaded 2-core machine that took 48 s, and
        # under a parallel build over 90 s. A generous wait costs nothing when all is well.
        deadline = time.monotonic() + 200
        status, body = 0, {}
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
            except OSError:  # not listening yet, or still booting (URLError and timeouts are OSErrors)
                status = 0
            if status == 200:
                break
            time.sleep(0.5)
        assert (status, body) == (200, {"database": "ok", "worker": "ok"})
        # The SFTP delivery server answers with an SSH banner, its host key made once. It boots
        # on its own and may still be importing when the portal is up (a loaded machine): wait.
        banner = b""
        while time.monotonic() < deadline + 30 and not banner:
            try:
                with socket.create_connection(("127.0.0.1", sftp_port), timeout=10) as sock:
                    banner = sock.recv(64)
            except ConnectionRefusedError:
                time.sleep(0.5)
        assert banner.startswith(b"SSH-2.0-")
        assert (tmp_path / "sftp_host_ed25519.pub").read_text().startswith("ssh-ed25519 ")
    finally:
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=30)
    assert run.returncode == 0, output
    pids = [int(line.split("(pid ")[1].rstrip(")")) for line in output.splitlines() if "started " in line]
    # web, the short worker (+ scheduler), two long workers, the SFTP server
    assert len(pids) == 5, output
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
