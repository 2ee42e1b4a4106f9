"""`kiosk serve` for real: the web server and its worker as subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


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
