"""A full disk under instance/, on a real small file system the test mounts
(tmpfs, as root): /healthz says so, the worker writes nothing until space is
freed and then carries on by itself, a failed save leaves no partial file,
the desk's queue still reads, and a patient at Start gets a calm page.

Mounting needs root. Elsewhere these tests skip, saying why, unless CI=true
or KIOSK_REQUIRE_MOUNT is set, where that is a failure.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from kiosk import auth, config, create_app, printing
from kiosk.database import create_tables
from kiosk.extensions import db
from kiosk.models import Handout, HandoutState, StaffSession, WorkerBeat, utcnow
from kiosk.worker import Worker

from .conftest import STAFF_PASSWORD, Desk, Kiosk, app_config
from .support.disk import small_disk as mounted_small_disk

DISK_MB = 32
RESERVE_MB = 4
# What is left free in "a little was freed" (below the reserve): the room
# that an unchecked worker used to fill again within minutes.
A_LITTLE = 256 * 1024
WORKER_WATCHED_SECONDS = 12


@pytest.fixture
def small_disk(tmp_path):
    with mounted_small_disk(tmp_path / "small-disk", DISK_MB) as disk:
        yield disk


@pytest.fixture
def disk_app(small_disk, monkeypatch):
    """The app with instance/ (its SQLite database and print folder) on the small disk."""
    instance = small_disk.root / "instance"
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(instance))
    app = create_app(
        app_config(
            small_disk.root,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'kiosk.sqlite3'}",
            DISK_RESERVE_MB=RESERVE_MB,
        )
    )
    with app.app_context():
        create_tables()
        from kiosk.auth import create_staff

        create_staff("maria", STAFF_PASSWORD)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def database_files(app) -> dict[str, tuple[int, int]]:
    """Size and time of change of the database and its write-ahead log."""
    database = Path(app.instance_path) / "kiosk.sqlite3"
    found = {}
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            stat = path.stat()
            found[path.name] = (stat.st_size, stat.st_mtime_ns)
    return found


def a_finished_visit(app) -> int:
    """A patient finishes; the handout waits for the worker. Its id."""
    kiosk = Kiosk(app.test_client())
    kiosk.answer_all()
    assert kiosk.finish().status_code == 303
    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert handout.state == HandoutState.PREPARING
        return handout.id


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


# --- /healthz ---------------------------------------------------------------------


def test_healthz_says_the_disk_is_full_and_writes_nothing(disk_app, small_disk):
    client = disk_app.test_client()
    small_disk.fill(leave=A_LITTLE)
    before = database_files(disk_app)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json
    assert body["disk"] == "full"
    assert body["database"] == "disk full"
    assert "free" in body["reason"] and "instance" in body["reason"]
    assert database_files(disk_app) == before  # probing a full disk does not fill it further


def test_healthz_tells_a_write_the_full_disk_refused_from_a_database_that_is_down(disk_app, small_disk):
    disk_app.config["DISK_RESERVE_MB"] = 0  # no reserve: the probe's write itself is refused
    client = disk_app.test_client()
    small_disk.fill()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "disk full"
    assert response.json["disk"] == "full"
    assert "full" in response.json["reason"]

    small_disk.free()
    assert client.get("/healthz").json["database"] == "ok"


# --- the worker -------------------------------------------------------------------


def test_the_worker_writes_nothing_on_a_full_disk_and_carries_on_once_space_is_freed(disk_app, small_disk):
    handout_id = a_finished_visit(disk_app)
    small_disk.fill(leave=A_LITTLE)  # full, then a little freed: below the reserve
    before, free_before = database_files(disk_app), small_disk.free_bytes()

    worker = Worker(disk_app, name="full-disk-worker")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        time.sleep(WORKER_WATCHED_SECONDS)
        assert database_files(disk_app) == before, "the worker wrote to the database on a full disk"
        assert small_disk.free_bytes() == free_before
        with disk_app.app_context():
            handout = db.session.get(Handout, handout_id)
            assert handout.state == HandoutState.PREPARING and handout.attempts == 0
            db.session.remove()

        small_disk.free()

        def rendered() -> bool:
            with disk_app.app_context():
                try:
                    return db.session.get(Handout, handout_id).state == HandoutState.READY
                finally:
                    db.session.remove()

        assert wait_for(rendered, 20), "the worker did not carry on once space was freed"
        with disk_app.app_context():
            assert db.session.get(WorkerBeat, "full-disk-worker") is not None
    finally:
        worker.stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


# --- files ------------------------------------------------------------------------


def test_a_save_to_the_folder_that_fails_on_a_full_disk_leaves_no_partial_file(disk_app, small_disk):
    folder = Path(disk_app.config["PRINT_DIRECTORY"])
    folder.mkdir(parents=True, exist_ok=True)
    small_disk.fill()
    with pytest.raises(printing.PrintError) as failed:
        printing.save_to_directory(b"%PDF-1.7\n" + os.urandom(200_000), "K7P2-17-3fa0", folder)
    assert "No space left on device" in failed.value.reason
    assert list(folder.iterdir()) == []

    small_disk.free()
    saved = printing.save_to_directory(b"%PDF-1.7\n", "K7P2-17-3fa0", folder)
    assert [p.name for p in folder.iterdir()] == [saved.name]


def test_a_secret_key_that_cannot_be_written_leaves_no_empty_key_behind(small_disk):
    instance = small_disk.root / "instance"
    instance.mkdir()
    small_disk.fill()
    with pytest.raises(OSError):
        config.load_or_create_secret_key(str(instance))
    assert list(instance.iterdir()) == []  # a later start makes a whole one, never reads an empty one

    small_disk.free()
    key = config.load_or_create_secret_key(str(instance))
    assert len(key) == 64 and (instance / "secret_key").read_text() == key


# --- the people -------------------------------------------------------------------


def test_the_desk_queue_reads_on_a_full_disk_and_says_the_disk_is_full(disk_app, small_disk):
    a_finished_visit(disk_app)
    with disk_app.app_context():
        code = db.session.scalar(select(Handout.claim_code))
    desk = Desk(disk_app.test_client())
    assert desk.sign_in().status_code == 302
    small_disk.fill()
    before = database_files(disk_app)

    fragment = desk.get("/desk/queue", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    page = fragment.get_data(as_text=True)
    assert code in page
    assert "The server's disk is full" in page
    full_page = desk.get("/desk/")  # signed in just now: the session is not written again yet
    assert full_page.status_code == 200
    assert "The server's disk is full" in full_page.get_data(as_text=True)
    assert "background worker is not running" not in full_page.get_data(as_text=True)
    assert database_files(disk_app) == before

    small_disk.free()
    assert "disk is full" not in desk.get("/desk/queue", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )


def test_a_patient_tapping_start_on_a_full_disk_gets_a_calm_page(disk_app, small_disk):
    kiosk = Kiosk(disk_app.test_client())
    kiosk.get("/")
    small_disk.fill()
    response = kiosk.post("/start")
    page = response.get_data(as_text=True)
    assert "Sorry, something went wrong: this kiosk cannot save right now." in page
    assert "Please ask the front desk for help." in page
    assert "Traceback" not in page and "OperationalError" not in page and "disk" not in page.lower()


@pytest.mark.parametrize("reserve_mb", [RESERVE_MB, 0], ids=["below the reserve", "write refused"])
def test_an_enrolled_kiosk_shows_welcome_on_a_full_disk_without_noting_its_contact(
    disk_app, small_disk, reserve_mb
):
    from kiosk import enrolled_kiosks

    disk_app.config.update(KIOSK_ENROLLMENT=1, DISK_RESERVE_MB=reserve_mb)
    with disk_app.app_context():
        code = enrolled_kiosks.register("Waiting room 2", "", "", by="boss").link_code
        row, cookie = enrolled_kiosks.enroll(code, disk_app.config["SECRET_KEY"])
        row.last_seen_at -= 2 * enrolled_kiosks.SEEN_EVERY  # its contact is due to be noted
        db.session.commit()
    screen = disk_app.test_client()
    screen.set_cookie(enrolled_kiosks.COOKIE, cookie)
    small_disk.fill(leave=A_LITTLE if reserve_mb else 0)
    before = database_files(disk_app)

    welcome = screen.get("/")
    assert welcome.status_code == 200
    assert "Start" in welcome.get_data(as_text=True)
    if reserve_mb:
        assert database_files(disk_app) == before  # no contact noted into the last free space


def test_on_a_full_disk_staff_sign_in_to_read_the_queue_and_its_alerts_until_space_is_freed(
    disk_app, small_disk
):
    from kiosk.models import Alert, AuditEvent, SignInFailure

    with disk_app.app_context():
        alert = Alert(kiosk="Waiting room 2", signs=["saddle_numbness"])
        db.session.add(alert)
        db.session.commit()
        alert_id = alert.id
    small_disk.fill()

    desk = Desk(disk_app.test_client())
    assert desk.sign_in().status_code == 302  # its attempt could not be stored
    before = database_files(disk_app)
    page = desk.get("/desk/").get_data(as_text=True)
    assert "Signed in to read only" in page and "The server's disk is full" in page and "call IT" in page
    assert "Reports numbness between the legs (saddle area)" in page and "Waiting room 2" in page
    assert "not acknowledge" in page
    refused = desk.post(f"/desk/alerts/{alert_id}/acknowledge", headers={"HX-Request": "true"})
    assert refused.status_code == 503 and "cannot be opened" in refused.get_data(as_text=True)
    assert desk.get("/desk/lookup?code=K7P2").status_code == 503
    health = disk_app.test_client().get("/healthz")
    assert health.status_code == 503 and health.json["disk"] == "full"
    assert database_files(disk_app) == before, "reading wrote nothing"
    with disk_app.app_context():
        assert db.session.get(Alert, alert_id).acknowledged_at is None
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0, "nothing was stored"
        assert db.session.scalar(select(func.count(SignInFailure.id))) == 0
        db.session.remove()

    small_disk.free()
    assert desk.get("/desk/").status_code == 302, "space freed: the read-only sign-in ends"
    assert desk.get("/desk/queue", headers={"HX-Request": "true"}).status_code == 401
    assert desk.sign_in().status_code == 302
    assert "Signed in to read only" not in desk.get("/desk/").get_data(as_text=True)
    assert desk.post(f"/desk/alerts/{alert_id}/acknowledge").status_code == 302


def test_on_a_full_disk_staff_sign_in_to_read_and_those_signed_in_keep_the_queue(
    small_disk, tmp_path, monkeypatch
):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        app_config(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{small_disk.root / 'kiosk.sqlite3'}",
            DISK_RESERVE_MB=1,
        )
    )
    with app.app_context():
        create_tables()
        auth.create_staff("maria", STAFF_PASSWORD)
    desk = Desk(app.test_client())
    assert desk.sign_in().status_code == 302
    with app.app_context():
        db.session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
    small_disk.fill()

    reader = Desk(app.test_client())
    assert reader.sign_in().status_code == 302
    page = reader.get("/desk/").get_data(as_text=True)
    assert "Signed in to read only" in page and "disk is full" in page
    queue = desk.get("/desk/")
    assert queue.status_code == 200
    assert "Handouts and alerts" in queue.get_data(as_text=True)

    small_disk.free()
    assert reader.get("/desk/").status_code == 302, "space freed: the read-only sign-in ends"
    assert Desk(app.test_client()).sign_in().status_code == 302, "space freed: signing in works again"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
