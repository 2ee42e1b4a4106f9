"""Telling a full or read-only disk from other failures, and the worker's
patience with writes the storage refuses (a full PostgreSQL disk, a file
system remounted read-only: free space here does not show those)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError

from kiosk import storage, worker
from kiosk.worker import StorageGate, Worker

from .support.outage import read_only_postgres_app


def read_only_sqlite_error(tmp_path) -> sqlite3.Error:
    path = tmp_path / "ro.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as refused:
        connection.execute("INSERT INTO t VALUES (1)")
    return refused.value


def no_space_error() -> OSError:
    with pytest.raises(OSError) as refused, open("/dev/full", "wb", buffering=0) as full:
        full.write(b"x")
    return refused.value


def test_a_full_or_read_only_disk_is_told_apart_from_other_failures(tmp_path):
    assert storage.refusal(no_space_error()) == storage.DISK_FULL
    assert storage.refusal(read_only_sqlite_error(tmp_path)) == storage.READ_ONLY
    wrapped = OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    assert storage.refusal(wrapped) == storage.DISK_FULL
    assert storage.refusal(OperationalError("INSERT", {}, psycopg.errors.DiskFull("x"))) == storage.DISK_FULL
    read_only = psycopg.errors.ReadOnlySqlTransaction("x")
    assert storage.refusal(OperationalError("INSERT", {}, read_only)) == storage.READ_ONLY
    with pytest.raises(RuntimeError) as chained:
        raise RuntimeError("saving failed") from no_space_error()
    assert storage.refusal(chained.value) == storage.DISK_FULL

    assert (
        storage.refusal(OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")))
        is None
    )
    assert storage.refusal(OperationalError("SELECT", {}, Exception("connection refused"))) is None
    assert storage.refusal(ValueError("a bug")) is None


def test_one_function_says_whether_nothing_can_be_saved(tmp_path):
    disk_failing = sqlite3.OperationalError("disk I/O error")
    disk_failing.sqlite_errorcode = 10 | (3 << 8)  # SQLITE_IOERR_WRITE
    assert storage.refusal(OperationalError("COMMIT", {}, disk_failing)) == storage.DISK_ERROR
    assert storage.cannot_write(OperationalError("COMMIT", {}, disk_failing))
    assert storage.cannot_write(OperationalError("INSERT", {}, read_only_sqlite_error(tmp_path)))
    assert storage.cannot_write(OperationalError("INSERT", {}, psycopg.errors.ReadOnlySqlTransaction("x")))
    locked = sqlite3.OperationalError("database is locked")
    assert not storage.cannot_write(OperationalError("INSERT", {}, locked))
    assert not storage.cannot_write(ValueError("a bug"))


def test_after_a_refused_write_the_worker_waits_longer_each_time_until_one_gets_through(app, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])
    gate = StorageGate("w")
    with app.app_context():
        assert gate.open()
        waits = []
        for _ in range(8):
            gate.refused(storage.DISK_FULL)
            opened_at = clock[0]
            while not gate.open():
                clock[0] += 1
            waits.append(clock[0] - opened_at)
        assert waits == [5, 10, 20, 40, 80, 160, 300, 300]
        gate.wrote()
        gate.refused(storage.READ_ONLY)
        clock[0] += 5
        assert gate.open()


def test_on_a_read_only_postgresql_the_worker_backs_off_and_healthz_says_read_only(pg_app, tmp_path, caplog):
    """A standby, or a database set read-only: every write is refused."""
    read_only = read_only_postgres_app(tmp_path)
    response = read_only.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "read-only"
    assert "read-only" in response.json["reason"]

    caplog.set_level(logging.ERROR, logger="kiosk.worker")
    running = Worker(read_only, name="read-only-worker")
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    time.sleep(11)
    running.stop.set()
    thread.join(timeout=60)
    with read_only.app_context():
        from kiosk.extensions import db

        db.session.remove()
        db.engine.dispose()
    tries = [r for r in caplog.records if r.name == "kiosk.worker" and r.levelno >= logging.ERROR]
    # Without patience: a beat and a try of each lane every 5 s, about 9 in 11 s.
    assert 1 <= len(tries) <= 4, [r.getMessage() for r in tries]
    assert all("refused (read-only)" in r.getMessage() for r in tries)


def test_a_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "saved.pdf"
    storage.write_atomically(target, b"first")
    assert target.read_bytes() == b"first" and oct(target.stat().st_mode & 0o777) == "0o600"

    def no_room(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", no_room)
    with pytest.raises(OSError):
        storage.write_atomically(target, b"second, cut short")
    monkeypatch.undo()
    assert target.read_bytes() == b"first"  # the old copy stands
    assert [p.name for p in tmp_path.iterdir()] == ["saved.pdf"]  # and no .part is left

    with pytest.raises(FileExistsError):
        storage.write_atomically(target, b"third", replace=False)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["saved.pdf"]
