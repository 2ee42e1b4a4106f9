"""The statistics in a real browser: the kiosk counts the patient's taps from
Start to Finish as a test counts them, and the desk's statistics page has no
axe-core violations and nothing the CSP blocks."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk.auth import create_staff
from kiosk.extensions import db
from kiosk.models import DailyCount

from .conftest import STAFF_PASSWORD
from .support.browser import CountingPatient, violations

pytestmark = pytest.mark.browser


def test_the_kiosk_sends_the_taps_a_patient_made_and_the_page_passes_axe(open_kiosk, chromium):
    kiosk, patient = open_kiosk()
    you = CountingPatient(patient)
    page = you.page
    page.locator(".display-settings button[name='text_size'][value='125']").tap()  # before Start: not counted
    expect(page.locator("html")).to_have_class("text-125")
    you.taps = 0

    you.tap("#start")
    patient.expect_step(qn.SAFETY)
    you.tap(f'button[name="warning_signs"][value="{qn.NO_SIGNS.id}"]')
    patient.expect_step(qn.SITUATION)
    you.choice("spine_region", "low_back")
    you.choice("first_recommendation", "fusion")
    you.choice("confidence", "2")
    you.tap("button.next")
    patient.expect_step(qn.REASONS)
    you.choice("reasons", "risks")
    you.tap("button.next")
    patient.expect_step(qn.RECORDS)
    you.choice("records_exist", "mri")
    you.choice("records_requested", "not_yet")
    you.choice("companion", "family")
    you.tap("button.next")
    patient.expect_step(qn.QUESTIONS)
    you.star("q_options_all")
    you.choice("questions", "q_wait_what")
    you.tap("button.next")
    patient.expect_screen("/visit/review", "Check your answers")
    you.tap("button.next")
    patient.expect_screen("/visit/done", "You are all set")
    patient.expect_no_blocked_or_broken_scripts()

    with kiosk.app.app_context():
        sent = db.session.scalars(select(DailyCount.bucket).where(DailyCount.metric == "taps")).all()
        create_staff("boss", STAFF_PASSWORD, is_admin=True)
    assert sent == [you.taps] and you.taps == 16

    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    desk = context.new_page()
    problems: list[str] = []
    desk.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    desk.goto(kiosk.url + "/desk/sign-in")
    desk.get_by_label("Name").fill("boss")
    desk.get_by_label("Password").fill(STAFF_PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    desk.get_by_role("link", name="Statistics").click()
    expect(desk.get_by_role("heading", name="Where patients stop")).to_be_visible()
    expect(desk.get_by_role("img", name="Visits given up, by step")).to_be_visible()
    expect(desk.locator("table.totals")).to_contain_text("16")
    assert violations(desk, kiosk.url) == []
    desk.get_by_label("Kiosk", exact=True).select_option("Test kiosk")
    desk.get_by_role("button", name="Show").click()
    expect(desk).to_have_url(kiosk.url + "/desk/statistics?kiosk=Test+kiosk")
    assert violations(desk, kiosk.url) == []
    context.close()
    assert problems == []
