"""Keeping patient data only as long as needed, then making it gone.

``purge`` deletes what has outlived its setting; the worker runs it every
minute and ``flask --app wsgi kiosk purge`` runs it at once:

- a visit left unfinished: VISIT_EXPIRY_MINUTES after it was last touched,
  whether or not its browser comes back (the statistics count it as
  abandoned, at its step: ``kiosk.statistics`` keeps counts, never visits);
- a finished visit, its answers, its handout PDF, its print jobs and the
  directory printer's copies: RETENTION_HOURS after finishing, or sooner,
  HANDED_OVER_RETENTION_MINUTES after it was handed over, if that is set;
- an alert: RETENTION_HOURS after it was acknowledged (never before: an
  urgent sign waits for staff);
- sign-in attempts after their window, ended desk sessions after a day;
- the audit log (which holds no patient text): after AUDIT_RETENTION_DAYS.

"Gone" means gone from disk: SQLite overwrites deleted content
(``secure_delete``, set on every connection in ``database``), and after a
purge the write-ahead log is checkpointed and truncated, so no old page
holding a patient's words is left in it. On PostgreSQL, deleted rows are
reclaimed by autovacuum; the database's own disk encryption and backups are
the health system's to set.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, or_, select, text, update

from . import statistics
from .auth import FAILURE_WINDOW
from .extensions import db
from .models import Alert, AuditEvent, Handout, SignInFailure, StaffSession, Visit, utcnow
from .print_jobs import remove_saved_copies

log = logging.getLogger(__name__)

# What the directory printer writes: CODE-JOB-RANDOM.pdf, and its temporary
# ".*.part" files. Only these are swept from the folder, which a clinic may
# have pointed somewhere shared.
_SAVED_COPY = re.compile(r"^[A-Z0-9]{1,8}-\d+-[0-9a-f]{4}\.pdf$|^\..*\.part$")
ENDED_SESSIONS_KEPT = timedelta(days=1)


@dataclass
class Purged:
    abandoned_visits: int = 0
    handouts: int = 0
    alerts: int = 0
    saved_copies: int = 0
    sign_in_attempts: int = 0
    desk_sessions: int = 0
    audit_events: int = 0

    @property
    def anything(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, f.name)} {f.name.replace('_', ' ')}" for f in fields(self))


def purge() -> Purged:
    """Delete everything past its retention now. Returns what went."""
    config = current_app.config
    now = utcnow()
    purged = Purged()

    stale = select(Visit.id).where(
        Visit.finished_at.is_(None),
        Visit.updated_at < now - timedelta(minutes=config["VISIT_EXPIRY_MINUTES"]),
    )
    purged.abandoned_visits = _delete_abandoned(stale)

    due = [Handout.created_at < now - timedelta(hours=config["RETENTION_HOURS"])]
    if minutes := config["HANDED_OVER_RETENTION_MINUTES"]:
        due.append(Handout.handed_over_at < now - timedelta(minutes=minutes))
    finished = db.session.scalars(select(Handout).where(or_(*due))).all()
    for handout in finished:
        remove_saved_copies(handout)
    purged.handouts = _delete_visits(select(Handout.visit_id).where(Handout.id.in_([s.id for s in finished])))

    kept = timedelta(hours=config["RETENTION_HOURS"])
    purged.alerts = _delete(delete(Alert).where(Alert.acknowledged_at < now - kept))
    purged.sign_in_attempts = _delete(delete(SignInFailure).where(SignInFailure.at < now - FAILURE_WINDOW))
    purged.desk_sessions = _delete(
        delete(StaffSession).where(
            or_(
                StaffSession.ended_at < now - ENDED_SESSIONS_KEPT,
                StaffSession.created_at
                < now - timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]) - ENDED_SESSIONS_KEPT,
            )
        )
    )
    purged.audit_events = _delete(
        delete(AuditEvent).where(AuditEvent.at < now - timedelta(days=config["AUDIT_RETENTION_DAYS"]))
    )
    statistics.fold()
    db.session.commit()
    purged.saved_copies = _sweep_print_folder(Path(config["PRINT_DIRECTORY"]), kept)
    if purged.anything:
        _truncate_sqlite_log()
        log.info("purged %s", purged)
    return purged


def _delete_abandoned(ids) -> int:
    """Delete visits left unfinished, each counted for the statistics at the
    step it was left on. Counted as deleted (RETURNING), so that two workers
    purging at once count each visit once."""
    db.session.execute(update(Alert).where(Alert.visit_id.in_(ids)).values(visit_id=None))
    gone = db.session.execute(
        delete(Visit)
        .where(Visit.id.in_(ids))
        .returning(Visit.kiosk, Visit.completed_steps)
        .execution_options(synchronize_session=False)
    ).all()
    return statistics.visits_purged(gone)


def _delete_visits(ids) -> int:
    """Delete visits (their handouts and print jobs go with them); alerts stay."""
    db.session.execute(update(Alert).where(Alert.visit_id.in_(ids)).values(visit_id=None))
    return _delete(delete(Visit).where(Visit.id.in_(ids)))


def _delete(statement) -> int:
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0


def _sweep_print_folder(folder: Path, kept: timedelta) -> int:
    """The directory printer's copies older than `kept`, whatever became of
    their rows (a copy saved by a worker that died before recording it)."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - kept.total_seconds()
    swept = 0
    for path in folder.iterdir():
        if _SAVED_COPY.match(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            swept += 1
    return swept


def _truncate_sqlite_log() -> None:
    """Fold the write-ahead log into the database and empty it, so that no
    copy of a deleted page stays in it."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
