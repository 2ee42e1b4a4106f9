"""`make run`'s one command (`kiosk serve`): the web server and a worker start
together and stop together on Ctrl-C, and two copies on one host (a clinic's
test and live kiosks) leave each other alone."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


def serve(tmp_path: Path, name: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    instance = tmp_path / name
    env = {**os.environ, "KIOSK_INSTANCE_PATH": str(instance), "PRINT_DIRECTORY": str(instance / "printed")}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "init-db"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "kiosk",
            "serve",
            "--port",
            str(port),
            "--web-workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=(tmp_path / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # as a terminal's foreground job: Ctrl-C reaches the whole group
    )
    deadline = time.monotonic() + 60
    while (health(port) or {}).get("worker") != "running":
        assert process.poll() is None, (tmp_path / f"{name}.log").read_text()
        assert time.monotonic() < deadline, "the server and its worker did not come up within 60 s"
        time.sleep(0.2)
    return process, port


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


def test_serve_starts_both_and_ctrl_c_stops_both_without_touching_another_copy(tmp_path):
    first, first_port = serve(tmp_path, "live")
    second, second_port = serve(tmp_path, "test")
    try:
        os.killpg(first.pid, signal.SIGINT)  # Ctrl-C in the terminal running `make run`
        assert first.wait(timeout=60) == 0
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
