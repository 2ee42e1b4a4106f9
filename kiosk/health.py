"""``GET /healthz`` for load balancers and monitoring: 200 only when this
host's database accepts a write, its disk has room and a worker is alive,
503 otherwise, so that a load balancer stops sending kiosks to a broken host.

The body says which: ``database`` is "ok", "unavailable", "disk full" or
"read-only"; ``disk`` is "ok" or "full"; ``worker`` is "running", "not
running" or "unknown"; and ``reason``, when something is wrong, says what
to do. While the disk is short of ``DISK_RESERVE_MB`` the probe writes
nothing: probing a full disk must not fill it further."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from flask import Blueprint, jsonify
from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite

from . import storage
from .extensions import db
from .models import HealthProbe, WorkerBeat, utcnow

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

WORKER_SILENT_AFTER = timedelta(seconds=30)

DATABASE_REASONS = {
    "unavailable": "The database cannot be reached or refused a write. Check that it is running.",
    storage.DISK_FULL: "The database's disk is full: it can be read but not written. Free some space on it.",
    storage.READ_ONLY: "The database or its disk is read-only. Make it writable again.",
    storage.DISK_ERROR: "The database's disk fails to write: it can be read but not written. Check the disk.",
}
WORKER_REASON = "No worker has been heard from for 30 seconds: handouts are not being made or printed."


def _upsert(host: str, now):
    """One statement that writes this host's probe row whether or not it is
    there yet: two probes at once on a new database both succeed."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    return (
        insert(HealthProbe)
        .values(host=host, checked_at=now)
        .on_conflict_do_update(index_elements=[HealthProbe.host], set_={"checked_at": now})
    )


def database_accepts_a_write(*, quiet: bool = False) -> str:
    """Write this host's probe row and commit it. Returns "ok", or what
    refused it: "disk full", "read-only", "disk error" or "unavailable"
    (down, locked, …). ``quiet``: a refusal is not logged as an error (the
    caller asks often while it is expected)."""
    host = socket.gethostname()[:120]
    try:
        db.session.execute(_upsert(host, utcnow()))
        db.session.commit()
        return "ok"
    except Exception as error:  # any database failure means "not healthy", never a 500
        refused = storage.refusal(error) or "unavailable"
        (log.debug if quiet else log.error)(
            "health check: the database refused a write (%s: %s)", type(error).__name__, refused
        )
        db.session.rollback()
        return refused


def writes_refused() -> str | None:
    """Why nothing can be saved just now ("disk full", "read-only", ...), or
    None when it can. Writes nothing while the disk is short of its reserve;
    otherwise writes the probe row."""
    if storage.low_on_space() is not None:
        return storage.DISK_FULL
    found = database_accepts_a_write(quiet=True)
    return None if found == "ok" else found


@bp.get("/healthz")
def healthz():
    low = storage.low_on_space()
    database = storage.DISK_FULL if low else database_accepts_a_write()
    worker = "unknown"
    if database in ("ok", storage.DISK_FULL, storage.READ_ONLY, storage.DISK_ERROR):
        try:
            worker = "running" if worker_running() else "not running"
        except Exception:  # reading may fail too; the database's state says why
            db.session.rollback()
    healthy = database == "ok" and worker == "running"
    body = {
        "status": "ok" if healthy else "error",
        "database": database,
        "disk": "full" if low or database == storage.DISK_FULL else "ok",
        "worker": worker,
    }
    if low:
        body["reason"] = low.describe()
    elif database != "ok":
        body["reason"] = DATABASE_REASONS[database]
    elif worker != "running":
        body["reason"] = WORKER_REASON
    return jsonify(body), 200 if healthy else 503


def worker_running() -> bool:
    """Whether any worker has been heard from lately."""
    recent = WorkerBeat.seen_at > utcnow() - WORKER_SILENT_AFTER
    return db.session.scalar(select(exists().where(recent))) is True
