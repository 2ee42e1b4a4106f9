"""Print jobs as stored rows: asked for on the desk (or by auto-print), sent
and followed by the worker. The CUPS commands themselves live in ``printing``.

A web request only stores a job (``request_print``, ``retry``); everything
that talks to the print server (``send_next``, ``follow_due``,
``wake_waiting``, ``refresh_printers``) runs in the worker, so a slow or
hung print server never holds a desk page or a patient's Finish.

Printing only sends files the render lane made (``handout_jobs``): the
handout's PDF, its records letter alone, which a letter job waits for, or
the handout in braille (a BRF), which a braille job waits for and which goes
only to a braille embosser, as it is. A PDF never goes to a queue known as an
embosser (``is_embosser``): such a job fails with the reason, auto-print's too.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from . import audit, enrolled_kiosks, leases, printing, statistics
from .extensions import db
from .models import Handout, HandoutState, Printer, PrintJob, PrintState, utcnow

log = logging.getLogger(__name__)

# What a job prints: the whole handout, its records-request letter alone, or
# the handout in braille (on an embosser).
HANDOUT = "handout"
LETTER = "letter"
BRAILLE = "braille"
PARTS = {HANDOUT: "Handout", LETTER: "Records letter only", BRAILLE: "Braille"}
# What the audit log calls each.
_AUDITED_AS = {HANDOUT: "handout", LETTER: "records letter of handout", BRAILLE: "braille of handout"}

STATE_LABELS = {
    PrintState.QUEUED: "Waiting to send",
    PrintState.WAITING: "Waiting for print server",
    PrintState.SENT: "Queued at printer",
    PrintState.PRINTING: "Printing",
    PrintState.HELD: "Held",
    PrintState.COMPLETED: "Printed",
    PrintState.FAILED: "Failed",
}

# Shown while a job waits for the print server (display only: the state
# says it waits).
WAITING_FOR_SERVER = (
    "The print server is not running or cannot be reached. "
    "This handout will be sent by itself when it is back, or tap Retry."
)
NOT_SENT_AGAIN = (
    "Not sent again by itself: this handout has been printed again or handed over since. "
    "Tap Retry to print this copy anyway."
)
NO_LETTER = "This handout has no records letter: the patient did not ask for one."
LETTER_FAILED = "The records letter could not be made. Tap Retry; if it fails again, print the whole handout."
BRAILLE_FAILED = (
    "The braille handout could not be made. Tap Retry; if it fails again, "
    "ask IT to look at the worker's log, and offer the large print."
)
RENDER_MISSING = (
    "The handout's PDF is missing. Tap Retry on the handout, or ask IT to look at the worker's log."
)
CANNOT_TELL = (
    "Sending this job was interrupted, and CUPS could not say whether it arrived. "
    "Check the printer, and tap Retry if it did not print."
)

# Seconds. A send is bounded by the CUPS tools' own time-outs (lp gives up
# after printing.SUBMIT_TIMEOUT); its lease (JOB_LEASE_SECONDS) outlasts
# that with room to spare, so a live send is never taken over.
CHECK_LEASE = 60.0
# How often a job at the printer is asked about, and how often the print
# server is tried while jobs wait for it.
FOLLOW_EVERY = 2.0
SERVER_CHECK_EVERY = 5.0
# After CUPS failed to answer about a job, wait longer before asking again.
FOLLOW_BACKOFF = 10.0


def label(job: PrintJob) -> str:
    """A job's state as the desk shows it."""
    if job.state == PrintState.QUEUED and job.handout.state != HandoutState.READY:
        return "Waiting for the handout"
    return STATE_LABELS[job.state]


# --- asked for on the desk (web requests: rows only) ----------------------------


def request_print(handout: Handout, printer: str, *, staff: str, part: str = HANDOUT) -> PrintJob:
    """Store a print job for the worker to send, with its audit entry, in one
    transaction. ``part``: the whole handout, or its records letter alone."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}")
    reprint = any(job.part == part for job in handout.print_jobs)
    job = PrintJob(handout=handout, printer=printer, part=part, requested_by=staff, requested_at=utcnow())
    db.session.add(job)
    what = _AUDITED_AS[part]
    audit.record(staff, "reprint" if reprint else "print", f"{what} {handout.claim_code} to {printer}")
    db.session.commit()
    return job


def retry(job: PrintJob, *, staff: str) -> bool:
    """Send a failed or waiting job again, now. The worker cancels a job CUPS
    still has first, so that it cannot print later as a second copy. A second
    tap, or a worker already resending it, changes nothing."""
    retried = db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.state.in_((PrintState.FAILED, PrintState.WAITING)))
        .values(state=PrintState.QUEUED, reason="", requested_at=utcnow(), check_after=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if retried:
        what = _AUDITED_AS.get(job.part, "handout")
        audit.record(staff, "retry-print", f"{what} {job.handout.claim_code} to {job.printer}")
    db.session.commit()
    db.session.refresh(job)
    return retried == 1


def auto_print_job(handout: Handout) -> PrintJob | None:
    """The print job auto-print asks for once a handout is ready, if its
    kiosk (or else the clinic, AUTO_PRINT_PRINTER) prints every handout.
    Added, not committed: it commits with the handout becoming ready.

    On a queue known as a braille embosser the job is stored as failed, with
    the reason: the desk sees it, and prints the handout on paper."""
    printer = enrolled_kiosks.auto_print_printer(handout.kiosk) or current_app.config["AUTO_PRINT_PRINTER"]
    already = db.session.scalar(select(exists().where(PrintJob.handout_id == handout.id)))
    if not printer or already:
        return None
    job = PrintJob(handout_id=handout.id, printer=printer, requested_by=handout.kiosk, requested_at=utcnow())
    if is_embosser(printer):
        log.warning(
            "auto-print is set to the braille embosser %r: handout %s is not printed", printer, handout.id
        )
        job.state, job.reason = PrintState.FAILED, pdf_to_embosser(printer, auto=True)
    db.session.add(job)
    return job


def pdf_to_embosser(printer: str, *, auto: bool = False) -> str:
    """Why a PDF job for a braille embosser is not sent, for staff."""
    why = f"“{printer}” is a braille embosser: it is never sent a PDF. Print it on a paper printer"
    if auto:
        return f"{why}; an admin can choose another printer for printing every handout."
    return f"{why}, or tap Emboss in braille."


def is_embosser(printer: str) -> bool:
    """Whether a queue is known as a braille embosser: by its driver (as the
    worker last found it in CUPS) or by BRAILLE_PRINTERS."""
    if printer in braille_printers():
        return True
    return bool(db.session.scalar(select(Printer.embosser).where(Printer.name == printer)))


def remove_saved_copies(handout: Handout) -> None:
    """Delete the PDFs the directory printer saved for this handout."""
    for job in handout.print_jobs:
        if job.saved_path:
            Path(job.saved_path).unlink(missing_ok=True)


# --- sending (the worker) -------------------------------------------------------


def send_next(owner: str) -> bool:
    """Claim the oldest queued job whose file is made (the handout ready, and
    for a letter or braille job its letter or braille too) and send it.
    Returns whether there was one."""
    ready = select(Handout.id).where(Handout.state == HandoutState.READY)
    letter_made = ready.where(Handout.letter_pdf.is_not(None))
    braille_made = ready.where(Handout.braille.is_not(None))
    claimed = leases.claim_and_act(
        PrintJob,
        PrintJob.state == PrintState.QUEUED,
        or_(
            and_(PrintJob.part.not_in((LETTER, BRAILLE)), PrintJob.handout_id.in_(ready)),
            and_(PrintJob.part == LETTER, PrintJob.handout_id.in_(letter_made)),
            and_(PrintJob.part == BRAILLE, PrintJob.handout_id.in_(braille_made)),
        ),
        act=send,
        owner=owner,
        seconds=current_app.config["JOB_LEASE_SECONDS"],
        order_by=PrintJob.id,
    )
    return claimed is not None


def send(job: PrintJob, owner: str) -> None:
    """Hand a claimed job to its printer and record what happened.

    Safe to run again for a job whose earlier send was cut off (a worker
    killed while `lp` ran, an `lp` that timed out): a title unique to the job
    is stored before `lp` runs, and while a job has a title but no CUPS job
    id, CUPS is first asked for a job of that title, so that a send that did
    arrive is followed rather than printed twice. The directory printer
    saves under the title, so saving again rewrites the same file."""
    unsure = False  # whether an earlier send, or this one, may have reached CUPS
    try:
        if job.cups_job_id:
            # A retry of a job CUPS has (held, or failed there): cancel it
            # first, so that it cannot print later as a second copy.
            printing.cancel_job(job.cups_job_id)
            job.cups_job_id = job.sent_title = None
            _note(job, owner, cups_job_id=None, sent_title=None)
        if job.part != BRAILLE and is_embosser(job.printer):
            raise printing.PrintError(
                pdf_to_embosser(job.printer, auto=job.requested_by == job.handout.kiosk)
            )
        if job.sent_title:
            unsure = True
            if found := printing.find_job(job.printer, job.sent_title):
                log.info("print job %s had reached CUPS as %s before its send was cut off", job.id, found)
                _record(job, owner, state=PrintState.SENT, reason="", cups_job_id=found, check_after=utcnow())
                return
            unsure = False
        else:
            job.sent_title = _title(job)
            _note(job, owner, sent_title=job.sent_title)
        submitted = printing.submit(
            job.printer,
            _document(job),
            job.sent_title,
            directory=Path(current_app.config["PRINT_DIRECTORY"]),
            raw=job.part == BRAILLE,
        )
    except printing.PrintServerDown as error:
        log.warning("print job %s to %r waits for the print server: %s", job.id, job.printer, error.detail)
        unsure = unsure or isinstance(error, printing.PrintServerTimeout)
        _record(
            job,
            owner,
            state=PrintState.WAITING,
            reason=WAITING_FOR_SERVER,
            sent_title=job.sent_title if unsure else None,
            check_after=utcnow() + timedelta(seconds=SERVER_CHECK_EVERY),
        )
    except printing.PrintError as error:
        log.warning("print job %s to %r failed: %s", job.id, job.printer, error.detail or error.reason)
        # When CUPS cannot say whether a cut-off send arrived, staff decide,
        # and their Retry sends it afresh.
        _record(
            job,
            owner,
            state=PrintState.FAILED,
            reason=CANNOT_TELL if unsure else error.reason,
            sent_title=None,
        )
    else:
        _record(
            job,
            owner,
            state=PrintState(submitted.state),
            reason="",
            cups_job_id=submitted.job_id,
            saved_path=str(submitted.path) if submitted.path else None,
            check_after=utcnow() + timedelta(seconds=FOLLOW_EVERY),
        )


def _document(job: PrintJob) -> bytes:
    """What the job prints, as the render lane made it: the handout's PDF, its
    records letter alone, or its braille."""
    if job.part == BRAILLE:
        document, missing = job.handout.braille, BRAILLE_FAILED
    elif job.part == LETTER:
        document, missing = job.handout.letter_pdf, LETTER_FAILED
    else:
        document, missing = job.handout.pdf, RENDER_MISSING
    if document is None:  # not made (yet): never sent half-made
        raise printing.PrintError(missing)
    return document


def _title(job: PrintJob) -> str:
    """The job's title at the printer: the claim code staff know, the job, and
    a random part, so that no two sends share a title, even across databases
    sharing one print server, and a cut-off send is never mistaken for another."""
    return f"{job.handout.claim_code}-{job.id}-{secrets.token_hex(2)}"


def _record(job: PrintJob, owner: str, **values) -> None:
    """Store what became of a claimed job and release it, if this worker
    still holds it."""
    if not leases.while_held(PrintJob, job.id, owner, **values):
        log.warning("print job %s was taken over by another worker; its result was not stored", job.id)
    elif (
        values.get("state") == PrintState.COMPLETED
        and job.state != PrintState.COMPLETED
        and job.part == HANDOUT
    ):
        statistics.handout_printed(job.handout.kiosk)
    db.session.commit()


def _note(job: PrintJob, owner: str, **values) -> None:
    """Store a step of a send still under way (committed before the next
    step talks to CUPS), keeping the claim."""
    leases.while_held(PrintJob, job.id, owner, release=False, **values)
    db.session.commit()


# --- following (the worker) -----------------------------------------------------


def follow_due(owner: str, limit: int = 50) -> int:
    """Ask CUPS about the jobs at the printer that are due a look. Stops at
    the first sign that the print server is down. Returns how many were asked about."""
    asked = 0
    while asked < limit:
        answered = leases.claim_and_act(
            PrintJob,
            PrintJob.state.in_(PrintJob.AT_PRINTER),
            PrintJob.check_after <= utcnow(),
            act=follow,
            owner=owner,
            seconds=CHECK_LEASE,
            order_by=PrintJob.check_after,
            count_attempt=False,
        )
        if answered is None:
            break
        asked += 1
        if not answered:
            break
    return asked


def follow(job: PrintJob, owner: str) -> bool:
    """Bring one claimed job up to date with CUPS. False when CUPS did not answer."""
    try:
        status = printing.job_status(job.printer, job.cups_job_id or "")
    except printing.PrintError as error:
        # CUPS cannot be asked right now: keep the last state and say why.
        _record(job, owner, reason=error.reason, check_after=utcnow() + timedelta(seconds=FOLLOW_BACKOFF))
        return False
    values = {"check_after": utcnow() + timedelta(seconds=FOLLOW_EVERY)}
    # Write only real changes: an unchanged row keeps its updated_at, so the
    # desk's conditional poll still answers "nothing new".
    if job.state != status.state or job.reason != status.reason:
        values.update(state=PrintState(status.state), reason=status.reason)
    _record(job, owner, **values)
    return True


# --- waiting for the print server (the worker) ---------------------------------


def wake_waiting() -> int:
    """Jobs that wait for the print server: queue them again once it answers.

    Left for staff instead: a job asked for more than PRINT_RESEND_MINUTES
    ago (the patient has probably gone home), and a job whose handout has
    been printed again or handed over since (it would be a second copy).
    Returns how many were queued again."""
    now = utcnow()
    waiting = PrintState.WAITING
    due = select(PrintJob.id).where(PrintJob.state == waiting, PrintJob.check_after <= now)
    if db.session.scalar(select(exists(due))) is not True:
        db.session.rollback()
        return 0
    later = aliased(PrintJob)
    superseded = (
        select(PrintJob.id)
        .join(Handout, Handout.id == PrintJob.handout_id)
        .where(
            PrintJob.state == waiting,
            Handout.handed_over_at.is_not(None)
            | exists().where(
                later.handout_id == PrintJob.handout_id, later.id > PrintJob.id, later.part == PrintJob.part
            ),
        )
    )
    _give_up(PrintJob.id.in_(superseded), NOT_SENT_AGAIN)
    cutoff = now - timedelta(minutes=current_app.config["PRINT_RESEND_MINUTES"])
    _give_up(PrintJob.requested_at < cutoff, printing.SERVER_DOWN)
    if not printing.scheduler_running():
        db.session.execute(
            update(PrintJob)
            .where(PrintJob.state == waiting)
            .values(check_after=now + timedelta(seconds=SERVER_CHECK_EVERY))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return 0
    woken = db.session.execute(
        update(PrintJob)
        .where(PrintJob.state == waiting)
        .values(state=PrintState.QUEUED, reason="", check_after=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if woken:
        log.info("print server is back: sending %d waiting print job(s)", woken)
    return woken


def _give_up(condition, reason: str) -> None:
    db.session.execute(
        update(PrintJob)
        .where(PrintJob.state == PrintState.WAITING, condition)
        .values(state=PrintState.FAILED, reason=reason, check_after=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


# --- the printers the desk offers ------------------------------------------------


def refresh_printers() -> None:
    """Store the printers CUPS lists now, for the desk to offer without asking
    CUPS itself. A printer CUPS no longer lists (or cannot list, being down)
    is kept as not listed, so the usual one stays selectable."""
    found = {p.name: p for p in printing.list_printers() if not p.is_directory}
    stored = {p.name: p for p in db.session.scalars(select(Printer)).all()}
    embossers = braille_printers()
    for name, printer in found.items():
        row = stored.get(name) or Printer(name=name)
        row.label, row.state, row.reason, row.listed = printer.label, printer.state, printer.reason, True
        row.embosser = printer.embosser or name in embossers
        db.session.add(row)
    for name, row in stored.items():
        if name not in found and row.listed:
            row.listed, row.state, row.reason = False, "unknown", "not listed by CUPS now"
    db.session.commit()


def braille_printers() -> set[str]:
    """The queues BRAILLE_PRINTERS names as embossers, besides those whose
    driver says so."""
    return {name.strip() for name in current_app.config["BRAILLE_PRINTERS"].split(",") if name.strip()}
