"""Print jobs as stored rows, sent and followed by the worker while the print
server comes and goes.

CUPS is played back by the fake runner of tests/test_printing.py;
tests/test_desk_cups.py and tests/test_worker_cups.py do the same against a
real CUPS server."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kiosk import handout_jobs, leases, print_jobs, printing
from kiosk.extensions import db
from kiosk.models import AuditEvent, Handout, Kiosk, PrintJob, PrintState, utcnow

from .conftest import error, ok, run_worker
from .support.braille import LIBLOUIS_MISSING
from .support.cups_output import (
    LP_NO_SUCH_PRINTER,
    LP_SENT_FROM_FILE,
    LPOPTIONS_BRAILLE,
    LPOPTIONS_CUPS_PDF,
    LPSTAT_L_O_WAITING,
    LPSTAT_NOT_RUNNING,
    LPSTAT_P_IDLE,
    LPSTAT_RUNNING,
    LPSTAT_SCHEDULER_DOWN,
)
from .support.desk import finished_visit

QUEUE = "kiosk-test-pdf"  # the queue the captured CUPS output is about
WINDOW = timedelta(minutes=30)

SERVER_DOWN = {"lp": error(LP_NO_SUCH_PRINTER), "lpstat -r": ok(LPSTAT_NOT_RUNNING)}
SERVER_BACK = {"lp": ok(LP_SENT_FROM_FILE), "lpstat -r": ok(LPSTAT_RUNNING)}
NO_SUCH_PRINTER = {"lp": error(LP_NO_SUCH_PRINTER), "lpstat -r": ok(LPSTAT_RUNNING)}
# `ipptool` listing the queue's jobs, then each job's title (see printing.find_job).
LPSTAT_H = {"lpstat -H": ok("/run/cups/cups.sock\n")}


def ipp_jobs(*titles: str) -> list:
    """ipptool's answers: job ids 17, 18, ... then their titles, all printed."""
    ids = "job-id\n" + "".join(f"{17 + n}\n" for n in range(len(titles)))
    named = "".join(f"job-id,job-name,job-state\n{17 + n},{t},completed\n" for n, t in enumerate(titles))
    return [ok(ids), ok(named)]


@pytest.fixture
def handout(app) -> Handout:
    return finished_visit(app)


def ask_to_print(app, handout: Handout, printer: str = QUEUE) -> int:
    with app.app_context():
        job = print_jobs.request_print(db.session.get(Handout, handout.id), printer, staff="maria")
        return job.id


def print_now(app, handout: Handout) -> int:
    """Ask for a print, and let the worker send it."""
    job_id = ask_to_print(app, handout)
    run_worker(app)
    return job_id


def due_now(app) -> None:
    """As if the worker's next look at every job were due."""
    with app.app_context():
        db.session.execute(
            update(PrintJob).where(PrintJob.check_after.is_not(None)).values(check_after=utcnow())
        )
        db.session.commit()


def stored_job(app, job_id: int | None = None) -> PrintJob:
    with app.app_context():
        job = (
            db.session.get(PrintJob, job_id)
            if job_id
            else db.session.scalars(select(PrintJob).order_by(PrintJob.id.desc())).first()
        )
        db.session.expunge(job)
        return job


def lp_calls(tools) -> int:
    return sum(command.startswith("lp -d") for command in tools.commands)


# --- states are data ----------------------------------------------------------------


def test_a_print_is_only_stored_by_the_desk_and_sent_by_the_worker(app, handout, cups):
    tools = cups(SERVER_BACK)
    ask_to_print(app, handout)
    assert stored_job(app).state == PrintState.QUEUED
    assert tools.commands == [], "asking for a print talks to no print server"

    run_worker(app)
    job = stored_job(app)
    assert (job.state, job.cups_job_id) == ("sent", "kiosk-test-pdf-19")
    assert re.fullmatch(rf"{handout.claim_code}-{job.id}-[0-9a-f]{{4}}", job.sent_title)
    assert tools.calls[-1] == (f"lp -d {QUEUE} -t {job.sent_title}", handout_pdf(app, handout))


def handout_pdf(app, handout: Handout) -> bytes:
    with app.app_context():
        return db.session.get(Handout, handout.id).pdf


def test_a_print_while_the_server_is_down_waits_for_it_and_says_so(app, handout, cups):
    cups(SERVER_DOWN)
    print_now(app, handout)

    job = stored_job(app)
    assert job.state == PrintState.WAITING
    assert job.reason == print_jobs.WAITING_FOR_SERVER
    assert job.sent_title is None, "nothing reached a server that did not answer"
    with app.app_context():
        assert print_jobs.label(db.session.get(PrintJob, job.id)) == "Waiting for print server"


def test_a_waiting_job_is_sent_once_the_server_is_back(app, handout, cups):
    cups(SERVER_DOWN)
    print_now(app, handout)
    still_down = cups(SERVER_DOWN)
    due_now(app)
    run_worker(app)
    assert stored_job(app).state == PrintState.WAITING
    assert lp_calls(still_down) == 0, "nothing is sent while lpstat -r says the server is down"

    back = cups(
        {**SERVER_BACK, "lpstat -W not-completed": ok(LPSTAT_L_O_WAITING), "lpstat -p": ok(LPSTAT_P_IDLE)}
    )
    run_worker(app)
    assert lp_calls(back) == 0, "the server is tried again only when the job is due"
    due_now(app)
    run_worker(app)
    job = stored_job(app)
    assert (job.state, job.reason, job.cups_job_id) == ("sent", "", "kiosk-test-pdf-19")
    assert lp_calls(back) == 1

    due_now(app)
    run_worker(app)
    assert lp_calls(back) == 1, "a job sent again is sent once"


def test_a_job_waiting_longer_than_the_window_is_left_for_staff(app, handout, cups):
    app.config["PRINT_RESEND_MINUTES"] = WINDOW.total_seconds() / 60
    cups(SERVER_DOWN)
    job_id = print_now(app, handout)
    with app.app_context():
        db.session.get(PrintJob, job_id).requested_at = utcnow() - WINDOW - timedelta(minutes=1)
        db.session.commit()

    back = cups(SERVER_BACK)
    due_now(app)
    run_worker(app)
    job = stored_job(app)
    assert lp_calls(back) == 0
    assert (job.state, job.reason) == ("failed", printing.SERVER_DOWN)


def test_a_waiting_job_is_not_sent_again_once_the_handout_was_printed_again(app, handout, cups):
    cups(SERVER_DOWN)
    print_now(app, handout)
    print_now(app, handout)  # staff tap Print again, or choose another printer

    back = cups(
        {**SERVER_BACK, "lpstat -W not-completed": ok(LPSTAT_L_O_WAITING), "lpstat -p": ok(LPSTAT_P_IDLE)}
    )
    due_now(app)
    run_worker(app)
    with app.app_context():
        first, second = db.session.scalars(select(PrintJob).order_by(PrintJob.id)).all()
        assert (first.state, first.reason) == ("failed", print_jobs.NOT_SENT_AGAIN)
        assert second.state == "sent"
    assert lp_calls(back) == 1, "one copy"


def test_a_waiting_job_is_not_sent_again_once_the_handout_was_handed_over(app, handout, cups):
    cups(SERVER_DOWN)
    print_now(app, handout)
    with app.app_context():
        db.session.get(Handout, handout.id).handed_over_at = utcnow()
        db.session.commit()

    back = cups(SERVER_BACK)
    due_now(app)
    run_worker(app)
    job = stored_job(app)
    assert (job.state, job.reason) == ("failed", print_jobs.NOT_SENT_AGAIN)
    assert lp_calls(back) == 0


def test_other_failures_are_not_sent_again_by_themselves(app, handout, cups):
    cups(NO_SUCH_PRINTER)
    print_now(app, handout)
    back = cups(SERVER_BACK)

    due_now(app)
    run_worker(app)
    job = stored_job(app)
    assert job.state == "failed" and job.reason.startswith("CUPS has no printer called")
    assert lp_calls(back) == 0


def test_two_retries_of_one_failed_job_send_it_once(app, handout, cups):
    cups(NO_SUCH_PRINTER)
    job_id = print_now(app, handout)
    tools = cups(SERVER_BACK)

    # Two desks (two sessions) both see the job failed and both tap Retry.
    with app.app_context():
        first = db.session.get(PrintJob, job_id)
        assert first.state == "failed"
        with app.app_context():
            second = db.session.get(PrintJob, job_id)
            assert print_jobs.retry(second, staff="maria") is True
        assert print_jobs.retry(first, staff="sam") is False
    run_worker(app)
    run_worker(app)

    assert lp_calls(tools) == 1
    assert stored_job(app).state == "sent"


def test_a_job_for_a_handout_still_being_prepared_waits_for_it(app, cups):
    tools = cups(SERVER_BACK)
    handout = finished_visit(app, ready=False)
    with app.app_context():
        db.session.add(PrintJob(handout_id=handout.id, printer=QUEUE, requested_by="maria"))
        db.session.commit()
        assert print_jobs.send_next("worker-a") is False
        assert print_jobs.label(db.session.scalar(select(PrintJob))) == "Waiting for the handout"
    run_worker(app)  # renders, then sends
    assert lp_calls(tools) == 1
    assert stored_job(app).state == "sent"


# --- following jobs at the printer -----------------------------------------------------


def test_a_sent_job_is_followed_until_it_has_printed(app, handout, cups):
    cups(SERVER_BACK)
    print_now(app, handout)
    follow = cups({"lpstat -W not-completed": ok(LPSTAT_L_O_WAITING), "lpstat -p": ok(LPSTAT_P_IDLE)})
    run_worker(app)
    assert follow.commands == [], "a job is asked about only when due"

    due_now(app)
    run_worker(app)
    assert stored_job(app).state == "sent"
    assert follow.commands[0].startswith("lpstat -W not-completed")

    printed = cups(
        {
            "lpstat -W not-completed": ok(""),
            "lpstat -W completed": ok("kiosk-test-pdf-19 root 1024 x\n"),
            "lpstat -H": ok(""),
            "ipptool": error("no ipptool here"),
        }
    )
    due_now(app)
    run_worker(app)
    assert stored_job(app).state == "completed"
    due_now(app)
    run_worker(app)
    assert not [c for c in printed.commands if c.startswith("lpstat -W")][2:], "a finished job is left alone"


def test_a_server_that_stops_answering_keeps_the_last_state_and_backs_off(app, handout, cups):
    cups(SERVER_BACK)
    print_now(app, handout)
    cups({"lpstat -W": error(LPSTAT_SCHEDULER_DOWN), "lpstat -r": ok(LPSTAT_NOT_RUNNING)})
    due_now(app)
    run_worker(app)
    job = stored_job(app)
    assert (job.state, job.reason) == ("sent", printing.SERVER_DOWN)
    assert job.check_after > utcnow() + timedelta(seconds=print_jobs.FOLLOW_EVERY)


# --- a send cut off midway is picked up, and prints once ------------------------------------


def leave_cut_off(app, handout: Handout, *, title: str) -> int:
    """A job as a worker killed while `lp` ran leaves it: claimed, titled, no
    CUPS job id, its lease run out."""
    with app.app_context():
        job = PrintJob(
            handout_id=handout.id,
            printer=QUEUE,
            requested_by="maria",
            sent_title=title,
            attempts=1,
            lease_owner="dead-worker",
            lease_until=utcnow() - timedelta(seconds=1),
        )
        db.session.add(job)
        db.session.commit()
        return job.id


def test_a_cut_off_send_that_reached_cups_is_followed_not_sent_again(app, handout, cups):
    job_id = leave_cut_off(app, handout, title="K7P2-1")
    tools = cups({**SERVER_BACK, **LPSTAT_H, "ipptool": ipp_jobs("OTHER-9", "K7P2-1")})
    with app.app_context():
        assert print_jobs.send_next("worker-b") is True

    job = stored_job(app, job_id)
    assert (job.state, job.cups_job_id) == ("sent", f"{QUEUE}-18")
    assert lp_calls(tools) == 0


def test_a_cut_off_send_that_never_reached_cups_is_sent_once(app, handout, cups):
    job_id = leave_cut_off(app, handout, title="K7P2-1")
    tools = cups({**SERVER_BACK, **LPSTAT_H, "ipptool": ipp_jobs("OTHER-9")})
    with app.app_context():
        assert print_jobs.send_next("worker-b") is True

    job = stored_job(app, job_id)
    assert (job.state, job.cups_job_id) == ("sent", "kiosk-test-pdf-19")
    assert tools.commands.count(f"lp -d {QUEUE} -t K7P2-1") == 1


def test_when_cups_cannot_say_whether_a_cut_off_send_arrived_staff_decide(app, handout, cups):
    job_id = leave_cut_off(app, handout, title="K7P2-1")
    tools = cups({**SERVER_BACK, **LPSTAT_H, "ipptool": printing.PrintError(printing.TOOLS_MISSING)})
    run_worker(app)
    job = stored_job(app, job_id)
    assert (job.state, job.reason, job.sent_title) == ("failed", print_jobs.CANNOT_TELL, None)
    assert lp_calls(tools) == 0

    with app.app_context():
        print_jobs.retry(db.session.get(PrintJob, job_id), staff="maria")
    run_worker(app)
    assert stored_job(app, job_id).state == "sent"
    assert lp_calls(tools) == 1, "staff's Retry sends it afresh"


def test_an_lp_that_timed_out_is_looked_for_before_it_is_sent_again(app, handout, cups):
    cups({"lp": printing.PrintServerTimeout("lp gave no answer within 30 s")})
    job_id = print_now(app, handout)
    job = stored_job(app, job_id)
    assert job.state == PrintState.WAITING and job.sent_title, "it may have arrived: the title is kept"

    tools = cups({**SERVER_BACK, **LPSTAT_H, "ipptool": ipp_jobs(job.sent_title)})
    due_now(app)
    run_worker(app)
    assert lp_calls(tools) == 0
    assert stored_job(app, job_id).cups_job_id == f"{QUEUE}-17"


def test_a_retry_of_a_job_cups_still_has_cancels_it_first_and_sends_a_new_title(app, handout, cups):
    cups(SERVER_BACK)
    job_id = print_now(app, handout)
    first_title = stored_job(app, job_id).sent_title
    with app.app_context():
        db.session.execute(
            update(PrintJob).values(state="failed", reason="The printer could not print this job.")
        )
        db.session.commit()
        print_jobs.retry(db.session.get(PrintJob, job_id), staff="maria")
    tools = cups({**SERVER_BACK, "cancel": ok()})
    run_worker(app)
    job = stored_job(app, job_id)
    assert tools.commands[0] == "cancel kiosk-test-pdf-19"
    assert job.sent_title.startswith(f"{handout.claim_code}-{job_id}-") and job.sent_title != first_title
    assert lp_calls(tools) == 1


# --- claims ------------------------------------------------------------------------------


def test_a_job_is_claimed_by_one_worker_until_its_lease_runs_out(app, handout):
    ask_to_print(app, handout)
    with app.app_context():
        ready = (PrintJob.state == PrintState.QUEUED,)
        first = leases.claim(PrintJob, *ready, owner="worker-a", seconds=60, order_by=PrintJob.id)
        assert first is not None and first.lease_owner == "worker-a"
        assert leases.claim(PrintJob, *ready, owner="worker-b", seconds=60, order_by=PrintJob.id) is None

        db.session.execute(update(PrintJob).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        taken_over = leases.claim(PrintJob, *ready, owner="worker-b", seconds=60, order_by=PrintJob.id)
        assert taken_over is not None and (taken_over.lease_owner, taken_over.attempts) == ("worker-b", 2)
        # The first worker, back from the dead, may not write its result.
        assert leases.while_held(PrintJob, first.id, "worker-a", state=PrintState.COMPLETED) is False
        db.session.commit()
        assert db.session.get(PrintJob, first.id, populate_existing=True).state == PrintState.QUEUED


def test_the_desk_shows_what_the_worker_learns(app, desk, handout, cups):
    app.config["DEFAULT_PRINTER"] = QUEUE  # still offered while CUPS lists nothing
    cups({**SERVER_DOWN, "lpstat -l -p": error(LPSTAT_SCHEDULER_DOWN)})
    printed = desk.post(f"/desk/handouts/{handout.id}/print", {"printer": QUEUE})
    assert printed.status_code == 302
    assert "Waiting to send" in desk.get("/desk/queue").get_data(as_text=True)
    run_worker(app)
    assert "Waiting for print server" in desk.get("/desk/queue").get_data(as_text=True)
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "sent by itself" in page and "Retry" in page

    back = cups(
        {**SERVER_BACK, "lpstat -W not-completed": ok(LPSTAT_L_O_WAITING), "lpstat -p": ok(LPSTAT_P_IDLE)}
    )
    due_now(app)
    run_worker(app)
    assert lp_calls(back) == 1
    assert "Queued at printer" in desk.get("/desk/queue").get_data(as_text=True)


def test_the_printers_the_desk_offers_are_the_ones_the_worker_found(app, desk, handout, cups):
    from .support.cups_output import LPSTAT_L_P_TWO_PRINTERS

    cups({"lpstat -l -p": ok(LPSTAT_L_P_TWO_PRINTERS), "lpoptions -p": ok(LPOPTIONS_CUPS_PDF)})
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "front-desk" not in page
    with app.app_context():
        print_jobs.refresh_printers()
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert 'value="front-desk"' in page

    cups({"lpstat -l -p": error(LPSTAT_SCHEDULER_DOWN)})
    with app.app_context():
        print_jobs.refresh_printers()
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert 'value="front-desk"' in page and "not listed by CUPS now" in page


# --- the records letter alone ---------------------------------------------------------


def test_the_records_letter_alone_is_made_and_sent_by_the_worker(app, cups):
    from pypdf import PdfReader

    tools = cups(SERVER_BACK)
    handout = finished_visit(app, records_letter="yes")
    with app.app_context():
        job = print_jobs.request_print(
            db.session.get(Handout, handout.id), QUEUE, staff="maria", part="letter"
        )
        job_id = job.id
    run_worker(app)
    job = stored_job(app, job_id)
    assert job.state == "sent" and job.part == "letter"
    command, sent = tools.calls[-1]
    assert command == f"lp -d {QUEUE} -t {job.sent_title}"
    pages = PdfReader(io.BytesIO(sent)).pages
    assert len(pages) == 1 and "Please send my records" in pages[0].extract_text()
    assert sent != handout_pdf(app, handout)


def test_a_letter_asked_for_a_handout_without_one_fails_and_says_why(app, handout, cups):
    cups(SERVER_BACK)
    with app.app_context():
        job_id = print_jobs.request_print(
            db.session.get(Handout, handout.id), QUEUE, staff="maria", part="letter"
        ).id
    run_worker(app)
    job = stored_job(app, job_id)
    assert job.state == "failed" and job.reason == print_jobs.NO_LETTER


def test_the_desk_offers_the_letter_alone_only_when_there_is_one(app, desk, cups):
    app.config["DEFAULT_PRINTER"] = QUEUE  # offered while CUPS lists nothing
    cups(SERVER_BACK)
    without = finished_visit(app)
    page = desk.get(f"/desk/handouts/{without.id}").get_data(as_text=True)
    assert "Print the records letter only" not in page
    refused = desk.post(f"/desk/handouts/{without.id}/print", {"printer": QUEUE, "part": "letter"})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(PrintJob).where(PrintJob.handout_id == without.id)) is None

    with_letter = finished_visit(app, records_letter="yes")
    page = desk.get(f"/desk/handouts/{with_letter.id}").get_data(as_text=True)
    assert 'name="part" value="letter"' in page
    desk.post(f"/desk/handouts/{with_letter.id}/print", {"printer": QUEUE, "part": "letter"})
    job = stored_job(app)
    assert job.part == "letter" and job.handout_id == with_letter.id
    jobs = desk.get(f"/desk/handouts/{with_letter.id}/jobs").get_data(as_text=True)
    assert "Records letter only" in jobs
    nonsense = desk.post(f"/desk/handouts/{with_letter.id}/print", {"printer": QUEUE, "part": "everything"})
    assert nonsense.status_code == 302 and stored_job(app).id == job.id


def test_printing_the_letter_alone_does_not_stand_in_for_a_waiting_handout(app, cups):
    cups(SERVER_DOWN)
    handout = finished_visit(app, records_letter="yes")
    print_now(app, handout)
    with app.app_context():
        print_jobs.request_print(db.session.get(Handout, handout.id), QUEUE, staff="maria", part="letter")
    run_worker(app)

    back = cups(
        {**SERVER_BACK, "lpstat -W not-completed": ok(LPSTAT_L_O_WAITING), "lpstat -p": ok(LPSTAT_P_IDLE)}
    )
    due_now(app)
    run_worker(app)
    with app.app_context():
        whole, letter = db.session.scalars(select(PrintJob).order_by(PrintJob.id)).all()
        assert (whole.part, whole.state) == ("handout", "sent")
        assert (letter.part, letter.state) == ("letter", "sent")
    assert lp_calls(back) == 2


def test_a_letter_that_cannot_be_made_fails_and_says_so(app, cups, monkeypatch):
    tools = cups(SERVER_BACK)
    handout = finished_visit(app, records_letter="yes")

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(handout_jobs, "handout_pdf", broken)
    with app.app_context():
        job_id = print_jobs.request_print(
            db.session.get(Handout, handout.id), QUEUE, staff="maria", part="letter"
        ).id
    run_worker(app)
    job = stored_job(app, job_id)
    assert (job.state, job.reason) == ("failed", print_jobs.LETTER_FAILED)
    assert lp_calls(tools) == 0


def test_the_print_lane_only_sends_a_letter_the_render_lane_made(app, cups):
    from kiosk import worker

    tools = cups(SERVER_BACK)
    handout = finished_visit(app, records_letter="yes")
    with app.app_context():
        job_id = print_jobs.request_print(
            db.session.get(Handout, handout.id), QUEUE, staff="maria", part="letter"
        ).id
        assert worker.print_due("print-lane") == 0  # nothing to send yet: the letter is not made
    assert lp_calls(tools) == 0 and stored_job(app, job_id).state == "queued"
    with app.app_context():
        assert worker.render_due("render-lane") == 1
        letter = db.session.get(Handout, handout.id).letter_pdf
        assert letter is not None and letter.startswith(b"%PDF")
        assert worker.print_due("print-lane") >= 1
    assert stored_job(app, job_id).state == "sent"
    assert tools.calls[-1][1] == letter


# --- the handout in braille ------------------------------------------------------------

EMBOSSER = "embosser"
needs_liblouis = pytest.mark.skipif(bool(LIBLOUIS_MISSING), reason=LIBLOUIS_MISSING or "")
EMBOSSER_LISTED = {
    "lpstat -l -p": ok(LPSTAT_P_IDLE + LPSTAT_P_IDLE.replace(QUEUE, EMBOSSER)),
    f"lpoptions -p {QUEUE}": ok(LPOPTIONS_CUPS_PDF),
    f"lpoptions -p {EMBOSSER}": ok(LPOPTIONS_BRAILLE),
}


def ask_to_emboss(app, handout: Handout) -> int:
    with app.app_context():
        return print_jobs.request_print(
            db.session.get(Handout, handout.id), EMBOSSER, staff="maria", part="braille"
        ).id


def stored_braille(app, handout: Handout) -> bytes | None:
    with app.app_context():
        return db.session.get(Handout, handout.id).braille


@needs_liblouis
def test_the_braille_is_made_by_the_render_lane_and_sent_as_it_is_by_the_print_lane(app, handout, cups):
    from kiosk import worker

    tools = cups(SERVER_BACK)
    job_id = ask_to_emboss(app, handout)
    with app.app_context():
        assert worker.print_due("print-lane") == 0  # nothing to send yet: the braille is not made
    assert lp_calls(tools) == 0 and stored_braille(app, handout) is None
    with app.app_context():
        assert worker.render_due("render-lane") == 1
    brf = stored_braille(app, handout)
    assert brf.startswith(b"       ,MY PLAN = A SECOND OP9ION\r\n") and b"\f" in brf
    with app.app_context():
        assert worker.print_due("print-lane") >= 1
    job = stored_job(app, job_id)
    assert (job.state, job.part) == ("sent", "braille")
    assert tools.calls[-1] == (f"lp -d {EMBOSSER} -t {job.sent_title} -o raw", brf)


@needs_liblouis
def test_a_worker_run_again_does_not_emboss_twice(app, handout, cups):
    tools = cups(SERVER_BACK)
    job_id = ask_to_emboss(app, handout)
    run_worker(app)
    run_worker(app)
    assert lp_calls(tools) == 1
    assert stored_job(app, job_id).state == "sent"


@needs_liblouis
def test_a_cut_off_emboss_that_reached_cups_is_followed_not_sent_again(app, handout, cups):
    cups(SERVER_BACK)
    ask_to_emboss(app, handout)
    with app.app_context():
        handout_jobs.render_braille_next("render-lane")
    job_id = leave_cut_off(app, handout, title="K7P2-1")
    with app.app_context():
        db.session.execute(update(PrintJob).values(printer=EMBOSSER, part="braille"))
        db.session.execute(update(PrintJob).where(PrintJob.id != job_id).values(state=PrintState.COMPLETED))
        db.session.commit()
    tools = cups({**SERVER_BACK, **LPSTAT_H, "ipptool": ipp_jobs("OTHER-9", "K7P2-1")})
    with app.app_context():
        assert print_jobs.send_next("worker-b") is True

    job = stored_job(app, job_id)
    assert (job.state, job.cups_job_id) == ("sent", f"{EMBOSSER}-18")
    assert lp_calls(tools) == 0


@needs_liblouis
def test_a_retried_emboss_cancels_the_job_cups_has_and_embosses_one_copy(app, handout, cups):
    tools = cups(SERVER_BACK)
    job_id = ask_to_emboss(app, handout)
    run_worker(app)
    sent = stored_job(app, job_id).cups_job_id
    with app.app_context():
        db.session.execute(update(PrintJob).values(state=PrintState.FAILED, reason="jammed"))
        db.session.commit()
        print_jobs.retry(db.session.get(PrintJob, job_id), staff="maria")
    tools = cups({**SERVER_BACK, "cancel": ok("")})
    run_worker(app)
    assert tools.commands[0] == f"cancel {sent}"
    assert lp_calls(tools) == 1 and tools.commands[-1].endswith("-o raw")
    with app.app_context():
        retried = db.session.scalar(select(AuditEvent.subject).where(AuditEvent.action == "retry-print"))
    assert retried == f"braille of handout {handout.claim_code} to {EMBOSSER}"


def test_braille_in_a_language_without_a_table_fails_and_says_why(app, cups, monkeypatch):
    from kiosk import braille

    tools = cups(SERVER_BACK)
    handout = finished_visit(app)
    with app.app_context():
        db.session.execute(update(Handout).values(language="es"))
        db.session.commit()
    monkeypatch.delitem(braille.TABLES, "es")
    job_id = ask_to_emboss(app, handout)
    run_worker(app)
    job = stored_job(app, job_id)
    assert (job.state, job.reason) == ("failed", "There is no braille table for handouts in Español.")
    assert lp_calls(tools) == 0


def refresh(app) -> None:
    with app.app_context():
        print_jobs.refresh_printers()


def test_the_desk_says_the_patient_used_audio(app, desk, handout, cups):
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "Used audio" not in page
    with app.app_context():
        db.session.execute(update(Handout).values(used_audio=True))
        db.session.commit()
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "<strong>Used audio:</strong> offer braille or large print." in page


def test_emboss_is_offered_only_where_there_is_an_embosser_and_pdfs_never_go_to_one(app, desk, handout, cups):
    cups({"lpstat -l -p": ok(LPSTAT_P_IDLE), "lpoptions -p": ok(LPOPTIONS_CUPS_PDF)})
    refresh(app)
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "Emboss in braille" not in page

    cups(EMBOSSER_LISTED)
    refresh(app)
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "Emboss in braille" in page
    print_choices, emboss_choices = page.split('id="embosser"')
    assert f'value="{EMBOSSER}"' not in print_choices.split('id="printer"')[1]
    assert f'value="{EMBOSSER}"' in emboss_choices and f'value="{QUEUE}"' not in emboss_choices

    # Neither form takes the other's printers.
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": EMBOSSER})
    desk.post(f"/desk/handouts/{handout.id}/emboss", {"embosser": QUEUE})
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": QUEUE, "part": "braille"})
    with app.app_context():
        assert db.session.scalars(select(PrintJob)).all() == []

    desk.post(f"/desk/handouts/{handout.id}/emboss", {"embosser": EMBOSSER})
    job = stored_job(app)
    assert (job.printer, job.part, job.requested_by) == (EMBOSSER, "braille", "maria")
    with app.app_context():
        audited = db.session.scalars(select(AuditEvent.subject).where(AuditEvent.action == "print")).all()
    assert f"braille of handout {handout.claim_code} to {EMBOSSER}" in audited
    jobs = desk.get(f"/desk/handouts/{handout.id}/jobs").get_data(as_text=True)
    assert "Braille" in jobs and "Waiting to send" in jobs


def test_a_queue_the_clinic_names_an_embosser_is_one(app, desk, handout, cups):
    app.config["BRAILLE_PRINTERS"] = f" {QUEUE} ,"
    cups({"lpstat -l -p": ok(LPSTAT_P_IDLE), "lpoptions -p": ok(LPOPTIONS_CUPS_PDF)})
    refresh(app)
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "Emboss in braille" in page
    assert f'value="{QUEUE}"' not in page.split('id="printer"')[1].split("</select>")[0]


def test_a_handout_in_a_language_without_braille_says_so_instead_of_emboss(app, desk, cups, monkeypatch):
    from kiosk import braille

    monkeypatch.delitem(braille.TABLES, "es")
    cups(EMBOSSER_LISTED)
    refresh(app)
    handout = finished_visit(app)
    with app.app_context():
        db.session.execute(update(Handout).values(language="es"))
        db.session.commit()
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "There is no braille table for handouts in Español." in page
    assert "Emboss in braille" not in page
    desk.post(f"/desk/handouts/{handout.id}/emboss", {"embosser": EMBOSSER})
    with app.app_context():
        assert db.session.scalars(select(PrintJob)).all() == []


def test_a_kiosk_cannot_auto_print_its_pdfs_on_an_embosser(app, admin_desk, cups):
    cups(EMBOSSER_LISTED)
    refresh(app)
    page = admin_desk.get("/desk/kiosks").get_data(as_text=True)
    assert f'value="{QUEUE}"' in page
    assert f'value="{EMBOSSER}"' not in page


# --- auto-print never sends a PDF to an embosser ---------------------------------------------------

PDF_TO_EMBOSSER = f"“{EMBOSSER}” is a braille embosser: it is never sent a PDF."


def test_a_post_that_names_an_embosser_for_auto_print_is_refused_calmly(app, admin_desk, cups):
    cups(EMBOSSER_LISTED)
    refresh(app)
    response = admin_desk.post("/desk/kiosks", {"name": "Waiting room 2", "auto_print_printer": EMBOSSER})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"{PDF_TO_EMBOSSER} Choose a printer for paper" in page
    with app.app_context():
        assert db.session.scalar(select(Kiosk).where(Kiosk.name == "Waiting room 2")) is None


def test_auto_print_on_a_queue_known_as_an_embosser_fails_and_says_why(app, cups):
    tools = cups({**EMBOSSER_LISTED, **SERVER_BACK})
    refresh(app)
    app.config["AUTO_PRINT_PRINTER"] = EMBOSSER
    finished_visit(app)
    job = stored_job(app)
    assert (job.state, job.printer, job.part) == ("failed", EMBOSSER, "handout")
    assert job.reason.startswith(PDF_TO_EMBOSSER) and "Print it on a paper printer" in job.reason
    assert lp_calls(tools) == 0
    # A retry does not send it either.
    with app.app_context():
        assert print_jobs.retry(db.session.get(PrintJob, job.id), staff="maria")
    run_worker(app)
    assert stored_job(app, job.id).state == "failed" and lp_calls(tools) == 0


def test_a_kiosks_auto_print_on_a_queue_the_clinic_names_an_embosser_fails_and_says_why(app, cups):
    tools = cups(SERVER_BACK)
    app.config["BRAILLE_PRINTERS"] = QUEUE
    with app.app_context():
        db.session.add(Kiosk(name="Test kiosk", auto_print_printer=QUEUE))
        db.session.commit()
    finished_visit(app)
    job = stored_job(app)
    assert (job.state, job.printer) == ("failed", QUEUE)
    assert job.reason.startswith(f"“{QUEUE}” is a braille embosser: it is never sent a PDF.")
    assert lp_calls(tools) == 0


def test_a_pdf_job_for_a_queue_that_became_an_embosser_is_not_sent(app, handout, cups):
    job_id = ask_to_print(app, handout, EMBOSSER)
    tools = cups({**EMBOSSER_LISTED, **SERVER_BACK})
    refresh(app)
    run_worker(app)
    job = stored_job(app, job_id)
    assert job.state == "failed" and job.reason.startswith(PDF_TO_EMBOSSER)
    assert lp_calls(tools) == 0


def test_the_clinic_cannot_set_auto_print_to_a_queue_it_names_an_embosser(tmp_path):
    from kiosk import create_app
    from kiosk.config import SettingError

    from .conftest import app_config

    with pytest.raises(SettingError, match="AUTO_PRINT_PRINTER is “emb”, which BRAILLE_PRINTERS names"):
        create_app(app_config(tmp_path, AUTO_PRINT_PRINTER="emb", BRAILLE_PRINTERS="other, emb"))
