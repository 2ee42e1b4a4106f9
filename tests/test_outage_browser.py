"""A sign reported at the touchscreen while PostgreSQL is cut off: the patient
reads the urgent words at once, the screen can be reset for the next patient,
and when the database is back the desk shows the alert, exactly once, without
anyone reloading anything."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from kiosk import create_app
from kiosk.auth import create_staff
from kiosk.database import create_tables
from kiosk.extensions import db
from kiosk.models import Alert

from .conftest import STAFF_PASSWORD, app_config
from .support.browser import KIOSK_SCREEN, WELCOME_HEADING
from .support.outage import Forwarder
from .support.serve import served_in_thread

pytestmark = pytest.mark.browser

PENDING = "kiosk-pending-alert"


def alert_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Alert))


@pytest.fixture
def served_through_forwarder(pg_app, tmp_path):
    with pg_app.app_context():
        create_staff("maria", STAFF_PASSWORD)
    forwarder = Forwarder(os.environ["KIOSK_TEST_DATABASE_URL"]).start()
    app = create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=forwarder.url))
    with served_in_thread(app) as url:
        yield url, forwarder
    forwarder.close()
    with app.app_context():
        db.engine.dispose()


def test_a_sign_reported_while_the_database_is_down_reaches_the_desk_once_it_is_back(
    chromium,
    pg_app,
    served_through_forwarder,
):
    base, forwarder = served_through_forwarder
    desk_context = chromium.new_context(viewport={"width": 1366, "height": 900})
    kiosk_context = chromium.new_context(has_touch=True, viewport=KIOSK_SCREEN)
    try:
        desk = desk_context.new_page()
        desk.goto(base + "/desk/")
        desk.get_by_label("Name").fill("maria")
        desk.get_by_label("Password").fill(STAFF_PASSWORD)
        desk.get_by_role("button", name="Sign in").click()
        expect(desk.get_by_role("heading", name="Handouts and alerts")).to_be_visible()

        patient = kiosk_context.new_page()
        patient.goto(base + "/")
        patient.locator("#start").tap()
        expect(patient.locator('form[data-step="safety"]')).to_be_visible()

        forwarder.cut()
        patient.locator('label.choice:has(input[name="warning_signs"][value="fever"])').tap()
        patient.locator('button[name="warning_signs"][value="some"]').tap()
        expect(patient.locator("#screen h1")).to_have_text("Please tell the front desk now")
        expect(patient.locator("#screen")).to_contain_text("Please tell them yourself")
        expect(patient.locator("#screen ul.signs")).to_contain_text(re.compile("fever", re.IGNORECASE))
        assert alert_count(pg_app) == 0

        # The desk says what is wrong, calmly, in place of the queue; a desk
        # opened now gets a calm page of its own.
        expect(desk.locator("#queue")).to_contain_text("The database cannot be reached", timeout=15_000)
        second_desk = desk_context.new_page()
        second_desk.goto(base + "/desk/")
        expect(second_desk.get_by_role("alert")).to_contain_text("The database cannot be reached")

        # The screen is wiped for the next patient while the database is still away.
        patient.evaluate("document.getElementById('reset-form').submit()")
        expect(patient.get_by_role("heading", name=WELCOME_HEADING)).to_be_visible()
        expect(patient.locator("#screen")).not_to_contain_text("Continue where I left off")
        assert patient.evaluate(f"localStorage.getItem('{PENDING}')"), "the kiosk dropped the report"
        time.sleep(3)  # a try or two while the database is away
        assert alert_count(pg_app) == 0

        forwarder.mend()
        alerts = desk.locator("[data-alert-id]")
        expect(alerts).to_have_count(1, timeout=40_000)
        # The desk opened during the outage comes back by itself too.
        expect(second_desk.get_by_role("heading", name="Handouts and alerts")).to_be_visible(timeout=20_000)
        expect(second_desk.locator("[data-alert-id]")).to_have_count(1)
        expect(alerts.first).to_contain_text(re.compile("fever", re.IGNORECASE))
        deadline = time.monotonic() + 20
        while patient.evaluate(f"localStorage.getItem('{PENDING}')") is not None:
            assert time.monotonic() < deadline, "the kiosk still keeps a report the desk has"
            time.sleep(0.5)
        time.sleep(4)  # two more polls: still one
        expect(alerts).to_have_count(1)
        assert alert_count(pg_app) == 1
    finally:
        desk_context.close()
        kiosk_context.close()


def test_a_sign_reported_while_the_server_restarts_is_shown_at_once_and_stored_once(
    chromium,
    tmp_path,
    monkeypatch,
):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path))
    with app.app_context():
        create_tables()

    def serve(port: int = 0):
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return server, thread

    server, thread = serve()
    port = server.server_port
    context = chromium.new_context(has_touch=True, viewport=KIOSK_SCREEN)
    try:
        patient = context.new_page()
        patient.goto(f"http://127.0.0.1:{port}/")
        patient.locator("#start").tap()
        expect(patient.locator('form[data-step="safety"]')).to_be_visible()

        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        patient.locator('label.choice:has(input[name="warning_signs"][value="bladder"])').tap()
        patient.locator('button[name="warning_signs"][value="some"]').tap()
        expect(patient.locator("#screen h1")).to_have_text("Please tell the front desk now")
        expect(patient.locator("#screen")).to_contain_text("Please tell them yourself")
        expect(patient.locator("#screen ul.signs li")).to_have_count(1)
        assert alert_count(app) == 0

        server, thread = serve(port)  # the server is back
        deadline = time.monotonic() + 40
        while patient.evaluate(f"localStorage.getItem('{PENDING}')") is not None:
            assert time.monotonic() < deadline, "the report never reached the server"
            time.sleep(0.5)
        time.sleep(3)
        with app.app_context():
            assert [list(a.signs) for a in db.session.scalars(select(Alert))] == [["bladder"]]
    finally:
        context.close()
        server.shutdown()
        server.server_close()
