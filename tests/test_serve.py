"""`make run`'s one command (`kiosk serve`): the web server and a worker start
together and stop together on Ctrl-C, and two copies on one host (a clinic's
test and live kiosks) leave each other alone."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .support.serve import health, serve

pytestmark = pytest.mark.processes


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(
        Path(f"/proc/{pid}/stat").exists() and _pgid_of(pid) == pgid and not _zombie(pid)
        for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
    )


def _pgid_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def stopped(process: subprocess.Popen, log: Path, seconds: float = 60) -> int:
    """The exit status of `process` once it stops; if it has not within
    `seconds`, a failure that says what was still running and what it logged."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        alive = subprocess.run(
            ["ps", "-o", "pid,stat,etime,args", "-g", str(process.pid)], capture_output=True, text=True
        ).stdout
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"still running {seconds:g} s after Ctrl-C:\n{alive}\nits log ends:\n{tail}")


def test_serve_starts_both_and_ctrl_c_stops_both_without_touching_another_copy(tmp_path):
    first, first_port = serve(tmp_path, "live")
    second, second_port = serve(tmp_path, "test")
    try:
        os.killpg(first.pid, signal.SIGINT)  # Ctrl-C in the terminal running `make run`
        assert stopped(first, tmp_path / "live.log") == 0
        deadline = time.monotonic() + 30
        while group_alive(first.pid):
            assert time.monotonic() < deadline, "a web or worker process outlived Ctrl-C"
            time.sleep(0.2)
        assert health(first_port) is None

        # The other copy was sent nothing and still serves, worker and all.
        time.sleep(1)
        assert second.poll() is None
        assert (health(second_port) or {}).get("worker") == "running"
    finally:
        for process in (first, second):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                process.wait(timeout=60)


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_serve_starts_as_many_render_processes_as_the_setting_asks(tmp_path, monkeypatch):
    # More than the default of one a core less one, so the setting is seen.
    wanted = len(os.sched_getaffinity(0)) + 1
    monkeypatch.setenv("RENDER_PROCESSES", str(wanted))
    process, _port = serve(tmp_path, "live")
    try:
        workers = [
            pid
            for pid in children_of(process.pid)
            if b"kiosk\0worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 1
        deadline = time.monotonic() + 30
        while len(children_of(workers[0])) < wanted and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(children_of(workers[0])) == wanted
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
