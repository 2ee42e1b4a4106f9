"""Print jobs as stored rows: send a handout to a printer, follow it in CUPS,
retry it. The CUPS commands themselves live in ``printing``."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, select, update

from . import printing
from .extensions import db
from .models import PrintJob, Submission, utcnow

log = logging.getLogger(__name__)

STATE_LABELS = {
    "queued": "Waiting to send",
    "sent": "Queued at printer",
    "printing": "Printing",
    "held": "Held",
    "completed": "Printed",
    "failed": "Failed",
}

# The reason a job shows while it waits for the print server to come back;
# resend_waiting_jobs looks for it.
WAITING_FOR_SERVER = (
    "The print server is not running or cannot be reached. "
    "This handout will be sent again by itself when it is back, or tap Retry."
)

# A job still "queued" this long after its last change was never handed over:
# the request sending it died (a worker restart, say). `lp` gives up after
# SUBMIT_TIMEOUT, so a live send is never this old.
INTERRUPTED_AFTER = timedelta(seconds=2 * printing.SUBMIT_TIMEOUT)
INTERRUPTED = (
    "Sending this job was interrupted, so it may not have reached the printer. "
    "Check the printer, and tap Retry if it did not print."
)

NOT_SENT_AGAIN = (
    "Not sent again by itself: this handout has been printed again or handed over since. "
    "Tap Retry to print this copy anyway."
)


def label(job: PrintJob) -> str:
    """A job's state as the desk shows it."""
    if job.state == "failed" and job.reason == WAITING_FOR_SERVER:
        return "Waiting for print server"
    return STATE_LABELS[job.state]


def print_submission(submission: Submission, printer: str, *, requested_by: str | None) -> PrintJob:
    """Store a print job first, then hand it to the printer.

    The row is committed before CUPS is called, so a job is never lost: if the
    print server is down, the job stays on the desk as failed, with the
    reason, and is sent again by itself once the server is back.
    """
    job = PrintJob(submission=submission, printer=printer, state="queued", requested_by=requested_by)
    db.session.add(job)
    db.session.commit()
    send(job)
    return job


def send(job: PrintJob) -> None:
    """Hand a stored job to its printer and record what happened. The
    directory printer saves into PRINT_DIRECTORY."""
    title = job.submission.claim_code
    directory = Path(current_app.config["PRINT_DIRECTORY"])
    try:
        submitted = printing.submit(job.printer, job.submission.pdf, title, directory=directory)
    except printing.PrintError as error:
        log.warning("print job %s to %r failed: %s", job.id, job.printer, error.detail or error.reason)
        _set(job, "failed", WAITING_FOR_SERVER if error.server_down else error.reason)
    else:
        job.cups_job_id = submitted.job_id
        job.saved_path = str(submitted.path) if submitted.path else None
        _set(job, submitted.state, "")
    db.session.commit()


def retry(job: PrintJob) -> None:
    """Send a failed job again. A job CUPS still holds is cancelled first, so
    it cannot print later as a second copy. A second tap on Retry, or a resend
    already under way, does nothing."""
    stale_cups_job = job.cups_job_id
    if not _claim(job):
        return
    if stale_cups_job:
        try:
            printing.cancel_job(stale_cups_job)
        except printing.PrintError as error:
            _set(job, "failed", error.reason)
            job.cups_job_id = stale_cups_job
            db.session.commit()
            return
    send(job)


def resend_waiting_jobs() -> None:
    """Send again the jobs that failed only because the print server was down,
    once it answers.

    Left for staff instead: a job last asked for more than
    PRINT_RESEND_MINUTES ago (the patient has probably gone home), and a job
    whose handout has been printed again or handed over since (it would be a
    second copy)."""
    waiting = db.session.scalars(
        select(PrintJob)
        .where(PrintJob.state == "failed", PrintJob.reason == WAITING_FOR_SERVER)
        .order_by(PrintJob.id)
    ).all()
    cutoff = utcnow() - timedelta(minutes=current_app.config["PRINT_RESEND_MINUTES"])
    still_waiting = []
    for job in waiting:
        if job.submission.handed_over_at or job.submission.print_jobs[-1].id != job.id:
            _stop_waiting(job, NOT_SENT_AGAIN)
        elif job.updated_at < cutoff:
            _stop_waiting(job, printing.SERVER_DOWN)
        else:
            still_waiting.append(job.id)
    if not still_waiting or not printing.scheduler_running():
        return
    for job_id in still_waiting:
        job = db.session.get(PrintJob, job_id)
        if job and _claim(job, PrintJob.reason == WAITING_FOR_SERVER, PrintJob.cups_job_id.is_(None)):
            log.info("print server is back: sending print job %s again", job.id)
            send(job)


def _stop_waiting(job: PrintJob, reason: str) -> None:
    _change_if(job.id, PrintJob.state == "failed", PrintJob.reason == WAITING_FOR_SERVER, reason=reason)


def _claim(job: PrintJob, *conditions: ColumnElement[bool]) -> bool:
    """Move a failed job back to queued, to be sent."""
    return _change_if(
        job.id, PrintJob.state == "failed", *conditions, state="queued", reason="", cups_job_id=None
    )


def _change_if(job_id: int, *conditions: ColumnElement[bool], **values: Any) -> bool:
    """Change a job only while it is as `conditions` say, in one conditional
    UPDATE, committed at once: of two requests acting on one job (two desks,
    two workers, a double tap) only the first does. Expires loaded jobs, so
    they are read again."""
    changed = db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return changed == 1


def refresh(job: PrintJob) -> None:
    """Ask CUPS how a job sent to it is doing."""
    if job.state not in PrintJob.AT_PRINTER or not job.cups_job_id:
        return
    try:
        status = printing.job_status(job.printer, job.cups_job_id)
    except printing.PrintError as error:
        # CUPS cannot be asked right now: keep the last state and say why.
        _set(job, job.state, error.reason)
    else:
        _set(job, status.state, status.reason)


def refresh_jobs(jobs: list[PrintJob]) -> None:
    """Bring these jobs up to date with CUPS, saving only real changes."""
    for job in jobs:
        refresh(job)
    if db.session.dirty:
        db.session.commit()


def refresh_active_jobs(limit: int = 50) -> None:
    """Every job still on its way (the desk asks for this every few seconds),
    and any job whose sending was cut off, so that it can be retried."""
    cutoff = utcnow() - INTERRUPTED_AFTER
    interrupted = db.session.scalars(
        select(PrintJob.id).where(PrintJob.state == "queued", PrintJob.updated_at < cutoff)
    ).all()
    for job_id in interrupted:
        log.warning("sending print job %s was interrupted", job_id)
        _change_if(
            job_id,
            PrintJob.state == "queued",
            PrintJob.updated_at < cutoff,
            state="failed",
            reason=INTERRUPTED,
        )
    refresh_jobs(
        db.session.scalars(
            select(PrintJob).where(PrintJob.state.in_(PrintJob.AT_PRINTER)).order_by(PrintJob.id).limit(limit)
        ).all()
    )


def _set(job: PrintJob, state: str, reason: str) -> None:
    # Assign only real changes: an unchanged row keeps its updated_at, so the
    # desk's conditional poll still answers "nothing new".
    if job.state != state:
        job.state = state
    if job.reason != reason:
        job.reason = reason


def auto_print(submission: Submission, *, kiosk: str) -> None:
    """Print a just-finished handout if this kiosk is set to (AUTO_PRINT_PRINTER).
    Never fails the patient's visit: a problem shows on the desk as a failed job."""
    printer = current_app.config["AUTO_PRINT_PRINTER"]
    if not printer or submission.print_jobs:
        return
    try:
        print_submission(submission, printer, requested_by=kiosk)
    except Exception:
        log.exception("automatic print to %r failed", printer)
        db.session.rollback()


def remove_saved_copies(submission: Submission) -> None:
    """Delete the PDFs the directory printer saved for this handout."""
    for job in submission.print_jobs:
        if job.saved_path:
            Path(job.saved_path).unlink(missing_ok=True)
