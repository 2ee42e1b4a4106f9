"""Through a database outage: a patient who reports a sign is sent to the desk
whatever fails, and the desk hears of it, once, as soon as it can be stored;
the desk's pages stay calm and come back by themselves.

The outages are real: a SQLite database turned read-only under the app, and
the shared PostgreSQL cut off behind a forwarder (tests/support/outage.py)
while a real gunicorn serves the desk.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import event, select

from kiosk import visits
from kiosk.extensions import db
from kiosk.models import Alert

from .conftest import STAFF_PASSWORD
from .support.outage import Forwarder, read_only_postgres_app
from .support.serve import free_port, health, start, stop, wait_until

KEY = "0123456789abcdef0123456789abcdef"
URGENT = {"en": "Please tell the front desk now", "es": "Por favor, avise ahora a la recepción"}
TELL_THEM = {
    "en": "Please tell them yourself: our system could not send them a message yet.",
    "es": "Por favor, dígaselo usted. Todavía no les llegó nuestro mensaje.",
}


@contextmanager
def read_only(app):
    """The SQLite database refuses every write (as on a read-only or full disk)."""

    def refuse_writes(connection, _record) -> None:
        connection.execute("PRAGMA query_only=ON")

    with app.app_context():
        engine = db.engine
        event.listen(engine, "connect", refuse_writes)
        engine.dispose()
    try:
        yield
    finally:
        with app.app_context():
            event.remove(engine, "connect", refuse_writes)
            engine.dispose()


def alerts(app) -> list[list[str]]:
    with app.app_context():
        return [list(a.signs) for a in db.session.scalars(select(Alert)).all()]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_sign_reported_while_the_database_refuses_writes_sends_the_patient_to_the_desk(app, kiosk, lang):
    kiosk.start()
    kiosk.post("/preferences", {"lang": lang})
    kiosk.get("/visit/safety")
    with read_only(app):
        response = kiosk.post("/visit/safety", {"warning_signs": ["fever"], "alert_key": KEY})
    page = response.get_data(as_text=True)
    assert URGENT[lang] in page
    assert TELL_THEM[lang] in page
    assert alerts(app) == []

    # The database is back: the kiosk page sends the report it kept, and again.
    for _ in range(2):
        assert kiosk.post("/kiosk/alert", {"key": KEY, "warning_signs": ["fever"]}).status_code == 204
    assert alerts(app) == [["fever"]]


def test_a_bug_while_saving_a_sign_still_sends_the_patient_to_the_desk(app, kiosk, monkeypatch):
    kiosk.start()
    kiosk.get("/visit/safety")

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(visits, "save_step", broken)
    response = kiosk.post("/visit/safety", {"warning_signs": ["some"]})
    assert response.status_code == 500
    assert URGENT["en"] in response.get_data(as_text=True)


def test_a_report_sent_again_after_the_step_stored_it_is_stored_once(app, kiosk):
    kiosk.start()
    kiosk.get("/visit/safety")
    assert kiosk.post("/visit/safety", {"warning_signs": ["fever"], "alert_key": KEY}).status_code == 303
    for _ in range(3):
        assert kiosk.post("/kiosk/alert", {"key": KEY, "warning_signs": ["fever"]}).status_code == 204
    assert alerts(app) == [["fever"]]
    # More signs under the same key join the alert; nothing is doubled.
    assert (
        kiosk.post("/kiosk/alert", {"key": KEY, "warning_signs": ["leg_weakness", "fever"]}).status_code
        == 204
    )
    assert alerts(app) == [["leg_weakness", "fever"]]


def test_a_report_kept_through_the_idle_reset_reaches_the_desk_once(app, kiosk):
    kiosk.start()
    kiosk.get("/visit/safety")
    with read_only(app):
        kiosk.post("/visit/safety", {"warning_signs": ["fever"], "alert_key": KEY})
        assert kiosk.post("/reset").status_code == 303
    # Nothing of the visit is left for the next patient.
    assert "Continue where I left off" not in kiosk.get("/").get_data(as_text=True)
    for _ in range(2):
        assert kiosk.post("/kiosk/alert", {"key": KEY, "warning_signs": ["fever"]}).status_code == 204
    assert alerts(app) == [["fever"]]


def test_a_report_that_can_never_be_stored_is_refused_calmly(app, kiosk):
    kiosk.start()
    assert kiosk.post("/kiosk/alert", {"key": "not a key", "warning_signs": ["fever"]}).status_code == 422
    assert kiosk.post("/kiosk/alert", {"key": KEY, "warning_signs": ["none"]}).status_code == 422
    assert alerts(app) == []


def test_a_read_only_postgresql_gives_patients_the_calm_cannot_save_page(pg_app, tmp_path, caplog):
    """A standby, or a database set read-only, refuses writes with an error of
    its own kind (not an OperationalError): still the database, not a bug."""

    from .conftest import Kiosk

    read_only = read_only_postgres_app(tmp_path)
    patient = Kiosk(read_only.test_client())
    caplog.set_level(logging.ERROR, logger="kiosk.errors")
    try:
        response = patient.start()
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert "this kiosk cannot save right now" in response.get_data(as_text=True)
        assert [r.getMessage() for r in caplog.records if r.exc_info] == [], "a traceback, as for a bug"
    finally:
        with read_only.app_context():
            db.session.remove()
            db.engine.dispose()


# --- the desk on PostgreSQL, behind a real gunicorn, with the database cut off -----


def _get(opener, url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def desk_server(pg_app, tmp_path):
    """gunicorn serving the app on the test database through a forwarder,
    and a signed-in desk (a cookie jar)."""
    from kiosk.auth import create_staff

    with pg_app.app_context():
        create_staff("maria", STAFF_PASSWORD)
    forwarder = Forwarder(os.environ["KIOSK_TEST_DATABASE_URL"]).start()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": forwarder.url,
        "KIOSK_INSTANCE_PATH": str(tmp_path / "served"),
        "KIOSK_ENROLLMENT": "0",
    }
    log = tmp_path / "gunicorn.log"
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    process = start(gunicorn, env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    try:
        wait_until(lambda: health(port) is not None, process, log, "gunicorn")
        status, page = _get(opener, base + "/desk/sign-in")
        token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "username": "maria", "password": STAFF_PASSWORD})
        opener.open(urllib.request.Request(base + "/desk/sign-in", data=data.encode()), timeout=10)
        yield base, opener, forwarder, log
    finally:
        stop(process)
        forwarder.close()


@pytest.mark.processes
def test_the_desk_says_calmly_that_the_database_is_away_and_comes_back_by_itself(desk_server):
    base, opener, forwarder, log = desk_server
    status, page = _get(opener, base + "/desk/")
    assert status == 200 and "Handouts and alerts" in page

    forwarder.cut()
    for url, headers in (("/desk/", {}), ("/desk/queue", {"HX-Request": "true"})):
        status, page = _get(opener, base + url, **headers)
        assert status == 503, (url, status, page[:300])
        assert "Internal Server Error" not in page
        assert "The database cannot be reached" in page
        assert "come back by itself" in page
    status, page = _get(opener, base + "/desk/")
    assert "data-recover-url" in page, "the page does not say where to come back to"
    assert "Error handling request" not in log.read_text()

    forwarder.mend()
    deadline = time.monotonic() + 20
    while (status := _get(opener, base + "/desk/queue", **{"HX-Request": "true"})[0]) != 200:
        assert time.monotonic() < deadline, f"the queue did not come back ({status})"
        time.sleep(0.5)
    status, page = _get(opener, base + "/desk/")
    assert status == 200 and "Handouts and alerts" in page and "maria" in page


def test_fhir_answers_an_outcome_while_the_database_is_away(app, desk, kiosk):
    from kiosk import fhir

    kiosk.answer_all()
    kiosk.finish()

    def unreachable(*_args, **_kwargs):
        import sqlite3

        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT", {}, sqlite3.OperationalError("unable to open database file"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fhir, "questionnaire_response", unreachable)
        response = desk.get("/fhir/QuestionnaireResponse/1")
    assert response.status_code == 503
    assert response.json["resourceType"] == "OperationOutcome"
    assert response.json["issue"][0]["code"] == "transient"
