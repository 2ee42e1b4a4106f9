"""Printing a handout from the desk console through a real CUPS server, with
a real worker running beside the desk: the job's state on the desk follows
CUPS as the worker learns it, and a failed job can be retried."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kiosk import print_jobs
from kiosk.extensions import db
from kiosk.models import Handout, PrintJob

from .support import cups
from .support.braille import LIBLOUIS_MISSING, back_translated
from .support.desk import finished_visit

if cups.missing() and not cups.REQUIRED:
    pytest.skip(cups.missing(), allow_module_level=True)

pytestmark = pytest.mark.cups


@pytest.fixture
def queue(running_worker):
    with cups.ready_queue() as name:
        yield name


def job_on_desk(app, desk, handout_id: int, *states: str, timeout: float = 30.0) -> PrintJob:
    """Poll the handout's job list as the desk page does, until the job is in
    `states` and the page says so. The worker may change the job at any
    moment, so the row is read first and the page after it."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            job = db.session.scalars(select(PrintJob).order_by(PrintJob.id.desc())).first()
            db.session.expunge(job)
        page = desk.get(f"/desk/handouts/{handout_id}/jobs").get_data(as_text=True)
        if job.state in states and f'data-state="{job.state}"' in page:
            return job
        assert time.monotonic() < deadline, f"job still {job.state} ({job.reason}) after {timeout:g} s"
        time.sleep(0.3)


def test_the_desk_prints_a_handout_and_cups_pdf_writes_it(app, desk, queue):
    handout = finished_visit(app)
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": queue})
    job = job_on_desk(app, desk, handout.id, "completed")
    assert job.cups_job_id.startswith(f"{queue}-")
    written = cups.wait_for_output(job.cups_job_id)
    assert len(PdfReader(written).pages) == handout.page_count
    assert "Printed" in desk.get("/desk/queue").get_data(as_text=True)


def test_a_paused_printer_holds_the_job_until_it_is_resumed(app, desk, queue):
    handout = finished_visit(app)
    cups.run("cupsdisable", queue)
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": queue})
    held = job_on_desk(app, desk, handout.id, "held")
    assert "paused" in held.reason
    assert "Held" in desk.get("/desk/queue").get_data(as_text=True)
    cups.run("cupsenable", queue)
    job_on_desk(app, desk, handout.id, "completed")


@pytest.fixture
def print_while_cups_is_down(app, desk, queue):
    """A handout printed on the desk while cupsd is stopped, and the stored job."""
    # The clinic's usual printer stays selectable while CUPS cannot list it.
    app.config["DEFAULT_PRINTER"] = queue

    def ask(check_while_down: Callable[[Handout], None]) -> tuple[Handout, PrintJob]:
        handout = finished_visit(app)
        with cups.stopped():
            desk.post(f"/desk/handouts/{handout.id}/print", {"printer": queue})
            job = job_on_desk(app, desk, handout.id, "waiting")
            check_while_down(handout)
        assert "print server" in job.reason
        return handout, job

    return ask


def test_cups_down_says_so_and_a_retry_once_it_is_back_prints_one_copy(app, desk, print_while_cups_is_down):
    def says_why_and_offers_retry(handout):
        page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
        assert "Retry" in page
        assert "The print server is not running or cannot be reached." in page

    handout, job = print_while_cups_is_down(says_why_and_offers_retry)
    # Staff tap Retry as the worker, too, finds the server back: one copy.
    desk.post(f"/desk/jobs/{job.id}/retry")
    retried = job_on_desk(app, desk, handout.id, "completed")
    assert retried.id == job.id
    cups.wait_for_output(retried.cups_job_id)
    time.sleep(1)
    copies = sorted(cups.cups_pdf_folder().glob(f"{handout.claim_code}-*.pdf"))
    assert len(copies) == 1, copies


def test_a_job_asked_for_while_cups_is_down_prints_by_itself_once_it_is_back(
    app, desk, print_while_cups_is_down
):
    def waits_for_the_server(handout):
        assert "Waiting for print server" in desk.get("/desk/queue").get_data(as_text=True)

    handout, job = print_while_cups_is_down(waits_for_the_server)
    assert job.cups_job_id is None, "nothing was sent while CUPS was down"
    # Nobody taps anything: the worker sends it once the server answers.
    printed = job_on_desk(app, desk, handout.id, "completed")
    assert printed.id == job.id
    assert len(PdfReader(cups.wait_for_output(printed.cups_job_id)).pages) == handout.page_count


def test_with_the_desk_closed_a_finished_visit_is_rendered_and_auto_printed(app, kiosk, queue):
    """Nothing waits for a desk page: the patient finishes, the worker makes
    the handout and prints it through CUPS by itself."""
    app.config["AUTO_PRINT_PRINTER"] = queue
    kiosk.answer_all()
    assert kiosk.finish().headers["Location"] == "/visit/done"
    deadline = time.monotonic() + 30
    while True:
        with app.app_context():
            handout = db.session.scalar(select(Handout))
            job = handout.latest_print_job
            if job is not None and job.state == "completed":
                break
        assert time.monotonic() < deadline, f"auto-print not completed: {job and (job.state, job.reason)}"
        time.sleep(0.3)
    assert job.requested_by == "Test kiosk"
    assert len(PdfReader(cups.wait_for_output(job.cups_job_id)).pages) == handout.page_count


def test_the_desk_prints_the_records_letter_alone(app, desk, queue):
    handout = finished_visit(app, records_letter="yes")
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": queue, "part": "letter"})
    job = job_on_desk(app, desk, handout.id, "completed")
    written = PdfReader(cups.wait_for_output(job.cups_job_id))
    # cups-pdf redraws the text through Ghostscript, so the page is counted,
    # not read: one page printed of the handout's three (the letter is its last).
    assert len(written.pages) == 1 and handout.page_count == 3


# --- a handout in braille, on an embosser ----------------------------------------------


@pytest.fixture
def embosser(running_worker):
    with cups.embosser_queue() as (name, embosser):
        yield name, embosser


@pytest.mark.skipif(bool(LIBLOUIS_MISSING), reason=LIBLOUIS_MISSING or "")
def test_the_desk_embosses_the_handout_of_a_patient_who_used_audio(app, desk, embosser):
    """The BRF reaches the embosser's socket byte for byte, and read back by
    liblouis it is the patient's handout: their starred questions, their code."""
    name, device = embosser
    handout = finished_visit(
        app,
        questions=["q_options_all", "q_risks_main", "q_exp_count", "q_recovery_time"],
        top_questions=["q_exp_count", "q_recovery_time"],
        own_question_1="Can I still ride my horse Philippa?",
    )
    with app.app_context():
        db.session.get(Handout, handout.id).used_audio = True
        db.session.commit()
        print_jobs.refresh_printers()

    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "<strong>Used audio:</strong> offer braille or large print." in page
    assert "Emboss in braille" in page
    desk.post(f"/desk/handouts/{handout.id}/emboss", {"embosser": name})
    job = job_on_desk(app, desk, handout.id, "completed")
    assert (job.part, job.printer) == ("braille", name)
    assert job.cups_job_id.startswith(f"{name}-")
    jobs = desk.get(f"/desk/handouts/{handout.id}/jobs").get_data(as_text=True)
    assert "Printed" in jobs and "Braille" in jobs

    [arrived] = device.wait_for_jobs(1)
    with app.app_context():
        brf = db.session.get(Handout, handout.id).braille
    assert arrived == brf
    text = back_translated(app, arrived, "en")
    assert f"Code {handout.claim_code}" in text
    assert "1. Most important: How many of these do you do each year?" in text
    assert "2. Most important: How long will it take to get better?" in text
    assert "3. What are all my choices, even ones with no surgery?" in text
    assert 'In my words: "Can I still ride my horse Philippa?"' in text
    time.sleep(1)
    assert len(device.received) == 1, "embossed once"
