"""Signing in to the desk as a hospital's security review and a clinic's IT
try it: guessing one account from many addresses is slowed and capped, the
real user still gets in, and on a full disk or a read-only database staff
sign in to read the queue only, still limited in their guesses."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select, text, update
from werkzeug.security import generate_password_hash

from kiosk import auth, create_app
from kiosk.database import create_tables
from kiosk.extensions import db
from kiosk.models import Alert, AuditEvent, SignInFailure, Staff, StaffSession, utcnow

from .conftest import POSTGRES_URL, STAFF_PASSWORD, Desk, app_config
from .support.disk import fill
from .support.disk import small_disk as mounted_small_disk

WRONG = "not the password at all"
READ_ONLY_COOKIE = "kiosk_desk_read_only"


def desk_from(app, address: str, known: Desk | None = None) -> Desk:
    """A browser at `address`; `known`: the same browser as that one (its cookies)."""
    desk = known or Desk(app.test_client())
    desk.client.environ_base["REMOTE_ADDR"] = address
    return desk


def guess_from_many_addresses(app, name: str = "boss", addresses: int = 30, each: int = 5) -> list[int]:
    return [
        desk_from(app, f"198.51.100.{n}").sign_in(name, WRONG).status_code
        for n in range(addresses)
        for _ in range(each)
    ]


# --- one account guessed from many addresses --------------------------------------------


def test_guessing_one_account_from_many_addresses_is_slowed_long_before_a_hundred(app, staff):
    statuses = guess_from_many_addresses(app)
    assert len(statuses) == 150
    assert statuses.count(401) <= 10, "passwords checked"
    assert statuses.count(429) >= 140
    held = desk_from(app, "198.51.100.200").sign_in("boss", STAFF_PASSWORD)
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) > 0
    assert "ask an administrator" in held.get_data(as_text=True)


def test_at_most_a_hundred_failures_an_hour_are_checked_for_one_account(app, staff):
    now = utcnow()
    with app.app_context():
        # 100 failures in the last hour (from a botnet, say), the latest 9 minutes ago.
        for n in range(100):
            at = now - timedelta(minutes=59) + timedelta(seconds=30 * n)
            db.session.add(SignInFailure(username="boss", remote_addr=f"10.1.{n}.1", at=at))
        db.session.commit()
    refused = desk_from(app, "10.9.9.9").sign_in("boss", WRONG)
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["Retry-After"]) <= 60, "until the oldest failure is an hour old"


def test_a_browser_that_signed_in_before_is_not_held_by_strangers(app, staff):
    known = desk_from(app, "192.0.2.10")
    assert known.sign_in("boss").status_code == 302
    known.post("/desk/sign-out")
    guess_from_many_addresses(app)
    # The same shared front-desk PC's address is held too, for every account ...
    for n in range(30):
        desk_from(app, "192.0.2.10").sign_in(f"nobody{n}", WRONG)
    assert desk_from(app, "192.0.2.10").sign_in("boss").status_code == 429
    assert desk_from(app, "192.0.2.10").sign_in("maria").status_code == 429
    # ... but not the browser boss signed in on before.
    assert desk_from(app, "192.0.2.10", known).sign_in("boss").status_code == 302


def test_a_known_browser_is_known_for_its_own_accounts_only_and_still_limited(app, staff):
    known = desk_from(app, "192.0.2.10")
    assert known.sign_in("maria").status_code == 302
    known.post("/desk/sign-out")
    for n in range(30):
        desk_from(app, "192.0.2.10").sign_in(f"nobody{n}", WRONG)
    assert desk_from(app, "192.0.2.10", known).sign_in("boss").status_code == 429, "boss never signed in here"
    assert [desk_from(app, "192.0.2.10", known).sign_in("maria", WRONG).status_code for _ in range(6)] == [
        401
    ] * 5 + [429]
    forger = desk_from(app, "192.0.2.10")
    forger.client.set_cookie("kiosk_desk_device", "eyJpZCI6ImZvcmdlZCJ9.forged", path="/desk/")
    assert forger.sign_in("maria").status_code == 429, "a forged cookie is no known browser"


def test_an_admin_clears_the_failed_sign_ins_on_the_staff_page(app, staff, admin_desk):
    guess_from_many_addresses(app, "maria")
    assert desk_from(app, "203.0.113.50").sign_in("maria").status_code == 429
    page = admin_desk.get("/desk/staff").get_data(as_text=True)
    assert "failed sign-ins in the last hour" in page
    with app.app_context():
        maria_id = db.session.scalar(select(Staff.id).where(Staff.username == "maria"))
    cleared = admin_desk.post(f"/desk/staff/{maria_id}/clear-sign-in-failures")
    assert cleared.status_code == 200
    assert "can sign in again" in cleared.get_data(as_text=True)
    assert desk_from(app, "203.0.113.50").sign_in("maria").status_code == 302
    with app.app_context():
        assert ("boss", "clear-sign-in-failures", "staff maria") in db.session.execute(
            select(AuditEvent.staff, AuditEvent.action, AuditEvent.subject)
        ).all()


# --- when nothing can be written ------------------------------------------------------------------


def read_only_twin(tmp_path, app):
    """The same SQLite file opened read-only, as when its disk or file system refuses writes."""
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with app.app_context():
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
    return create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///file:{path}?mode=ro&uri=true"))


READ_ONLY_BANNER = "Signed in to read only"


def an_open_alert(app) -> int:
    """A red flag a patient reported, not yet acknowledged. Its id."""
    with app.app_context():
        alert = Alert(kiosk="Waiting room 2", signs=["saddle_numbness"])
        db.session.add(alert)
        db.session.commit()
        return alert.id


def same_shape(*answers, names=("maria", "mario")) -> bool:
    """The same status and page, but for tokens and the name typed."""
    pages = [re.sub(r"[\w.-]{40,}", "TOKEN", a.get_data(as_text=True)) for a in answers]
    pages = [re.sub("|".join(names), "NAME", page) for page in pages]
    return len({a.status_code for a in answers}) == 1 and len(set(pages)) == 1


def test_on_a_read_only_database_the_right_password_opens_the_queue_to_read_only(tmp_path, app, staff):
    alert_id = an_open_alert(app)
    read_only = read_only_twin(tmp_path, app)
    reader = Desk(read_only.test_client())
    signed_in = reader.sign_in("maria", STAFF_PASSWORD)
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/desk/")
    queue = reader.get("/desk/")
    assert queue.status_code == 200
    page = queue.get_data(as_text=True)
    assert "Handouts and alerts" in page and "Urgent: a patient reported a warning sign" in page
    assert READ_ONLY_BANNER in page and "cannot save" in page and "call IT" in page
    assert "not acknowledge" in page and ">Acknowledge</button>" not in page
    poll = reader.get("/desk/queue", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and "Waiting room 2" in poll.get_data(as_text=True)

    refused = reader.post(f"/desk/alerts/{alert_id}/acknowledge")
    assert refused.status_code == 503
    assert READ_ONLY_BANNER in refused.get_data(as_text=True)
    for closed in ("/desk/lookup?code=K7P2", "/desk/staff", "/desk/password", "/desk/kiosks"):
        answer = reader.get(closed)
        assert answer.status_code == 503, closed
        assert "cannot be opened" in answer.get_data(as_text=True), closed

    # A wrong password, for a real account or none: the answer of any wrong password.
    wrong = Desk(read_only.test_client()).sign_in("maria", WRONG)
    nobody = Desk(read_only.test_client()).sign_in("mario", WRONG)
    assert wrong.status_code == 401 and same_shape(wrong, nobody)
    assert "do not match" in wrong.get_data(as_text=True)
    assert READ_ONLY_BANNER not in wrong.get_data(as_text=True)

    with app.app_context():
        assert db.session.get(Alert, alert_id).acknowledged_at is None
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0, "nothing was written"
        assert db.session.scalar(select(func.count(SignInFailure.id))) == 0

    signed_out = reader.post("/desk/sign-out")
    assert signed_out.status_code == 302
    assert reader.client.get_cookie(READ_ONLY_COOKIE, path="/desk/") is None
    assert reader.get("/desk/").status_code == 302, "signed out"


def read_only_reader(read_only_app) -> Desk:
    reader = Desk(read_only_app.test_client())
    assert reader.sign_in("maria", STAFF_PASSWORD).status_code == 302
    assert READ_ONLY_BANNER in reader.get("/desk/").get_data(as_text=True)
    return reader


def test_once_writes_work_again_a_read_only_sign_in_opens_nothing(tmp_path, app, staff):
    reader = read_only_reader(read_only_twin(tmp_path, app))
    writable = Desk(app.test_client())
    writable.client.set_cookie(
        READ_ONLY_COOKIE, reader.client.get_cookie(READ_ONLY_COOKIE, path="/desk/").value, path="/desk/"
    )
    answer = writable.get("/desk/")
    assert answer.status_code == 302 and "/desk/sign-in" in answer.headers["Location"]
    assert "can be saved again" in writable.get(answer.headers["Location"]).get_data(as_text=True)
    assert writable.client.get_cookie(READ_ONLY_COOKIE, path="/desk/") is None
    assert writable.get("/desk/queue", headers={"HX-Request": "true"}).status_code == 401
    assert writable.sign_in("maria").status_code == 302
    assert READ_ONLY_BANNER not in writable.get("/desk/").get_data(as_text=True)


@pytest.mark.parametrize("change", ["password", "disabled"])
def test_a_new_password_or_a_disabled_account_ends_a_read_only_sign_in(tmp_path, app, staff, change):
    read_only = read_only_twin(tmp_path, app)
    reader = read_only_reader(read_only)
    with app.app_context():  # made before the disk filled: the read-only database reads it
        maria = db.session.scalar(select(Staff).where(Staff.username == "maria"))
        if change == "password":
            maria.password_hash = generate_password_hash("another password entirely")
        else:
            maria.active = False
        db.session.commit()
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
    answer = reader.get("/desk/")
    assert answer.status_code == 302 and "/desk/sign-in" in answer.headers["Location"]
    assert reader.get("/desk/queue", headers={"HX-Request": "true"}).status_code == 401


def test_a_read_only_sign_in_ends_after_fifteen_minutes_without_a_request(tmp_path, app, staff, monkeypatch):
    reader = read_only_reader(read_only_twin(tmp_path, app))
    now = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + 14 * 60)
    assert reader.get("/desk/").status_code == 200, "renewed by each request"
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + 14 * 60 + 16 * 60)
    answer = reader.get("/desk/")
    assert answer.status_code == 302 and "/desk/sign-in" in answer.headers["Location"]


def test_a_forged_read_only_cookie_opens_nothing(tmp_path, app, staff):
    reader = read_only_reader(read_only_twin(tmp_path, app))
    genuine = reader.client.get_cookie(READ_ONLY_COOKIE, path="/desk/").value
    with app.app_context():
        boss_id = db.session.scalar(select(Staff.id).where(Staff.username == "boss"))
    value = {"id": boss_id, "standing": "0" * 32, "since": int(time.time()), "seen": int(time.time())}
    other_key = URLSafeTimedSerializer("another key", salt="desk-read-only-sign-in").dumps(value)
    tampered = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
    for cookie in (other_key, tampered, "not a cookie", "x" * 2000):
        reader.client.set_cookie(READ_ONLY_COOKIE, cookie, path="/desk/")
        answer = reader.get("/desk/")
        assert answer.status_code == 302 and "/desk/sign-in" in answer.headers["Location"]


def test_checks_kept_in_memory_allow_more_as_time_passes():
    now = [1000.0]
    limits = auth.UnsavedLimits(clock=lambda: now[0])
    assert [limits.take("maria", "10.0.0.1") for _ in range(6)][-2:] == [0.0, 60.0]
    now[0] += 61
    assert limits.take("maria", "10.0.0.1") == 0.0, "a minute later"
    for _ in range(5):
        now[0] += 61
        for n in range(5):
            limits.take("maria", f"10.0.{n}.2")
    assert limits.take("maria", "10.0.9.9") > 60, "30 an hour for one account"
    now[0] += 3600
    assert limits.take("maria", "10.0.9.9") == 0.0


def test_guesses_are_limited_when_failures_cannot_be_stored(tmp_path, app, staff):
    read_only = read_only_twin(tmp_path, app)
    guesses = [desk_from(read_only, "198.51.100.1").sign_in("maria", WRONG).status_code for _ in range(6)]
    assert guesses == [401] * 5 + [429]
    held = desk_from(read_only, "198.51.100.2").sign_in("maria", STAFF_PASSWORD)
    assert held.status_code == 429, "the account is held from every address"
    assert int(held.headers["Retry-After"]) > 0
    assert desk_from(read_only, "198.51.100.2").sign_in("boss", STAFF_PASSWORD).status_code == 302
    # One address trying many accounts.
    many = [desk_from(read_only, "198.51.100.3").sign_in(f"nobody{n}", WRONG).status_code for n in range(11)]
    assert many == [401] * 10 + [429]
    assert desk_from(read_only, "198.51.100.3").sign_in("boss", STAFF_PASSWORD).status_code == 429


def test_signed_in_staff_still_see_the_queue_when_nothing_can_be_written(tmp_path, app, desk):
    cookie = desk.client.get_cookie("kiosk_session").value
    with app.app_context():  # a while since the last click: this one would be noted
        db.session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    browser = read_only_twin(tmp_path, app).test_client()
    browser.set_cookie("kiosk_session", cookie)
    page = browser.get("/desk/")
    assert page.status_code == 200
    assert "Handouts and alerts" in page.get_data(as_text=True)
    assert "cannot save" in page.get_data(as_text=True)


def test_on_a_read_only_postgresql_staff_sign_in_to_read_the_queue(pg_app, tmp_path):
    with pg_app.app_context():
        auth.create_staff("maria", STAFF_PASSWORD)
    alert_id = an_open_alert(pg_app)
    # A standby, or a database set read-only by its administrator.
    read_only = create_app(
        app_config(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=POSTGRES_URL
            + ("&" if "?" in POSTGRES_URL else "?")
            + "options=-c%20default_transaction_read_only%3Don",
        )
    )
    try:
        reader = read_only_reader(read_only)
        page = reader.get("/desk/").get_data(as_text=True)
        assert "Urgent: a patient reported a warning sign" in page and "call IT" in page
        assert reader.post(f"/desk/alerts/{alert_id}/acknowledge").status_code == 503
        wrong = Desk(read_only.test_client()).sign_in("maria", WRONG)
        nobody = Desk(read_only.test_client()).sign_in("mario", WRONG)
        assert wrong.status_code == 401 and same_shape(wrong, nobody)
        cookie = reader.client.get_cookie(READ_ONLY_COOKIE, path="/desk/").value
    finally:
        with read_only.app_context():
            db.engine.dispose()
    with pg_app.app_context():
        assert db.session.get(Alert, alert_id).acknowledged_at is None
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0, "nothing was written"
    writable = Desk(pg_app.test_client())
    writable.client.set_cookie(READ_ONLY_COOKIE, cookie, path="/desk/")
    assert writable.get("/desk/").status_code == 302, "writable again: the read-only sign-in ends"
    assert writable.sign_in("maria", STAFF_PASSWORD).status_code == 302
    assert READ_ONLY_BANNER not in writable.get("/desk/").get_data(as_text=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own (tmpfs), mounted by the test: needs root."""
    with mounted_small_disk(tmp_path / "small-disk", 4) as disk:
        yield disk.root


def test_on_a_full_disk_staff_sign_in_to_read_and_those_signed_in_keep_the_queue(
    small_disk, tmp_path, monkeypatch
):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        app_config(
            tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{small_disk / 'kiosk.sqlite3'}", DISK_RESERVE_MB=1
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
    filler = fill(small_disk)

    reader = Desk(app.test_client())
    assert reader.sign_in().status_code == 302
    page = reader.get("/desk/").get_data(as_text=True)
    assert READ_ONLY_BANNER in page and "disk is full" in page
    queue = desk.get("/desk/")
    assert queue.status_code == 200
    assert "Handouts and alerts" in queue.get_data(as_text=True)

    filler.unlink()
    assert reader.get("/desk/").status_code == 302, "space freed: the read-only sign-in ends"
    assert Desk(app.test_client()).sign_in().status_code == 302, "space freed: signing in works again"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
