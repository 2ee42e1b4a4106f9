"""A patient at the touchscreen, in a real browser (Debian's Chromium).

Each test serves the app for real on 127.0.0.1, opens a fresh touch context
and taps through the screens the way a patient would. Nothing here talks to
the app except through the browser, apart from a look at the database to see
what the front desk would see.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kiosk import questionnaire as qn
from kiosk.visits import CLAIM_CODE_LENGTH

from .support.browser import CLAIM_CODE, URGENT_HEADING, WELCOME_HEADING

pytestmark = pytest.mark.browser


# --- the tests ------------------------------------------------------------------


def test_patient_taps_through_the_whole_visit_to_a_claim_code(open_kiosk):
    kiosk, patient = open_kiosk()
    patient.expect_fit_for_touch("Welcome")

    patient.taps_start()
    patient.expect_fit_for_touch("the safety check")
    assert patient.same_document(), "Start reloaded the whole page instead of swapping in the step"

    patient.answers_everything_up_to_review(check_touch=True)
    assert patient.same_document(), "a tap between Start and Review reloaded the whole page"

    code = patient.taps_finish()
    assert CLAIM_CODE.fullmatch(code), f"claim code {code!r} is not {CLAIM_CODE_LENGTH} clear characters"
    patient.expect_fit_for_touch("Done")
    assert patient.same_document(), "Finish reloaded the whole page instead of swapping in Done"
    patient.expect_no_blocked_or_broken_scripts()


def test_a_yes_on_the_safety_check_shows_the_front_desk_screen_and_the_patient_can_continue(open_kiosk):
    kiosk, patient = open_kiosk()
    patient.taps_start()

    patient.answers_safety(yes=("fever",))

    patient.expect_screen("/visit/urgent", URGENT_HEADING)
    expect(patient.page.locator("#screen ul.signs")).to_contain_text(qn.BUILT_IN.red_flag("fever").warning)
    patient.expect_fit_for_touch("the urgent screen")
    assert kiosk.alert_signs() == [["fever"]], "the front desk should get exactly one alert, for the fever"

    patient.page.get_by_role("link", name="I told them. Continue.").tap()
    patient.expect_step(qn.SITUATION)
    assert kiosk.alert_signs() == [["fever"]]
    patient.expect_no_blocked_or_broken_scripts()


def test_idle_kiosk_warns_then_wipes_the_visit(open_kiosk):
    # Real kiosks must give at least 20 s to answer the prompt (config.enforce_limits);
    # a test config skips that limit so the test takes seconds, not minutes.
    kiosk, patient = open_kiosk(IDLE_SECONDS=2, IDLE_WARNING_SECONDS=3)
    page = patient.page
    dialog = page.locator("#idle-dialog")
    countdown = page.locator("#idle-countdown")
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    assert kiosk.visit_count() == 1

    # Still there: the prompt goes away and the visit carries on.
    expect(dialog).to_be_visible(timeout=6_000)
    expect(dialog).to_contain_text("Are you still there?")
    expect(countdown).to_have_text("3")
    patient.expect_fit_for_touch("the idle prompt")
    page.locator("#idle-stay").tap()
    expect(dialog).to_be_hidden()
    patient.expect_step(qn.SITUATION)

    # Gone: the prompt counts down, then the screen goes back to Welcome.
    expect(dialog).to_be_visible(timeout=6_000)
    expect(countdown).to_have_text("2", timeout=3_000)
    patient.expect_screen("/", WELCOME_HEADING, timeout=6_000)
    assert kiosk.visit_count() == 0, "the wiped visit should be deleted, answers and all"

    # Back must not bring the last patient's answers back on screen.
    for _ in range(2):
        patient.taps_back_button_of_the_browser()
        expect(page.locator("#screen h1")).to_have_text(WELCOME_HEADING)
        expect(page).not_to_have_url(re.compile(r"/visit/"))
        expect(page.locator("input:checked")).to_have_count(0)
    patient.expect_no_blocked_or_broken_scripts()


def test_done_screen_clears_itself(open_kiosk):
    kiosk, patient = open_kiosk(DONE_RESET_SECONDS=2)
    patient.taps_start()
    patient.answers_everything_up_to_review()
    code = patient.taps_finish()
    assert CLAIM_CODE.fullmatch(code), code
    expect(patient.page.locator("[data-done-countdown]")).to_have_text(re.compile(r"^[0-2]$"))

    patient.expect_screen("/", WELCOME_HEADING, timeout=7_000)
    expect(patient.page.locator("#claim-code")).to_have_count(0)
    assert code not in patient.page.locator("#screen").inner_text()

    # Nor does Back bring the code back for the next person to see.
    patient.taps_back_button_of_the_browser()
    expect(patient.page.locator("#screen h1")).to_have_text(WELCOME_HEADING)
    expect(patient.page.locator("#claim-code")).to_have_count(0)
    patient.expect_no_blocked_or_broken_scripts()


def test_a_cookie_copied_on_done_shows_nothing_once_done_has_cleared(open_kiosk, chromium):
    kiosk, patient = open_kiosk(DONE_RESET_SECONDS=2)
    patient.taps_start()
    patient.answers_everything_up_to_review()
    code = patient.taps_finish()
    copied = patient.page.context.cookies()
    patient.expect_screen("/", WELCOME_HEADING, timeout=7_000)

    other = chromium.new_context()
    try:
        other.add_cookies(copied)
        # Fetched, not shown: Done's own countdown would clear a page before
        # it could be read.
        for path in ("/visit/done", "/visit/review"):
            page = other.request.get(f"{kiosk.url}{path}").text()
            assert WELCOME_HEADING in page, path
            assert code not in page, f"the copied cookie brought the claim code back on {path}"
    finally:
        other.close()


def test_the_other_reason_box_shows_only_with_something_else_ticked(open_kiosk):
    kiosk, patient = open_kiosk()
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    patient.taps_choice("spine_region", "neck")
    patient.taps_choice("first_recommendation", "injections")
    patient.taps_choice("confidence", "3")
    patient.taps_next()
    patient.expect_step(qn.REASONS)
    other_box = patient.page.locator("#reasons_other")
    expect(other_box).to_be_hidden()
    patient.taps_choice("reasons", "other")
    expect(other_box).to_be_visible()
    patient.page.locator('label.choice:has(input[name="reasons"][value="other"])').tap()
    expect(other_box).to_be_hidden()
    patient.expect_no_blocked_or_broken_scripts()
