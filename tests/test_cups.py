"""Printing through a real CUPS server, with a cups-pdf queue as the printer.

The tests start cupsd when it is not running and add the `kiosk-test-pdf`
queue when it is missing; whatever a test pauses, rejects or stops is put
back afterwards, even when it fails. Where CUPS is not installed they skip,
saying why, unless KIOSK_REQUIRE_CUPS is set (CI), where that is a failure.
"""

from __future__ import annotations

import shutil
import time

import pytest

from .support import cups

CUPS_MISSING = cups.missing()

if CUPS_MISSING and not cups.REQUIRED:
    pytest.skip(CUPS_MISSING, allow_module_level=True)

from pypdf import PdfReader  # noqa: E402

from kiosk import printing  # noqa: E402
from kiosk.printing import DIRECTORY_PRINTER, PrintError, job_status, list_printers, submit  # noqa: E402

pytestmark = pytest.mark.cups

QUEUE = cups.QUEUE


@pytest.fixture(scope="module")
def cups_server():
    if CUPS_MISSING:
        pytest.fail(f"{CUPS_MISSING}; KIOSK_REQUIRE_CUPS is set, so this is a failure", pytrace=False)
    cups.ensure_queue()
    yield
    cups.restore()


@pytest.fixture
def queue(cups_server):
    cups.ensure_queue()
    before = cups.printed_files()
    try:
        yield QUEUE
    finally:
        cups.restore()
        for written in cups.printed_files() - before:
            written.unlink(missing_ok=True)


def wait_for_job(job_id: str, *states: str, timeout: float = 30.0) -> printing.JobStatus:
    """Poll job_status the way the desk does, until the job is in one of `states`."""
    deadline = time.monotonic() + timeout
    while (status := job_status(QUEUE, job_id)).state not in states:
        assert time.monotonic() < deadline, f"{job_id} still {status} after {timeout:g} s"
        time.sleep(0.2)
    return status


def print_handout(claim_code: str, tmp_path) -> printing.Submitted:
    submitted = submit(QUEUE, cups.minimal_pdf(f"Claim {claim_code}"), claim_code, directory=tmp_path)
    assert submitted.state == "sent"
    assert submitted.job_id is not None and submitted.job_id.startswith(f"{QUEUE}-")
    return submitted


def assert_cups_pdf_wrote(job_id: str, claim_code: str) -> None:
    reader = PdfReader(cups.wait_for_output(job_id))
    assert len(reader.pages) == 1
    assert f"Claim {claim_code}" in reader.pages[0].extract_text()


def test_the_desk_lists_the_cups_queue_then_the_folder(queue):
    printers = list_printers()

    assert printers[-1].name == DIRECTORY_PRINTER and printers[-1].is_directory
    ours = next(p for p in printers if p.name == queue)
    assert (ours.label, ours.is_directory, ours.state) == (queue, False, "idle")


def test_a_handout_printed_on_cups_pdf_completes_and_is_written_as_a_pdf(queue, tmp_path):
    submitted = print_handout("K7P2", tmp_path)

    assert wait_for_job(submitted.job_id, "completed", "failed") == printing.JobStatus("completed", "")
    assert_cups_pdf_wrote(submitted.job_id, "K7P2")
    assert list(tmp_path.iterdir()) == [], "a CUPS print leaves nothing in the folder"


def test_a_job_on_a_paused_printer_is_held_and_prints_when_resumed(queue, tmp_path):
    cups.run("cupsdisable", queue)
    submitted = print_handout("H4LD", tmp_path)

    time.sleep(0.5)  # CUPS would have started it by now, were the queue running
    assert job_status(queue, submitted.job_id) == printing.JobStatus("held", "The printer is paused.")
    paused = next(p for p in list_printers() if p.name == queue)
    assert paused.state == "paused" and paused.reason.startswith("Paused since ")

    cups.run("cupsenable", queue)
    assert wait_for_job(submitted.job_id, "completed", "failed").state == "completed"
    assert_cups_pdf_wrote(submitted.job_id, "H4LD")


def test_a_printer_paused_with_a_reason_says_it(queue, tmp_path):
    cups.run("cupsdisable", "-r", "Out of paper", queue)
    submitted = print_handout("P4PR", tmp_path)

    assert job_status(queue, submitted.job_id) == printing.JobStatus(
        "held", "The printer is paused: Out of paper"
    )
    assert next(p for p in list_printers() if p.name == queue).reason.endswith(": Out of paper")


def test_while_cups_is_down_printing_fails_clearly_and_a_retry_succeeds_once_it_is_back(queue, tmp_path):
    earlier = print_handout("E4RL", tmp_path)
    wait_for_job(earlier.job_id, "completed")
    cups.stop_cupsd()

    with pytest.raises(PrintError) as failure:
        submit(queue, cups.minimal_pdf("Claim D0WN"), "D0WN", directory=tmp_path)
    assert failure.value.reason == printing.SERVER_DOWN
    # What lp itself says, and why lpstat -r is asked before explaining it:
    assert failure.value.detail == "lp: Error - The printer or class does not exist."
    with pytest.raises(PrintError, match="print server is not running"):
        job_status(queue, earlier.job_id)
    assert [p.name for p in list_printers()] == [DIRECTORY_PRINTER]

    cups.start_cupsd()
    retried = print_handout("D0WN", tmp_path)
    assert wait_for_job(retried.job_id, "completed", "failed").state == "completed"
    assert_cups_pdf_wrote(retried.job_id, "D0WN")
    assert job_status(queue, earlier.job_id).state == "completed", "CUPS keeps its history over a restart"


def test_an_unreachable_print_server_in_cups_server_is_reported_as_down(queue, tmp_path, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", "127.0.0.1:9")  # nothing listens there

    with pytest.raises(PrintError) as failure:
        submit(queue, cups.minimal_pdf("Claim R3MT"), "R3MT", directory=tmp_path)
    assert failure.value.reason == printing.SERVER_DOWN
    assert [p.name for p in list_printers()] == [DIRECTORY_PRINTER]


def test_cups_server_names_the_print_server_to_use(queue, tmp_path, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", "127.0.0.1:631")  # the same cupsd, over TCP this time

    assert queue in [p.name for p in list_printers()]
    submitted = print_handout("TCP1", tmp_path)
    assert wait_for_job(submitted.job_id, "completed", "failed").state == "completed"


def test_a_printer_cups_does_not_have_is_named_in_the_error(queue, tmp_path):
    with pytest.raises(PrintError) as failure:
        submit("no-such-printer", cups.minimal_pdf("Claim N0PR"), "N0PR", directory=tmp_path)

    assert failure.value.reason.startswith("CUPS has no printer called “no-such-printer”.")


def test_a_printer_not_accepting_jobs_says_why(queue, tmp_path):
    cups.run("cupsreject", "-r", "Moved to room 2", queue)

    with pytest.raises(PrintError) as failure:
        submit(queue, cups.minimal_pdf("Claim R3JT"), "R3JT", directory=tmp_path)

    assert failure.value.reason.startswith(f"The printer “{queue}” is not accepting jobs (Moved to room 2).")
    assert failure.value.detail == f'lp: Destination "{queue}" is not accepting jobs.'


def test_a_pdf_cups_cannot_read_fails_with_the_reason_cups_gives(queue, tmp_path):
    broken = b"%PDF-1.4\nnot really a PDF\n%%EOF\n"
    submitted = submit(queue, broken, "BR0K", directory=tmp_path)

    status = wait_for_job(submitted.job_id, "failed", "completed", timeout=15)
    assert status.state == "failed"
    assert status.reason.startswith("The printer could not print this job: ")
    # CUPS keeps such a job pending for ever; the desk cancels it before a retry.
    printing.cancel_job(submitted.job_id)
    printing.cancel_job(submitted.job_id)  # already cancelled: nothing to do
    assert f"{submitted.job_id} " not in cups.run("lpstat", "-o", queue).stdout


@pytest.mark.skipif(
    shutil.which("ipptool") is None and not cups.REQUIRED,
    reason="ipptool is not installed (apt-get install cups-ipp-utils); lpstat alone lists a cancelled job "
    "among the completed ones",
)
def test_a_job_cancelled_in_cups_is_failed_not_completed(queue, tmp_path):
    cups.run("cupsdisable", queue)
    submitted = print_handout("C4NC", tmp_path)
    cups.run("cancel", submitted.job_id)

    assert job_status(queue, submitted.job_id) == printing.JobStatus("failed", printing.JOB_CANCELLED)


def test_a_job_cups_has_never_heard_of_is_failed(queue):
    assert job_status(queue, f"{queue}-999999") == printing.JobStatus("failed", printing.JOB_UNKNOWN)
