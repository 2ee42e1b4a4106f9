"""A real CUPS for the printing tests: start and stop cupsd, wait for it,
keep the cups-pdf test queue ready, and find the PDFs cups-pdf writes.

Starting cupsd and adding queues needs root, as in CI. Every wait is bounded.
Nothing here uses kiosk.printing, so the tests do not check the module with itself.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

CUPSD = Path("/usr/sbin/cupsd")
CUPSD_PID_FILE = Path("/run/cups/cupsd.pid")
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
QUEUE = "kiosk-test-pdf"
CUPS_PDF_PPD = "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd"
WAIT_SECONDS = 30.0
TOOLS = ("lp", "lpstat", "lpadmin", "cupsenable", "cupsdisable", "cupsaccept", "cupsreject", "cancel")
# CI sets KIOSK_REQUIRE_CUPS=1: there a missing CUPS is a failure, never a skip.
REQUIRED = os.environ.get("KIOSK_REQUIRE_CUPS", "").strip() not in ("", "0")


def missing() -> str:
    """Why CUPS cannot be tested on this machine, or "" when it can."""
    if not CUPSD.exists():
        return f"CUPS is not installed ({CUPSD} is missing; apt-get install cups)"
    if absent := [tool for tool in TOOLS if shutil.which(tool) is None]:
        return f"CUPS client tools are missing: {', '.join(absent)} (apt-get install cups-client)"
    if not CUPS_PDF_BACKEND.exists():
        return "cups-pdf is not installed (apt-get install printer-driver-cups-pdf)"
    return ""


def run(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=15,
        env={**os.environ, "LC_ALL": "C.UTF-8", **(env or {})},
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Waited {timeout:g} s for {what}")
        time.sleep(0.1)


def scheduler_running() -> bool:
    return run("lpstat", "-r", check=False).stdout.strip() == "scheduler is running"


def start_cupsd() -> None:
    """Start cupsd unless it answers already. It daemonizes and outlives the tests."""
    if scheduler_running():
        return
    subprocess.run(
        [str(CUPSD)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=15,
        check=True,
    )
    wait_until(scheduler_running, "cupsd to answer `lpstat -r`")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie has exited; without an init to reap it, it would linger here.
    return stat.rpartition(")")[2].split()[0] != "Z"


def stop_cupsd() -> None:
    """Stop the running cupsd (by the pid it wrote) and wait until it is gone."""
    pid = int(CUPSD_PID_FILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not _alive(pid) and not scheduler_running(), f"cupsd (pid {pid}) to stop")


@contextmanager
def stopped() -> Iterator[None]:
    """cupsd stopped for the block; running again, with the test queue, after it."""
    stop_cupsd()
    try:
        yield
    finally:
        start_cupsd()
        ensure_queue()


def queue_exists(queue: str = QUEUE) -> bool:
    return run("lpstat", "-p", queue, check=False).returncode == 0


def ensure_queue(queue: str = QUEUE) -> None:
    """cupsd running, and the cups-pdf queue present, enabled and accepting jobs."""
    start_cupsd()
    if not queue_exists(queue):
        run("lpadmin", "-p", queue, "-E", "-v", "cups-pdf:/", "-m", CUPS_PDF_PPD)
    run("cupsenable", queue)
    run("cupsaccept", queue)


def restore(queue: str = QUEUE) -> None:
    """Leave CUPS as the tests found it: running, the queue empty, enabled and accepting."""
    start_cupsd()
    if queue_exists(queue):
        run("cancel", "-a", queue, check=False)
    ensure_queue(queue)


@contextmanager
def ready_queue() -> Iterator[str]:
    """The cups-pdf test queue, ready; afterwards CUPS as the tests found it
    and the PDFs written meanwhile removed. Fails (not skips) without CUPS:
    callers skip first where CUPS is optional."""
    import pytest

    if missing():
        pytest.fail(f"{missing()}; KIOSK_REQUIRE_CUPS is set, so this is a failure", pytrace=False)
    ensure_queue()
    before = printed_files()
    try:
        yield QUEUE
    finally:
        restore()
        for written in printed_files() - before:
            written.unlink(missing_ok=True)


def job_number(job_id: str) -> int:
    return int(job_id.rpartition("-")[2])


def cups_pdf_folder() -> Path:
    """Where cups-pdf puts our jobs: "Out ${HOME}/PDF" in /etc/cups/cups-pdf.conf,
    HOME being the job owner's (root's jobs land in /root/PDF)."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / "PDF"


def printed_files() -> set[Path]:
    return set(cups_pdf_folder().glob("*.pdf"))


def wait_for_output(job_id: str, timeout: float = WAIT_SECONDS) -> Path:
    """The PDF cups-pdf wrote for a job. Its queue's PPD defaults to Label 2, a
    "-job_N" suffix on the name (the rest comes from the document's title)."""
    pattern = f"*-job_{job_number(job_id)}.pdf"
    found: list[Path] = []

    def written() -> bool:
        found[:] = sorted(cups_pdf_folder().glob(pattern))
        return bool(found) and found[0].stat().st_size > 0

    wait_until(written, f"cups-pdf to write {cups_pdf_folder() / pattern}", timeout)
    return found[0]


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` in Helvetica: enough for CUPS, and fast."""
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


# --- a braille embosser -------------------------------------------------------------

EMBOSSER_QUEUE = "kiosk-test-embosser"
# cups-filters' driver for any embosser that takes BRF (`lpinfo -m`: "Generic Braille embosser").
GENERIC_EMBOSSER = "drv:///generic-brf.drv/gen-brf.ppd"


class Embosser:
    """A braille embosser on the network, as an Index embosser listens on
    port 9100: it takes each job on a TCP connection of its own (CUPS's
    socket backend) and keeps the bytes that arrive, one entry a job."""

    def __init__(self) -> None:
        import socket
        import threading

        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="embosser", daemon=True)
        self._thread.start()

    def _serve(self) -> None:

        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(WAIT_SECONDS)
                job = bytearray()
                try:
                    while chunk := connection.recv(65536):
                        job += chunk
                except OSError:
                    pass
                self.received.append(bytes(job))

    def wait_for_jobs(self, count: int) -> list[bytes]:
        wait_until(lambda: len(self.received) >= count, f"{count} job(s) to reach the embosser")
        return list(self.received)

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        self._thread.join(timeout=5)


@contextmanager
def embosser_queue() -> Iterator[tuple[str, Embosser]]:
    """A CUPS queue for a generic braille embosser whose device is a socket on
    127.0.0.1 that the test listens on. Removed afterwards, and checked gone."""
    import pytest

    if missing():
        pytest.fail(f"{missing()}; KIOSK_REQUIRE_CUPS is set, so this is a failure", pytrace=False)
    start_cupsd()
    embosser = Embosser()
    try:
        run(
            "lpadmin", "-p", EMBOSSER_QUEUE, "-E", "-D", "Braille embosser",
            "-v", f"socket://127.0.0.1:{embosser.port}", "-m", GENERIC_EMBOSSER,
        )  # fmt: skip
        yield EMBOSSER_QUEUE, embosser
    finally:
        run("cancel", "-a", EMBOSSER_QUEUE, check=False)
        run("lpadmin", "-x", EMBOSSER_QUEUE, check=False)
        embosser.close()
    assert not queue_exists(EMBOSSER_QUEUE), f"the test queue {EMBOSSER_QUEUE} was not removed"
