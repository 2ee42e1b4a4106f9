"""Enrolled kiosks: an admin registers one and gets a one-time link; the
touchscreen that opens it becomes that kiosk; any other device is told,
calmly, to ask the front desk; a revoked kiosk starts nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kiosk.extensions import db
from kiosk.models import Alert, Handout, Kiosk, PrintJob, Visit, utcnow

from .conftest import STAFF_PASSWORD, Desk, run_worker
from .conftest import Kiosk as Touchscreen

# The code goes after "#", which a browser never sends: it is in no log.
LINK = re.compile(r'<code class="password link">https?://[^/]+/enroll#([A-Za-z0-9_-]+)</code>')


@pytest.fixture
def app(make_app):
    """The app as a clinic runs it: only enrolled kiosks start visits."""
    return make_app(KIOSK_ENROLLMENT=1)


def register(admin_desk, name: str = "Waiting room 2", **fields) -> str:
    """Register a kiosk on the desk; the code of its one-time link."""
    page = admin_desk.post("/desk/kiosks", {"name": name, "location": "By the window", **fields})
    assert page.status_code == 200, page.get_data(as_text=True)
    return LINK.search(page.get_data(as_text=True)).group(1)


def open_link(screen: Touchscreen, code: str):
    """What the kiosk's browser does with the link: loads /enroll, and its
    script posts the code from after the "#"."""
    assert "Set up this kiosk" in screen.get("/enroll").get_data(as_text=True)
    return screen.post("/enroll", {"code": code})


def enroll(app, code: str) -> Touchscreen:
    screen = Touchscreen(app.test_client())
    page = open_link(screen, code)
    assert page.status_code == 200 and "This screen will become the kiosk:" in page.get_data(as_text=True)
    assert screen.post("/enroll", {"code": code, "confirm": "1"}).headers["Location"] == "/"
    return screen


@pytest.mark.parametrize("path", ["/", "/visit/safety", "/visit/done", "/kiosk/ping"])
def test_a_device_that_is_not_enrolled_is_told_to_ask_the_front_desk(client, path):
    response = client.get(path)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Please ask the front desk" in page and "not set up as a kiosk" in page
    assert 'data-idle-mode="off"' in page


def test_a_device_that_is_not_enrolled_cannot_start_a_visit(app):
    stranger = Touchscreen(app.test_client())
    stranger.get("/desk/sign-in")  # a page with a token
    assert stranger.post("/start").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Visit)) is None


def test_an_enrolled_kiosk_runs_visits_under_its_own_name(app, admin_desk):
    screen = enroll(app, register(admin_desk))
    assert screen.get("/").status_code == 200
    screen.answer_all({"warning_signs": ["fever"]})
    screen.finish()
    with app.app_context():
        assert db.session.scalar(select(Alert.kiosk)) == "Waiting room 2"
        assert db.session.scalar(select(Handout.kiosk)) == "Waiting room 2"
    assert "Waiting room 2" in admin_desk.get("/desk/queue").get_data(as_text=True)


def test_the_device_cookie_is_long_lived_http_only_and_survives_a_reset(app, admin_desk):
    screen = enroll(app, register(admin_desk))
    cookie = screen.client.get_cookie("kiosk_device")
    assert cookie.http_only and cookie.expires is not None
    assert cookie.expires.year >= utcnow().year + 4
    screen.client.post("/reset")
    assert screen.get("/").status_code == 200


def test_a_link_works_once_and_not_after_a_day(app, admin_desk):
    link = register(admin_desk)
    enroll(app, link)
    again = Touchscreen(app.test_client())
    assert open_link(again, link).status_code == 404
    assert "does not work" in open_link(again, link).get_data(as_text=True)
    tapped = again.post("/enroll", {"code": link, "confirm": "1"})
    assert tapped.status_code == 404 and again.client.get_cookie("kiosk_device") is None

    late = register(admin_desk, "Hall kiosk")
    with app.app_context():
        db.session.execute(update(Kiosk).values(link_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert open_link(Touchscreen(app.test_client()), late).status_code == 404


def test_a_forged_or_tampered_device_cookie_is_not_a_kiosk(app, admin_desk):
    screen = enroll(app, register(admin_desk))
    value = screen.client.get_cookie("kiosk_device").value
    forged = app.test_client()
    forged.set_cookie("kiosk_device", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert forged.get("/").status_code == 403


def test_a_revoked_kiosk_starts_nothing_and_a_new_link_enrolls_it_again(app, admin_desk):
    screen = enroll(app, register(admin_desk))
    with app.app_context():
        kiosk_id = db.session.scalar(select(Kiosk.id))
    admin_desk.post(f"/desk/kiosks/{kiosk_id}/revoke")
    assert screen.get("/").status_code == 403
    page = admin_desk.post(f"/desk/kiosks/{kiosk_id}/link").get_data(as_text=True)
    assert enroll(app, LINK.search(page).group(1)).get("/").status_code == 200
    assert screen.get("/").status_code == 403, "the old device stays out"


def test_the_desk_shows_each_kiosks_last_contact(app, staff, admin_desk):
    screen = enroll(app, register(admin_desk))
    with app.app_context():
        db.session.execute(update(Kiosk).values(last_seen_at=utcnow() - timedelta(hours=3)))
        db.session.commit()
    assert screen.get("/kiosk/ping").status_code == 204
    desk = Desk(app.test_client())
    desk.sign_in()
    page = desk.get("/desk/kiosks").get_data(as_text=True)
    assert "Waiting room 2" in page and "Enrolled" in page
    with app.app_context():
        assert utcnow() - db.session.scalar(select(Kiosk.last_seen_at)) < timedelta(minutes=1)
    assert "Register a kiosk" not in page, "only admins manage kiosks"
    assert desk.post("/desk/kiosks", {"name": "Sneaky"}).status_code == 403


def test_a_kiosk_with_its_own_printer_prints_every_handout_there(app, admin_desk):
    screen = enroll(app, register(admin_desk, auto_print_printer="directory"))
    screen.answer_all()
    screen.finish()
    run_worker(app)
    with app.app_context():
        job = db.session.scalar(select(PrintJob))
        assert (job.printer, job.state, job.requested_by) == ("directory", "completed", "Waiting room 2")


def test_names_are_unique_and_required(admin_desk):
    register(admin_desk)
    again = admin_desk.post("/desk/kiosks", {"name": "Waiting  room 2"})
    assert again.status_code == 400 and "already a kiosk called" in again.get_data(as_text=True)
    assert admin_desk.post("/desk/kiosks", {"name": ""}).status_code == 400


def test_registering_and_revoking_are_audited(app, admin_desk):
    from kiosk.models import AuditEvent

    enroll(app, register(admin_desk))
    with app.app_context():
        kiosk_id = db.session.scalar(select(Kiosk.id))
    admin_desk.post(f"/desk/kiosks/{kiosk_id}/revoke")
    with app.app_context():
        actions = [(e.action, e.subject) for e in db.session.scalars(select(AuditEvent))]
    assert ("add-kiosk", "kiosk Waiting room 2") in actions
    assert ("revoke-kiosk", "kiosk Waiting room 2") in actions
    assert STAFF_PASSWORD not in str(actions)


def test_the_link_keeps_its_code_out_of_every_url_the_server_sees(app, admin_desk):
    code = register(admin_desk)
    screen = Touchscreen(app.test_client())
    page = screen.get("/enroll")
    assert code not in page.get_data(as_text=True)
    assert "data-enroll-check" in page.get_data(as_text=True), "the page posts the code it is given"
    named = screen.post("/enroll", {"code": code}, headers={"HX-Request": "true"})
    assert "Waiting room 2" in named.get_data(as_text=True)
    assert named.headers["HX-Push-Url"] == "/enroll", "the address shown stays clean"
    with app.app_context():
        assert db.session.scalar(select(Kiosk.token_hash)) is None, "asking which kiosk enrolls nothing"
    assert screen.post("/enroll", {"code": code, "confirm": "1"}).status_code == 303


def test_a_link_made_before_the_code_moved_after_the_hash_still_enrolls(app, admin_desk):
    code = register(admin_desk)
    screen = Touchscreen(app.test_client())
    sent_on = screen.get(f"/enroll/{code}")
    assert sent_on.status_code == 303 and sent_on.headers["Location"] == f"/enroll#{code}"
    enroll(app, code)
    assert screen.get(f"/enroll/{code}").status_code == 404, "a spent link does not work"
    assert "does not work" in screen.get("/enroll/nothing-like-a-code").get_data(as_text=True)
