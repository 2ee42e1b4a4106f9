"""The desk's service layer, what the front desk reads and does: the queue of handouts and alerts,
look-up by claim code, acknowledging an alert, handing over, deleting.

Plain functions over the database, called by the desk's routes (which stay
thin: they read the form, call one of these, and draw the page). Each action
is committed together with its audit entry. Nothing here talks to CUPS: the
printers offered are the ones the worker last found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from .. import audit, printing, statistics, storage
from ..extensions import db
from ..health import worker_running
from ..models import Alert, Handout, Printer, PrintJob, utcnow
from ..print_jobs import remove_saved_copies
from ..visits import CLAIM_CODE_ALPHABET, CLAIM_CODE_LENGTH

QUEUE_LENGTH = 100
OPEN_ALERT = Alert.acknowledged_at.is_(None)


@dataclass(frozen=True)
class Queue:
    alerts: list[Alert]
    handouts: list[Handout]
    worker_running: bool
    # The disk is short of its reserve: nothing new is being saved.
    disk_full: bool = False


def _latest(*columns):
    """The handouts the queue shows: the newest QUEUE_LENGTH."""
    return select(*columns).order_by(Handout.created_at.desc(), Handout.id.desc()).limit(QUEUE_LENGTH)


def queue() -> Queue:
    """What the queue shows. Reads only, so it works on a full disk too."""
    alerts = db.session.scalars(select(Alert).where(OPEN_ALERT).order_by(Alert.created_at.desc())).all()
    handouts = db.session.scalars(_latest(Handout).options(selectinload(Handout.print_jobs))).all()
    return Queue(list(alerts), list(handouts), worker_running(), disk_full())


def disk_full() -> bool:
    """Whether the server's disk is short of its reserve (no write needed to tell)."""
    return storage.low_on_space() is not None


def queue_fingerprint(today: object) -> str:
    """A fingerprint of everything the queue fragment shows: the open alerts,
    the latest handouts and their print jobs (each by id and last change),
    whether a worker runs, whether the disk is full, and `today` (times show as "14:05" today and with
    their date after midnight). If none has changed, the poll answers 304.

    Every row shown is in it, not just the latest change, so two changes
    committed out of order (by two app processes) are both seen."""
    alerts = db.session.execute(select(Alert.id, Alert.updated_at).where(OPEN_ALERT).order_by(Alert.id)).all()
    handouts = db.session.execute(_latest(Handout.id, Handout.updated_at)).all()
    jobs = db.session.execute(
        select(PrintJob.id, PrintJob.updated_at)
        .where(PrintJob.handout_id.in_([row.id for row in handouts]))
        .order_by(PrintJob.id)
    ).all()
    fingerprint = repr((alerts, handouts, jobs, worker_running(), disk_full(), today)).encode()
    return hashlib.sha256(fingerprint).hexdigest()[:32]


def normalise_code(typed: str) -> str | None:
    """A claim code as typed ("k7p 2") in its stored form, or None if it cannot be one."""
    code = "".join((typed or "").split()).upper()
    if len(code) == CLAIM_CODE_LENGTH and set(code) <= set(CLAIM_CODE_ALPHABET):
        return code
    return None


def find_by_code(code: str, *, staff: str) -> Handout | None:
    """The handout with this claim code; the look-up is audited, found or not."""
    handout = db.session.scalar(select(Handout).where(Handout.claim_code == code))
    audit.record(staff, "look-up", f"code {code} {'found' if handout else 'not found'}")
    db.session.commit()
    return handout


def record_view(handout: Handout, *, staff: str) -> None:
    audit.record(staff, "view", f"handout {handout.claim_code}")
    db.session.commit()


def acknowledge(alert: Alert, *, staff: str) -> None:
    """Acknowledge an open alert. Two staff tapping at once: one of them does
    it, so it is audited and counted once."""
    now = utcnow()
    acknowledged = db.session.execute(
        update(Alert)
        .where(Alert.id == alert.id, OPEN_ALERT)
        .values(acknowledged_at=now, acknowledged_by=staff)
        .execution_options(synchronize_session=False)
    ).rowcount
    if acknowledged:
        audit.record(staff, "acknowledge-alert", f"alert {alert.id}")
        statistics.alert_acknowledged(alert.kiosk, waited=now - alert.created_at)
    db.session.commit()


def hand_over(handout: Handout, *, staff: str) -> None:
    if handout.handed_over_at is None:
        handout.handed_over_at = utcnow()
        handout.handed_over_by = staff
        audit.record(staff, "hand-over", f"handout {handout.claim_code}")
        db.session.commit()


def record_preview(handout: Handout, *, staff: str) -> None:
    audit.record(staff, "preview", f"handout {handout.claim_code}")
    db.session.commit()


def delete_handout(handout: Handout, *, staff: str) -> str:
    """Delete a handout, the answers it was made from and the directory
    printer's copies. Returns its claim code."""
    code = handout.claim_code
    remove_saved_copies(handout)
    db.session.delete(handout.visit)
    audit.record(staff, "delete", f"handout {code}")
    db.session.commit()
    return code


def printers(configured: set[str], embossers: set[str] = frozenset()) -> list[printing.CupsQueue]:
    """The printers to offer: those the worker last found in CUPS, those
    `configured` or used before (so the usual printer stays selectable while
    the print server is down), then the folder. `embossers`: queues the
    clinic names as braille embossers (BRAILLE_PRINTERS)."""
    offered = [
        printing.CupsQueue(
            row.name,
            row.label,
            is_directory=False,
            state=row.state,
            reason=row.reason,
            embosser=row.embosser or row.name in embossers,
        )
        for row in db.session.scalars(select(Printer).order_by(Printer.listed.desc(), Printer.name)).all()
    ]
    known = {p.name for p in offered} | {printing.DIRECTORY_PRINTER}
    used = set(db.session.scalars(select(PrintJob.printer).distinct()).all())
    for name in sorted(n for n in (used | configured | embossers) if n and n not in known):
        offered.append(
            printing.CupsQueue(
                name,
                name,
                is_directory=False,
                state="unknown",
                reason="not listed by CUPS now",
                embosser=name in embossers,
            )
        )
    return [*offered, printing.DIRECTORY]
