"""``GET /healthz`` for load balancers and monitoring: 200 only when this
host's database accepts a write and a worker is alive, 503 otherwise, so
that a load balancer stops sending kiosks to a broken host."""

from __future__ import annotations

import logging
import socket

from flask import Blueprint, jsonify
from sqlalchemy import update

from . import front_desk
from .extensions import db
from .models import HealthProbe, utcnow

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def database_accepts_a_write() -> bool:
    """Write this host's probe row and commit it: a database that is down,
    full, locked or read-only says no."""
    host = socket.gethostname()[:120]
    try:
        now = utcnow()
        if not db.session.execute(
            update(HealthProbe).where(HealthProbe.host == host).values(checked_at=now)
        ).rowcount:
            db.session.add(HealthProbe(host=host, checked_at=now))
        db.session.commit()
        return True
    except Exception as error:  # any database failure means "not healthy", never a 500
        log.error("health check: the database refused a write (%s)", type(error).__name__)
        db.session.rollback()
        return False


@bp.get("/healthz")
def healthz():
    database = "ok" if database_accepts_a_write() else "unavailable"
    worker = "unknown"
    if database == "ok":
        worker = "running" if front_desk.worker_running() else "not running"
    healthy = database == "ok" and worker == "running"
    body = {"status": "ok" if healthy else "error", "database": database, "worker": worker}
    return jsonify(body), 200 if healthy else 503
