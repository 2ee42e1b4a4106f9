"""Keeping patient data only as long as needed, then making it gone.

``purge`` deletes what has outlived its setting; the worker runs it every
minute and ``flask --app wsgi kiosk purge`` runs it at once:

- a visit left unfinished: VISIT_EXPIRY_MINUTES after it was last touched,
  whether or not its browser comes back (the statistics count it as
  abandoned, at its step: ``kiosk.statistics`` keeps counts, never visits);
- a finished visit, its answers, its handout PDF (and the records letter
  and braille made from it), its print jobs and the directory printer's copies: RETENTION_HOURS after finishing, or sooner,
  HANDED_OVER_RETENTION_MINUTES after it was handed over, if that is set;
- an alert: RETENTION_HOURS after it was acknowledged (never before: an
  urgent sign waits for staff);
- sign-in attempts after their window, ended desk sessions after a day;
- the audit log (which holds no patient text): after AUDIT_RETENTION_DAYS.

"Gone" means gone from disk: SQLite overwrites deleted content
(``secure_delete``, set on every connection in ``database``), and after a
purge the write-ahead log is checkpointed and truncated, so no old page
holding a patient's words is left in it. PostgreSQL leaves a deleted row in
its table's file as a dead tuple, and a plain VACUUM only marks its space
free (the bytes stay until a new row lands there), so after a purge that
deleted patient rows the patient tables are rewritten (``VACUUM FULL``;
POSTGRES_VACUUM_FULL=0: a plain VACUUM). The write-ahead log, replicas and
backups are the database's own to set (README, What PostgreSQL keeps).
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
from sqlalchemy.exc import SQLAlchemyError

from . import statistics
from .auth import FAILURE_WINDOW
from .extensions import db
from .models import (
    Alert,
    AlertReport,
    AuditEvent,
    Handout,
    PrintJob,
    SignInFailure,
    StaffSession,
    Visit,
    utcnow,
)
from .print_jobs import remove_saved_copies

log = logging.getLogger(__name__)

# What the directory printer writes: CODE-JOB-RANDOM.pdf, and its temporary
# ".*.part" files. Only these are swept from the folder, which a clinic may
# have pointed somewhere shared.
_SAVED_COPY = re.compile(r"^[A-Z0-9]{1,8}-\d+-[0-9a-f]{4}\.pdf$|^\..*\.part$")
ENDED_SESSIONS_KEPT = timedelta(days=1)
# The tables that hold what patients told the kiosk.
PATIENT_TABLES = (Visit, Handout, PrintJob, Alert)
# How long a rewrite waits for its lock (a transaction in its way) before
# trying again after the next purge: while it waits, every kiosk's request
# on those tables queues behind it.
VACUUM_LOCK_TIMEOUT = "500ms"


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


def purge(*, rewrite_now: bool = False) -> Purged:
    """Delete everything past its retention now. Returns what went.

    On PostgreSQL the patient tables are then rewritten if rows were deleted,
    at most every ``POSTGRES_REWRITE_MINUTES`` (the worker purges every
    minute, and each rewrite locks those tables for a moment); ``rewrite_now``
    (``kiosk purge``) does not wait for that."""
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
    # A report's key outlives its alert only when it raised none (the desk had those signs already).
    _delete(delete(AlertReport).where(AlertReport.alert_id.is_(None), AlertReport.created_at < now - kept))
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
    rewrite = current_app.extensions.setdefault("kiosk.rewrite", Rewrite())
    rewrite.owed = rewrite.owed or bool(purged.abandoned_visits or purged.handouts or purged.alerts)
    every = config["POSTGRES_REWRITE_MINUTES"] * 60
    due = rewrite_now or rewrite.at is None or time.monotonic() - rewrite.at >= every
    if rewrite.owed and due and _vacuum_postgresql(full=bool(config["POSTGRES_VACUUM_FULL"])):
        rewrite.owed = False
        rewrite.at = time.monotonic()
    return purged


@dataclass
class Rewrite:
    """This process's rewrites of the patient tables (PostgreSQL)."""

    # Rows were deleted and the tables not rewritten since (not due yet, or
    # the lock was busy): owed to a later purge, even one that deletes nothing.
    owed: bool = False
    # When they were last rewritten (time.monotonic()); None: never.
    at: float | None = None


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


def _vacuum_postgresql(*, full: bool) -> bool:
    """On PostgreSQL, clear deleted patient rows out of the tables' files:
    VACUUM FULL rewrites each table (and its TOAST table and indexes) with
    its live rows only, and the old files are removed at the next
    checkpoint. Outside any transaction, as VACUUM must be. Returns False
    when it could not run, to be tried again after the next purge."""
    if db.engine.dialect.name != "postgresql":
        return True
    quote = db.engine.dialect.identifier_preparer.quote
    tables = ", ".join(quote(model.__tablename__) for model in PATIENT_TABLES)
    started = time.monotonic()
    try:
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text(f"SET lock_timeout = '{VACUUM_LOCK_TIMEOUT}'"))
            try:
                connection.execute(text(f"VACUUM {'FULL ' if full else ''}{tables}"))
            finally:
                connection.execute(text("RESET lock_timeout"))
    except SQLAlchemyError as error:
        log.warning(
            "could not vacuum the patient tables after a purge (%s); trying again after the next one",
            type(getattr(error, "orig", None) or error).__name__,
        )
        return False
    log.info(
        "vacuumed%s the patient tables in %.0f ms",
        " (full)" if full else "",
        (time.monotonic() - started) * 1000,
    )
    return True
