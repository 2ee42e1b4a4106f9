"""Database set-up: SQLite pragmas and table creation."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    # WAL lets the desk read while a kiosk writes; the busy timeout makes a
    # writer wait for the lock instead of failing; SQLite leaves foreign keys
    # off unless asked.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


def create_tables() -> None:
    """Create every table straight from the models (tests use this: it is quick)."""
    from . import models  # noqa: F401  (registers the tables)

    db.create_all()


def upgrade_database() -> None:
    """Bring the database to the latest migration (safe to run again)."""
    from flask_migrate import upgrade

    from . import models  # noqa: F401

    upgrade()
