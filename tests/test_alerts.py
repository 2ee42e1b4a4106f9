"""Urgent alerts on the front desk: how each red flag reads for staff, and
what the queue gives the browser to escalate an alert nobody acknowledged."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kiosk import questionnaire as qn
from kiosk.desk import sign_labels
from kiosk.extensions import db
from kiosk.models import Alert, utcnow

ALERT = re.compile(r'<article class="alert"[^>]*>')


@pytest.mark.parametrize("flag", [*qn.RED_FLAGS, qn.SOME_SIGNS], ids=lambda q: q.id)
def test_every_red_flag_has_a_staff_wording(flag):
    label = flag.staff_label
    assert label, f"red flag {flag.id!r} has no staff_label"
    assert label.startswith("Reports "), "staff read what the patient reported, in the third person"
    assert label != flag.warning
    assert not re.search(r"\b(you|your|I|my)\b", label), "the staff wording is not in the patient's voice"
    assert len(label) <= 100, "an alert is read at a glance"


def test_the_desk_labels_every_red_flag_from_the_questionnaire(app):
    with app.app_context():
        assert {q.id: q.staff_label for q in (*qn.RED_FLAGS, qn.SOME_SIGNS)} == sign_labels()


def test_the_desk_shows_the_staff_wording_not_the_patients(app, desk, kiosk):
    kiosk.answer_all({"warning_signs": ["saddle_numbness"]})
    page = desk.get("/desk/queue").get_data(as_text=True)
    flag = qn.BUILT_IN.red_flag("saddle_numbness")
    assert flag.staff_label in page
    assert flag.warning not in page


def test_every_red_flag_reported_at_once_shows_in_staff_wording(app, desk, kiosk):
    kiosk.answer_all({"warning_signs": [q.id for q in qn.RED_FLAGS]})
    page = desk.get("/desk/queue").get_data(as_text=True)
    for flag in qn.RED_FLAGS:
        assert flag.staff_label in page
        assert flag.warning not in page


def test_one_or_more_signs_not_yet_said_which_reaches_the_desk_at_once(app, desk, kiosk):
    kiosk.start()
    kiosk.get("/visit/safety")
    kiosk.post("/visit/safety", {"warning_signs": "some"})
    page = desk.get("/desk/queue").get_data(as_text=True)
    assert qn.SOME_SIGNS.staff_label in page
    kiosk.post("/visit/safety", {"warning_signs": ["weight_loss", "some"], "which": "1"})
    page = desk.get("/desk/queue").get_data(as_text=True)
    assert qn.BUILT_IN.red_flag("weight_loss").staff_label in page
    assert qn.SOME_SIGNS.staff_label not in page, "the one alert now says which sign"


def alert_attributes(page: str) -> dict[str, str]:
    tag = ALERT.search(page)
    assert tag is not None, "no alert on the desk"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0)))


def test_an_alert_carries_its_age_by_the_servers_clock_and_the_threshold(app, desk, kiosk):
    kiosk.answer_all({"warning_signs": ["bowel"]})
    with app.app_context():
        db.session.execute(update(Alert).values(created_at=utcnow() - timedelta(seconds=95)))
        db.session.commit()
    attributes = alert_attributes(desk.get("/desk/queue").get_data(as_text=True))
    assert 95 <= int(attributes["waited-seconds"]) <= 100
    assert attributes["escalate-seconds"] == "60"


def test_the_escalation_threshold_is_the_setting(app, desk, kiosk):
    app.config["ALERT_ESCALATE_SECONDS"] = 120
    kiosk.answer_all({"warning_signs": ["fever"]})
    attributes = alert_attributes(desk.get("/desk/").get_data(as_text=True))
    assert attributes["escalate-seconds"] == "120"
    assert 0 <= int(attributes["waited-seconds"]) <= 5


def test_a_new_alerts_age_is_never_negative(app, desk, kiosk):
    kiosk.answer_all({"warning_signs": ["cancer"]})
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
        db.session.execute(update(Alert).values(created_at=utcnow() + timedelta(seconds=30)))
        db.session.commit()
    attributes = alert_attributes(desk.get("/desk/queue").get_data(as_text=True))
    assert attributes["alert-id"] == str(alert_id)
    assert attributes["waited-seconds"] == "0"
