"""The app served for real: the web server and its worker as subprocesses,
started as `kiosk serve` or a clinic's services start them, each writing to
a log of its own that a test shows when something does not come up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(port: int) -> dict | None:
    """What /healthz answers (an error's body too: 503 while the worker is
    not running yet), or None when nothing answers on `port`."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return json.loads(error.read() or b"{}")
        except ValueError:
            return {}
    except (OSError, ValueError):
        return None


@contextmanager
def served_in_thread(app) -> Iterator[str]:
    """`app` served over real HTTP by a threaded server in this process, for
    the block: its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def start(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`command` run from the checkout, its output in `log`, in a process group
    of its own (a signal to the group reaches everything it starts)."""
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until(ready: Callable[[], object], process: subprocess.Popen, log: Path, what: str) -> None:
    """Wait for `ready`, failing with the end of `log` if `process` exits first."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        assert process.poll() is None, f"{what} exited:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} did not come up within {START_TIMEOUT} s"
        time.sleep(0.2)


def serve(tmp_path: Path, name: str) -> tuple[subprocess.Popen, int]:
    """`kiosk serve` (gunicorn and a worker) on a fresh SQLite instance of
    its own, answering once its worker runs. Stop it with a signal to its
    process group, as Ctrl-C in a terminal does."""
    port = free_port()
    instance = tmp_path / name
    env = {**os.environ, "KIOSK_INSTANCE_PATH": str(instance), "PRINT_DIRECTORY": str(instance / "printed")}
    env.pop("DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    log = tmp_path / f"{name}.log"
    process = start([*flask, "serve", "--port", str(port), "--web-workers", "1"], env=env, log=log)
    wait_until(
        lambda: (health(port) or {}).get("worker") == "running", process, log, "the server and its worker"
    )
    return process, port


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
    """Signal `process`'s group and wait for it; killed if it outstays `timeout`."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
