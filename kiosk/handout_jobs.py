"""Handouts as stored rows: finished by the patient (preparing), rendered by a
worker (ready, or failed), retried from the desk.

Finishing a visit only stores the row (``visits.finish_visit``), so the
patient sees their claim code at once; ``render_next`` runs in the worker,
renders the PDF with ``handout.handout_pdf`` and, where the clinic prints
every handout, asks for the print in the same transaction.

This is the render lane: every PDF is made here. The records letter printed
alone is made by ``render_letter_next`` once the desk asks for it, and the
handout in braille (``kiosk.braille``) by ``render_braille_next`` once the
desk asks to emboss it; each is stored beside the handout's PDF, and the
print lane only sends the files.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute

from . import audit, braille, leases, print_jobs
from .extensions import db
from .handout import asks_for_letter, handout_pdf
from .models import Handout, HandoutState, PrintJob, PrintState, utcnow

log = logging.getLogger(__name__)

# A handout that fails to render is tried this many times, a little later
# each time, before the desk is told.
MAX_ATTEMPTS = 3
RETRY_AFTER = 5.0
RENDER_FAILED = (
    "The handout could not be made. Tap Retry; if it fails again, ask IT to look at the worker's log."
)


def render_next(owner: str) -> bool:
    """Claim the oldest handout still preparing and render it. Returns whether there was one."""
    claimed = leases.claim_and_act(
        Handout,
        Handout.state == HandoutState.PREPARING,
        act=render,
        owner=owner,
        seconds=current_app.config["JOB_LEASE_SECONDS"],
        order_by=Handout.id,
    )
    return claimed is not None


def render_letter_next(owner: str) -> bool:
    """Claim the oldest ready handout whose records letter a print job waits
    for, and make the letter. Returns whether there was one."""
    return _make_asked_part(print_jobs.LETTER, Handout.letter_pdf, render_letter, owner)


def render_braille_next(owner: str) -> bool:
    """Claim the oldest ready handout whose braille a print job waits for,
    and make it. Returns whether there was one."""
    return _make_asked_part(print_jobs.BRAILLE, Handout.braille, render_braille, owner)


def _make_asked_part(
    part: str, stored: InstrumentedAttribute[bytes | None], act: Callable[[Handout, str], None], owner: str
) -> bool:
    # Found from the queued jobs for the part (a few, by their state's index),
    # not by looking at every ready handout: the render lane asks this whenever
    # it is idle, and SQLite reads past a handout's PDF to see its other parts.
    asked = select(PrintJob.handout_id).where(PrintJob.part == part, PrintJob.state == PrintState.QUEUED)
    claimed = leases.claim_and_act(
        Handout,
        Handout.state == HandoutState.READY,
        stored.is_(None),
        Handout.id.in_(asked),
        act=act,
        owner=owner,
        seconds=current_app.config["JOB_LEASE_SECONDS"],
        order_by=Handout.id,
        count_attempt=False,
    )
    return claimed is not None


def render(handout: Handout, owner: str) -> None:
    """Render a claimed handout and store it; auto-print it if the clinic does."""
    visit = handout.visit
    try:
        pdf, pages = handout_pdf(
            visit.answers or {},
            language=handout.language,
            claim_code=handout.claim_code,
            created_at=handout.created_at,
        )
    except Exception as error:  # any failure: retry, then tell the desk; never lose the row
        _failed(handout, owner, error)
        return
    ready = leases.while_held(
        Handout,
        handout.id,
        owner,
        pdf=pdf,
        page_count=pages,
        state=HandoutState.READY,
        ready_at=utcnow(),
        error="",
    )
    if ready:
        print_jobs.auto_print_job(handout)
    db.session.commit()
    log.info("handout %s ready: %d pages (%s)", handout.id, pages, owner)


def render_letter(handout: Handout, owner: str) -> None:
    """Make the records letter of a claimed ready handout (a page, in a few
    tens of milliseconds) and store it for the print lane to send. When it
    cannot be made, the print jobs waiting for it fail and say why; their
    Retry asks for it again."""
    answers = handout.visit.answers or {}
    if not asks_for_letter(answers):
        _part_refused(handout, owner, print_jobs.NO_LETTER)
        return
    try:
        pdf, _pages = handout_pdf(
            answers,
            language=handout.language,
            claim_code=handout.claim_code,
            created_at=handout.created_at,
            letter_only=True,
        )
    except Exception as error:  # staff see why, and may retry
        _log_failure(f"making the records letter of handout {handout.id}", error)
        db.session.rollback()
        _part_refused(handout, owner, print_jobs.LETTER_FAILED)
        return
    leases.while_held(Handout, handout.id, owner, letter_pdf=pdf)
    db.session.commit()
    log.info("handout %s: records letter ready (%s)", handout.id, owner)


def render_braille(handout: Handout, owner: str) -> None:
    """Make the braille of a claimed ready handout (BRF, in its language) and
    store it for the print lane to send to the embosser. When it cannot be
    made (no braille table for the language, liblouis missing), the print
    jobs waiting for it fail and say why; their Retry asks for it again."""
    try:
        brf, pages = braille.handout_brf(
            handout.visit.answers or {},
            language=handout.language,
            claim_code=handout.claim_code,
            created_at=handout.created_at,
        )
    except braille.BrailleUnavailable as error:
        log.warning("handout %s: no braille: %s", handout.id, error.reason)
        db.session.rollback()
        _part_refused(handout, owner, error.reason, part=print_jobs.BRAILLE)
        return
    except Exception as error:  # staff see why, and may retry
        _log_failure(f"making the braille of handout {handout.id}", error)
        db.session.rollback()
        _part_refused(handout, owner, print_jobs.BRAILLE_FAILED, part=print_jobs.BRAILLE)
        return
    leases.while_held(Handout, handout.id, owner, braille=brf)
    db.session.commit()
    log.info("handout %s: braille ready, %d pages (%s)", handout.id, pages, owner)


def _part_refused(handout: Handout, owner: str, reason: str, *, part: str = print_jobs.LETTER) -> None:
    """Fail the print jobs waiting for a part of the handout (its records
    letter, its braille) that cannot be made."""
    if leases.while_held(Handout, handout.id, owner):
        db.session.execute(
            update(PrintJob)
            .where(
                PrintJob.handout_id == handout.id,
                PrintJob.part == part,
                PrintJob.state == PrintState.QUEUED,
                leases.is_free(PrintJob, utcnow()),
            )
            .values(state=PrintState.FAILED, reason=reason)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _log_failure(what: str, error: Exception) -> None:
    # The message of an error inside rendering may quote the patient's words:
    # log where it happened, not what it says.
    where = "".join(traceback.format_tb(error.__traceback__, limit=-3))
    log.error("%s failed (%s):\n%s", what, type(error).__name__, where)


def _failed(handout: Handout, owner: str, error: Exception) -> None:
    _log_failure(f"rendering handout {handout.id}, attempt {handout.attempts},", error)
    db.session.rollback()
    if handout.attempts < MAX_ATTEMPTS:
        # Released with a lease that runs out a little later: tried again then.
        later = utcnow() + timedelta(seconds=RETRY_AFTER * handout.attempts)
        leases.while_held(Handout, handout.id, owner, release=False, lease_owner=None, lease_until=later)
    else:
        leases.while_held(Handout, handout.id, owner, state=HandoutState.FAILED, error=RENDER_FAILED)
    db.session.commit()


def retry(handout: Handout, *, staff: str) -> bool:
    """Make a handout that failed to render again (the desk's Retry)."""
    retried = db.session.execute(
        update(Handout)
        .where(Handout.id == handout.id, Handout.state == HandoutState.FAILED)
        .values(state=HandoutState.PREPARING, error="", attempts=0, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if retried:
        audit.record(staff, "retry-handout", f"handout {handout.claim_code}")
    db.session.commit()
    db.session.refresh(handout)
    return retried == 1
