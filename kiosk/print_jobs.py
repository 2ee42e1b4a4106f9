"""Print jobs as stored rows: send a handout to a printer, follow it in CUPS,
retry it. The CUPS commands themselves live in ``printing``."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

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


def label(job: PrintJob) -> str:
    """A job's state as the desk shows it."""
    if job.state == "failed" and job.reason == WAITING_FOR_SERVER:
        return "Waiting for print server"
    return STATE_LABELS[job.state]


def print_submission(
    submission: Submission, printer: str, *, directory: Path, requested_by: str | None
) -> PrintJob:
    """Store a print job first, then hand it to the printer.

    The row is committed before CUPS is called, so a job is never lost: if the
    print server is down, the job stays on the desk as failed, with the
    reason, and is sent again by itself once the server is back.
    """
    job = PrintJob(submission=submission, printer=printer, state="queued", requested_by=requested_by)
    db.session.add(job)
    db.session.commit()
    send(job, directory=directory)
    return job


def send(job: PrintJob, *, directory: Path) -> None:
    """Hand a stored job to its printer and record what happened."""
    title = job.submission.claim_code
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


def retry(job: PrintJob, *, directory: Path) -> None:
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
    send(job, directory=directory)


def resend_waiting_jobs(*, directory: Path, within: timedelta) -> None:
    """Send again the jobs that failed only because the print server was down,
    once it answers. Jobs asked for longer ago than `within` are left for
    staff to retry: the patient has probably gone home."""
    waiting = db.session.scalars(
        select(PrintJob)
        .where(PrintJob.state == "failed", PrintJob.reason == WAITING_FOR_SERVER)
        .order_by(PrintJob.id)
    ).all()
    if not waiting:
        return
    cutoff = utcnow() - within
    for job in waiting:
        if job.created_at < cutoff:
            _set(job, "failed", printing.SERVER_DOWN)
    db.session.commit()
    recent = [job for job in waiting if job.reason == WAITING_FOR_SERVER]
    if not recent or not printing.scheduler_running():
        return
    for job in recent:
        if _claim(job):
            log.info("print server is back: sending print job %s again", job.id)
            send(job, directory=directory)


def _claim(job: PrintJob) -> bool:
    """Move a failed job back to queued, in one conditional UPDATE, so that of
    two requests sending it again (two desks, a double tap) only one does."""
    claimed = db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.state == "failed")
        .values(state="queued", reason="", cups_job_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()  # also expires `job`, so it is read again below
    return claimed == 1


def refresh(job: PrintJob) -> None:
    """Ask CUPS how a job sent to it is doing."""
    if job.state not in ("sent", "printing", "held") or not job.cups_job_id:
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
    interrupted = db.session.scalars(
        select(PrintJob).where(PrintJob.state == "queued", PrintJob.updated_at < utcnow() - INTERRUPTED_AFTER)
    ).all()
    for job in interrupted:
        log.warning("sending print job %s was interrupted", job.id)
        _set(job, "failed", INTERRUPTED)
    refresh_jobs(
        db.session.scalars(
            select(PrintJob)
            .where(PrintJob.state.in_(("sent", "printing", "held")))
            .order_by(PrintJob.id)
            .limit(limit)
        ).all()
    )


def _set(job: PrintJob, state: str, reason: str) -> None:
    # Assign only real changes: an unchanged row keeps its updated_at, so the
    # desk's conditional poll still answers "nothing new".
    if job.state != state:
        job.state = state
    if job.reason != reason:
        job.reason = reason


def auto_print(submission: Submission, printer: str, *, directory: Path, kiosk: str) -> None:
    """Print a just-finished handout if this kiosk is set to. Never fails the
    patient's visit: a problem shows on the desk as a failed job."""
    if not printer or submission.print_jobs:
        return
    try:
        print_submission(submission, printer, directory=directory, requested_by=kiosk)
    except Exception:
        log.exception("automatic print to %r failed", printer)
        db.session.rollback()


def remove_saved_copies(submission: Submission) -> None:
    """Delete the PDFs the directory printer saved for this handout."""
    for job in submission.print_jobs:
        if job.saved_path:
            Path(job.saved_path).unlink(missing_ok=True)
