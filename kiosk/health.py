"""``GET /healthz`` for load balancers and monitoring."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from . import front_desk
from .extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # any database failure means "not healthy", never a 500
        log.exception("health check: database unreachable")
        db.session.rollback()
        database = "unavailable"
    status = "ok" if database == "ok" else "error"
    # Reported, not judged: a host whose web side works still serves kiosks
    # while no worker runs (handouts wait, and the desk says so).
    worker = "unknown"
    if database == "ok":
        worker = "running" if front_desk.worker_running() else "not running"
    return jsonify(status=status, database=database, worker=worker), 200 if status == "ok" else 503
