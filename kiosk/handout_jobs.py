"""Handouts as stored rows: finished by the patient (preparing), rendered by a
worker (ready, or failed), retried from the desk.

Finishing a visit only stores the row (``visits.finish_visit``), so the
patient sees their claim code at once; ``render_next`` runs in the worker,
renders the PDF with ``handout.render_handout`` and, where the clinic prints
every handout, asks for the print in the same transaction.
"""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from . import leases, print_jobs
from .auth import audit
from .extensions import db
from .handout import render_handout
from .models import Handout, HandoutState, utcnow

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
    handout = leases.claim(
        Handout,
        Handout.state == HandoutState.PREPARING,
        owner=owner,
        seconds=current_app.config["JOB_LEASE_SECONDS"],
        order_by=Handout.id,
    )
    if handout is None:
        return False
    render(handout, owner)
    return True


def render(handout: Handout, owner: str) -> None:
    """Render a claimed handout and store it; auto-print it if the clinic does."""
    visit = handout.visit
    try:
        pdf, pages = render_handout(
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


def _failed(handout: Handout, owner: str, error: Exception) -> None:
    # The message of an error inside rendering may quote the patient's words:
    # log where it happened, not what it says.
    where = "".join(traceback.format_tb(error.__traceback__, limit=-3))
    log.error(
        "rendering handout %s failed (%s), attempt %d:\n%s",
        handout.id,
        type(error).__name__,
        handout.attempts,
        where,
    )
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
        audit(staff, "retry-handout", f"handout {handout.claim_code}")
    db.session.commit()
    db.session.refresh(handout)
    return retried == 1
