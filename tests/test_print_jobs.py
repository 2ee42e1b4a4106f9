"""Print jobs as stored rows while the print server comes and goes.

CUPS is played back by the fake runner of tests/test_printing.py;
tests/test_desk_cups.py does the same against a real CUPS server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk import print_jobs, printing
from kiosk.extensions import db
from kiosk.models import PrintJob, Submission, utcnow

from .conftest import error, ok
from .test_desk import finished_visit
from .test_printing import (
    LP_NO_SUCH_PRINTER,
    LP_SENT_FROM_FILE,
    LPSTAT_L_O_WAITING,
    LPSTAT_NOT_RUNNING,
    LPSTAT_P_IDLE,
    LPSTAT_RUNNING,
    LPSTAT_SCHEDULER_DOWN,
)

QUEUE = "kiosk-test-pdf"  # the queue the captured CUPS output is about
WINDOW = timedelta(minutes=30)

SERVER_DOWN = {"lp": error(LP_NO_SUCH_PRINTER), "lpstat -r": ok(LPSTAT_NOT_RUNNING)}
SERVER_BACK = {"lp": ok(LP_SENT_FROM_FILE), "lpstat -r": ok(LPSTAT_RUNNING)}
NO_SUCH_PRINTER = {"lp": error(LP_NO_SUCH_PRINTER), "lpstat -r": ok(LPSTAT_RUNNING)}


@pytest.fixture
def submission(app) -> Submission:
    return finished_visit(app)


def print_now(app, submission: Submission) -> int:
    with app.app_context():
        job = print_jobs.print_submission(
            db.session.get(Submission, submission.id), QUEUE, requested_by="maria"
        )
        return job.id


def resend(app) -> PrintJob:
    with app.app_context():
        print_jobs.resend_waiting_jobs()
    return stored_job(app)


def stored_job(app) -> PrintJob:
    with app.app_context():
        job = db.session.scalars(select(PrintJob).order_by(PrintJob.id.desc())).first()
        db.session.expunge(job)
        return job


def lp_calls(tools) -> int:
    return sum(command.startswith("lp -d") for command in tools.commands)


def test_a_print_while_the_server_is_down_waits_for_it_and_says_so(app, submission, cups):
    cups(SERVER_DOWN)
    print_now(app, submission)

    job = stored_job(app)
    assert job.state == "failed"
    assert job.reason == print_jobs.WAITING_FOR_SERVER
    assert print_jobs.label(job) == "Waiting for print server"


def test_a_waiting_job_is_sent_once_the_server_is_back(app, submission, cups):
    cups(SERVER_DOWN)
    print_now(app, submission)
    still_down = cups(SERVER_DOWN)

    assert resend(app).reason == print_jobs.WAITING_FOR_SERVER
    assert lp_calls(still_down) == 0, "nothing is sent while lpstat -r says the server is down"

    back = cups(SERVER_BACK)
    job = resend(app)
    assert (job.state, job.reason, job.cups_job_id) == ("sent", "", "kiosk-test-pdf-19")
    assert lp_calls(back) == 1

    resend(app)
    assert lp_calls(back) == 1, "a job sent again is sent once"


def test_a_job_waiting_longer_than_the_window_is_left_for_staff(app, submission, cups):
    app.config["PRINT_RESEND_MINUTES"] = WINDOW.total_seconds() / 60
    cups(SERVER_DOWN)
    job_id = print_now(app, submission)
    with app.app_context():
        db.session.get(PrintJob, job_id).updated_at = utcnow() - WINDOW - timedelta(minutes=1)
        db.session.commit()

    back = cups(SERVER_BACK)
    job = resend(app)
    assert lp_calls(back) == 0
    assert (job.state, job.reason) == ("failed", printing.SERVER_DOWN)
    assert print_jobs.label(job) == "Failed"


def test_a_waiting_job_is_not_sent_again_once_the_handout_was_printed_again(app, submission, cups):
    cups(SERVER_DOWN)
    print_now(app, submission)
    print_now(app, submission)  # staff tap Print again, or choose another printer

    back = cups(SERVER_BACK)
    with app.app_context():
        print_jobs.resend_waiting_jobs()
        first, second = db.session.scalars(select(PrintJob).order_by(PrintJob.id)).all()
        assert (first.state, first.reason) == ("failed", print_jobs.NOT_SENT_AGAIN)
        assert second.state == "sent"
    assert lp_calls(back) == 1, "one copy"


def test_a_waiting_job_is_not_sent_again_once_the_handout_was_handed_over(app, submission, cups):
    cups(SERVER_DOWN)
    print_now(app, submission)
    with app.app_context():
        db.session.get(Submission, submission.id).handed_over_at = utcnow()
        db.session.commit()

    back = cups(SERVER_BACK)
    job = resend(app)
    assert (job.state, job.reason) == ("failed", print_jobs.NOT_SENT_AGAIN)
    assert lp_calls(back) == 0


def test_other_failures_are_not_sent_again_by_themselves(app, submission, cups):
    cups(NO_SUCH_PRINTER)
    print_now(app, submission)
    back = cups(SERVER_BACK)

    job = resend(app)
    assert job.state == "failed" and job.reason.startswith("CUPS has no printer called")
    assert lp_calls(back) == 0


def test_two_retries_of_one_failed_job_send_it_once(app, submission, cups):
    cups(SERVER_DOWN)
    job_id = print_now(app, submission)
    tools = cups(SERVER_BACK)

    # Two desks (two sessions) both see the job failed and both tap Retry.
    with app.app_context():
        first = db.session.get(PrintJob, job_id)
        assert first.state == "failed"
        with app.app_context():
            second = db.session.get(PrintJob, job_id)
            assert second.state == "failed"
            print_jobs.retry(second)
            assert second.state == "sent"
        print_jobs.retry(first)
        assert first.state == "sent"

    assert lp_calls(tools) == 1


def test_the_desk_refresh_sends_waiting_jobs(app, desk, submission, cups):
    app.config["DEFAULT_PRINTER"] = QUEUE  # still offered while CUPS lists nothing
    cups({**SERVER_DOWN, "lpstat -l -p": error(LPSTAT_SCHEDULER_DOWN)})
    printed = desk.post(f"/desk/handouts/{submission.id}/print", {"printer": QUEUE})
    assert printed.status_code == 302
    assert "Waiting for print server" in desk.get("/desk/queue").get_data(as_text=True)
    page = desk.get(f"/desk/handouts/{submission.id}").get_data(as_text=True)
    assert "sent again by itself" in page and "Retry" in page

    back = cups(
        {**SERVER_BACK, "lpstat -W not-completed": ok(LPSTAT_L_O_WAITING), "lpstat -p": ok(LPSTAT_P_IDLE)}
    )
    assert desk.post("/desk/print-status").status_code == 204
    assert lp_calls(back) == 1
    assert stored_job(app).state == "sent"
    assert "Queued at printer" in desk.get("/desk/queue").get_data(as_text=True)


def test_a_send_cut_off_midway_becomes_a_failed_job_to_retry(app, submission, cups):
    # As if the worker sending them had been restarted: two jobs left queued.
    with app.app_context():
        long_ago = utcnow() - print_jobs.INTERRUPTED_AFTER - timedelta(seconds=1)
        for updated_at in (long_ago, utcnow()):
            db.session.add(
                PrintJob(submission_id=submission.id, printer=QUEUE, state="queued", updated_at=updated_at)
            )
        db.session.commit()
        print_jobs.refresh_active_jobs()
        cut_off, in_progress = db.session.scalars(select(PrintJob).order_by(PrintJob.id)).all()
        assert (cut_off.state, cut_off.reason) == ("failed", print_jobs.INTERRUPTED)
        assert (in_progress.state, in_progress.reason) == ("queued", "")

        tools = cups(SERVER_BACK)
        print_jobs.retry(cut_off)
        assert cut_off.state == "sent" and lp_calls(tools) == 1
