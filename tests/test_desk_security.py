"""The desk as a hospital's security review tries it: sessions that end when
they should, throttling that does not lock the real user out, no account
discovery by timing, passwords people cannot guess, an audit trail an admin
can take away, HTTPS behind a proxy, and no patient text in logs."""

from __future__ import annotations

import csv
import io
import logging
import re
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk import audit, auth, create_app
from kiosk.database import create_tables
from kiosk.extensions import db
from kiosk.models import AuditEvent, SignInFailure, Staff

from .conftest import STAFF_PASSWORD, Desk, app_config
from .support.desk import finished_visit

WRONG = "not the password at all"


def desk_from(app, address: str) -> Desk:
    desk = Desk(app.test_client())
    desk.client.environ_base["REMOTE_ADDR"] = address
    return desk


def audit_actions(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [
            (e.staff, e.action, e.subject)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def staff_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Staff.id).where(Staff.username == name))


# --- sessions end when they should -----------------------------------------------------


@pytest.mark.parametrize("page", ["/desk/", "/desk/audit", "/desk/queue"])
def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(app, admin_desk, page):
    copied = admin_desk.client.get_cookie("kiosk_session").value
    assert admin_desk.get(page).status_code == 200
    admin_desk.post("/desk/sign-out")

    thief = app.test_client()
    thief.set_cookie("kiosk_session", copied)
    response = thief.get(page)
    assert response.status_code in (302, 401)
    assert "sign-in" in response.headers.get("Location", "") + response.headers.get("HX-Redirect", "")


def test_disabling_an_account_ends_its_open_sessions_at_once(app, desk, admin_desk):
    assert desk.get("/desk/").status_code == 200
    admin_desk.post(f"/desk/staff/{staff_id(app, 'maria')}/disable")
    assert desk.get("/desk/").headers["Location"].startswith("/desk/sign-in")


def test_each_sign_in_is_its_own_session(app, staff):
    first, second = Desk(app.test_client()), Desk(app.test_client())
    first.sign_in()
    second.sign_in()
    first.post("/desk/sign-out")
    assert first.get("/desk/").status_code == 302
    assert second.get("/desk/").status_code == 200, "signing out on one PC leaves the other signed in"


# --- throttling guesses without locking the real user out ---------------------------------


def test_guesses_from_one_address_do_not_lock_the_account_out_elsewhere(app, staff):
    guesser = desk_from(app, "203.0.113.9")
    for _ in range(auth.ACCOUNT_FAILURES):
        assert guesser.sign_in("boss", WRONG).status_code == 401
    assert guesser.sign_in("boss", STAFF_PASSWORD).status_code == 429, "even the right password waits there"

    assert desk_from(app, "10.0.0.5").sign_in("boss", STAFF_PASSWORD).status_code == 302
    assert desk_from(app, "203.0.113.9").sign_in("maria", STAFF_PASSWORD).status_code == 302


def test_each_wait_is_longer_and_retry_after_tells_the_truth(app, staff):
    guesser = desk_from(app, "203.0.113.9")
    for _ in range(auth.ACCOUNT_FAILURES):
        guesser.sign_in("boss", WRONG)
    refused = guesser.sign_in("boss", WRONG)
    assert refused.status_code == 429
    first_wait = int(refused.headers["Retry-After"])
    assert 25 <= first_wait <= 30
    assert f"wait {first_wait} seconds" in refused.get_data(as_text=True)

    # The wait is over: the next wrong guess is checked, and then the wait doubles.
    with app.app_context():
        for failure in db.session.scalars(select(SignInFailure)):
            failure.at -= timedelta(seconds=31)
        db.session.commit()
    assert guesser.sign_in("boss", WRONG).status_code == 401
    second_wait = int(guesser.sign_in("boss", WRONG).headers["Retry-After"])
    assert 55 <= second_wait <= 60


def test_one_address_guessing_many_accounts_is_limited_too(app, staff):
    guesser = desk_from(app, "203.0.113.9")
    for n in range(auth.ADDRESS_FAILURES):
        guesser.sign_in(f"nobody{n}", WRONG)
    refused = guesser.sign_in("maria", STAFF_PASSWORD)
    assert refused.status_code == 429
    assert 14 * 60 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert desk_from(app, "10.0.0.5").sign_in("maria", STAFF_PASSWORD).status_code == 302


@pytest.mark.parametrize(("proxies", "separate"), [(1, True), (0, False)])
def test_the_client_address_comes_from_a_trusted_proxy_only(tmp_path, monkeypatch, proxies, separate):
    """Behind a trusted proxy, X-Forwarded-For is the client; otherwise a
    guesser could dodge the limit by sending a new one with every guess."""
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path, TRUSTED_PROXIES=proxies))
    with app.app_context():
        create_tables()
        auth.create_staff("boss", STAFF_PASSWORD, is_admin=True)
    desk = Desk(app.test_client())
    for _ in range(auth.ACCOUNT_FAILURES):
        desk.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        desk.sign_in("boss", WRONG)
    desk.client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
    assert (desk.sign_in("boss", STAFF_PASSWORD).status_code == 302) is separate


# --- no account discovery by timing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "password"),
    [("nobody", WRONG), ("maria", WRONG), ("disabled", STAFF_PASSWORD), ("maria", STAFF_PASSWORD)],
    ids=["unknown account", "wrong password", "disabled account", "right password"],
)
def test_every_sign_in_checks_one_password_hash_whatever_the_account(app, staff, monkeypatch, name, password):
    with app.app_context():
        disabled = auth.create_staff("disabled", STAFF_PASSWORD)
        disabled.active = False
        db.session.commit()
        auth._dummy_hash()  # made once per process, not on someone's sign-in
    checked = []
    real = auth.check_password_hash

    def counting(stored, given):
        checked.append(stored)
        return real(stored, given)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    Desk(app.test_client()).sign_in(name, password)
    assert len(checked) == 1
    assert checked[0].startswith("scrypt:"), "the dummy hash costs what a real one costs"


# --- passwords -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "says"),
    [
        (" " * 14, "only spaces"),
        ("short pass", "at least 12"),
        ("q1w2e3r4t5y6", "most common"),
        ("1QAZ2WSX3EDC", "most common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(app, password, says):
    with app.app_context(), pytest.raises(auth.AccountError, match=says):
        auth.create_staff("newcomer", password)


def test_generated_passwords_pass_the_rules(app):
    with app.app_context():
        for _ in range(20):
            auth.check_password_strength(auth.generate_password())


def test_an_admin_is_told_why_a_password_was_refused(admin_desk):
    page = admin_desk.post("/desk/staff", {"username": "sam", "password": "q1w2e3r4t5y6"})
    assert page.status_code == 400
    assert "most common" in page.get_data(as_text=True)


# --- the audit trail ------------------------------------------------------------------------


def test_failed_and_refused_sign_ins_look_ups_and_views_are_audited(app, staff, desk):
    guesser = desk_from(app, "203.0.113.9")
    for _ in range(auth.ACCOUNT_FAILURES + 1):
        guesser.sign_in("boss", WRONG)
    handout = finished_visit(app, own_question_1="Canary-9X: is my pool safe?")
    found = desk.get("/desk/lookup", query_string={"code": handout.claim_code})
    desk.get(found.headers["Location"])
    desk.get("/desk/lookup", query_string={"code": "ZZZZ"})
    events = audit_actions(app)
    assert ("boss", "sign-in-failed", "from 203.0.113.9") in events
    assert ("boss", "sign-in-refused", "too many failures from 203.0.113.9") in events
    assert ("maria", "look-up", f"code {handout.claim_code} found") in events
    assert ("maria", "look-up", "code ZZZZ not found") in events
    assert ("maria", "view", f"handout {handout.claim_code}") in events
    assert not any("Canary" in subject for _, _, subject in events)


def test_an_admin_downloads_the_audit_log_as_csv(app, staff, desk, admin_desk):
    assert desk.get("/desk/audit.csv").status_code == 403
    with app.app_context():
        audit.record("maria", "look-up", '=HYPERLINK("http://x")')
        db.session.commit()
    response = admin_desk.get("/desk/audit.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["time (UTC)", "staff", "action", "subject"]
    assert rows[1][1:3] == ["maria", "sign-in"]
    assert any(row[3] == '\'=HYPERLINK("http://x")' for row in rows[1:]), "no formula reaches a spreadsheet"
    assert ("boss", "audit-download", "") in audit_actions(app)


# --- HTTPS behind a reverse proxy ------------------------------------------------------------


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture
def https_app(make_app):
    return make_app(BEHIND_HTTPS_PROXY=1)


def https_post(app, path: str, **headers: str):
    """A form from this site's page posted back over HTTPS, with the page's token
    and the headers given (what a browser sends depends on the page's Referrer-Policy)."""
    client = app.test_client()
    page = client.get("/", headers=HTTPS)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    return client.post(path, data={"csrf_token": token}, headers={**HTTPS, **headers})


def test_behind_an_https_proxy_cookies_are_secure_and_hsts_is_sent(https_app):
    # What Chromium sends for a same-origin form under the pages' Referrer-Policy.
    response = https_post(https_app, "/start", Origin="https://localhost", Referer="https://localhost/")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/visit/safety")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    with https_app.test_request_context("/", headers=HTTPS):
        from flask import url_for

        assert url_for("patient.welcome", _external=True).startswith("https://")


def test_pages_send_their_address_only_to_their_own_site(client):
    # "same-origin": this site's own requests carry a Referer (and a real
    # Origin); a request anywhere else carries neither.
    assert client.get("/").headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://localhost"},  # a browser that sends no Referer at all
        {"Origin": "https://LOCALHOST:443"},
        {"Referer": "https://localhost/visit/review"},  # a browser that sends no Origin
    ],
)
def test_behind_an_https_proxy_a_post_from_this_site_is_accepted(https_app, headers):
    assert https_post(https_app, "/start", **headers).status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://clinic-lookalike.example", "Referer": "https://localhost/"},
        {"Origin": "http://localhost"},
        {"Origin": "https://localhost:8443"},
        {"Origin": "null"},
        {"Referer": "https://clinic-lookalike.example/"},
        {},
    ],
)
def test_behind_an_https_proxy_a_post_from_elsewhere_is_refused_even_with_a_token(https_app, headers):
    response = https_post(https_app, "/start", **headers)
    assert response.status_code == 400
    assert "Something went wrong with that tap" in response.get_data(as_text=True)
    desk = https_post(https_app, "/desk/sign-in", **headers)
    assert desk.status_code == 400
    assert "The page had been open too long" in desk.get_data(as_text=True)


@pytest.mark.parametrize("host", ["[::1]:8443", "[::1]"])
def test_behind_an_https_proxy_a_post_from_this_site_at_an_ipv6_address_is_accepted(https_app, host):
    origin = f"https://{host}"
    assert https_post(https_app, "/start", Origin=origin, **{"X-Forwarded-Host": host}).status_code == 303


def test_a_post_saying_no_origin_is_refused_whatever_host_the_proxy_names(https_app):
    # Neither "null" nor a host that is no address can match the other.
    response = https_post(https_app, "/start", Origin="null", **{"X-Forwarded-Host": "["})
    assert response.status_code == 400


def test_without_the_setting_no_hsts_and_forwarded_headers_are_ignored(client):
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


# --- no patient text in logs, even on errors -------------------------------------------------


def test_a_failed_database_write_does_not_log_what_the_patient_typed(app, kiosk, caplog, monkeypatch):
    from sqlalchemy import event

    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    with app.app_context():
        engine = db.engine

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE VISIT"):
            raise sqlite3.OperationalError("disk I/O error")  # as the driver raises it

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        caplog.set_level(logging.DEBUG)
        response = kiosk.answer("questions", {"own_question_1": "Canary-4K: can I still ride my horse?"})
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    assert response.status_code == 503  # the database's trouble, not a bug: the client may try again
    assert "Sorry, something went wrong" in response.get_data(as_text=True)
    assert "disk I/O error" in caplog.text, "the failure itself is logged"
    assert "Canary-4K" not in caplog.text


# --- the first admin, unattended ---------------------------------------------------------------


def test_the_first_admin_password_can_come_from_a_file_and_is_never_printed(app, runner, tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("river stones and quiet hills\n")
    result = runner.invoke(args=["kiosk", "ensure-admin", "--password-file", str(secret)])
    assert result.exit_code == 0, result.output
    assert "river stones" not in result.output
    assert Desk(app.test_client()).sign_in("admin", "river stones and quiet hills").status_code == 302


def test_a_weak_password_in_the_file_is_refused_with_the_files_name(app, runner, tmp_path, monkeypatch):
    secret = tmp_path / "admin-password"
    secret.write_text("password\n")
    monkeypatch.setenv("KIOSK_ADMIN_PASSWORD_FILE", str(secret))
    result = runner.invoke(args=["kiosk", "ensure-admin"])
    assert result.exit_code != 0
    assert f"{secret}: The password must be at least 12 characters." in result.output
    with app.app_context():
        assert auth.staff_count() == 0
