"""Database set-up: SQLite pragmas, table creation and the SQLite backup."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    # WAL lets the desk read while a kiosk writes; the busy timeout makes a
    # writer wait for the lock instead of failing; SQLite leaves foreign keys
    # off unless asked; secure_delete overwrites deleted rows with zeros, so a
    # purged patient's words do not linger in free pages (kiosk.retention).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            _owner_only(engine.url.database)


def _owner_only(database: str | None) -> None:
    """A database made before the app set its umask: readable by its owner only."""
    if not database or database == ":memory:":
        return
    for path in (Path(database), Path(f"{database}-wal"), Path(f"{database}-shm")):
        try:
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except OSError:  # not ours to change: the service user's install says so
            pass


def create_tables() -> None:
    """Create every table straight from the models (tests use this: it is quick)."""
    from . import models  # noqa: F401  (registers the tables)

    db.create_all()


def upgrade_database() -> None:
    """Bring the database to the latest migration (safe to run again)."""
    from flask_migrate import upgrade

    from . import models  # noqa: F401

    upgrade()


def backup_sqlite(target: Path) -> None:
    """Copy the SQLite database into `target`, consistent while the kiosk runs
    (SQLite's online backup), as one self-contained file readable by its
    owner only, whatever the caller's umask: a backup holds the last day's
    visits. Written beside the target and renamed, so a backup of the same
    name is replaced whole or not at all."""
    engine: Engine = db.engine
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        raise ValueError("only a SQLite database file can be backed up this way")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        source = sqlite3.connect(engine.url.database)
        copy = sqlite3.connect(part)
        try:
            source.backup(copy)
            # The copy needs no write-ahead log beside it to be read.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
        part.chmod(0o600)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
