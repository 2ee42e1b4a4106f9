"""Every patient served: larger text, high contrast, few taps, nothing lost.

Tried as an older patient with reading glasses would, in a real browser on a
1080x1920 portrait touchscreen and a 1920x1080 landscape one: the screen set
to 150 % text and high contrast, every screen checked for what they need.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from kiosk import questionnaire as qn

from .support.browser import (
    DONE_HEADING,
    FAKE_SPEECH,
    LANDSCAPE,
    PORTRAIT,
    REVIEW_HEADING,
    WELCOME_HEADING,
    CountingPatient,
    Patient,
    expect_soon,
    overflow,
    screen_problems,
    set_display,
    violations,
)

pytestmark = pytest.mark.browser

MAX_TAPS = 25


def test_a_typical_visit_at_150_percent_in_high_contrast_read_aloud_takes_25_taps_or_fewer(open_kiosk):
    """A plan, how sure, three reasons, two records, five questions of which
    three starred, one companion: from Welcome to the claim code."""
    kiosk, patient = open_kiosk(walk_up=False, screen=PORTRAIT)
    patient.page.add_init_script(FAKE_SPEECH)
    patient.walks_up()
    you = CountingPatient(patient)
    page = you.page

    you.setting("text_size", "150")
    expect(page.locator("html")).to_have_class(re.compile(r"\btext-150\b"))
    you.setting("high_contrast", "on")
    expect(page.locator("html")).to_have_class(re.compile(r"\bhigh-contrast\b"))
    expect(page.locator("#read-aloud")).to_be_visible()
    you.setting("read_aloud", "on")
    expect(page.locator("#read-aloud")).to_have_attribute("aria-pressed", "true")

    you.tap("#start")
    patient.expect_step(qn.SAFETY)
    you.tap(f'button[name="warning_signs"][value="{qn.NO_SIGNS.id}"]')

    patient.expect_step(qn.SITUATION)
    you.choice("spine_region", "low_back")
    you.choice("first_recommendation", "fusion")
    you.choice("confidence", "2")
    you.tap("button.next")

    patient.expect_step(qn.REASONS)
    for reason in ("unsure_surgery", "other_options", "risks"):
        you.choice("reasons", reason)
    you.tap("button.next")

    patient.expect_step(qn.RECORDS)
    you.choice("records_exist", "mri")
    you.choice("records_exist", "xray")
    you.choice("records_requested", "not_yet")
    you.choice("companion", "family")
    you.tap("button.next")

    patient.expect_step(qn.QUESTIONS)
    for starred in ("q_options_all", "q_risks_main", "q_exp_count"):
        you.star(starred)
        # The star picks its question: no second tap on the question itself.
        expect(page.locator(f'input[name="questions"][value="{starred}"]')).to_be_checked()
    you.choice("questions", "q_recovery_time")
    you.choice("questions", "q_wait_what")
    you.tap("button.next")

    patient.expect_screen("/visit/review", REVIEW_HEADING)
    expect(page.locator("#screen")).to_contain_text("★ " + qn.BANK.choice("q_exp_count").label)
    you.tap("button.next")
    patient.expect_screen("/visit/done", DONE_HEADING)

    assert you.taps <= MAX_TAPS, f"{you.taps} taps from Welcome to Done"
    said = lambda: [item.get("text") for item in page.evaluate("window.__spoken")]  # noqa: E731
    expect_soon(lambda: DONE_HEADING in said(), "Done was not read aloud")
    expect(page.locator("html")).to_have_class(re.compile(r"\btext-150\b.*\bhigh-contrast\b"))
    patient.expect_no_blocked_or_broken_scripts()


# --- every screen, at 150 % and in high contrast, in both orientations ----------------------------


def every_screen(patient: Patient, check: Callable[[str], None]) -> None:
    """Welcome to Done, with the urgent screen and a screen of mistakes on the way."""
    page = patient.page
    check("welcome")
    patient.taps_start()
    check("the safety check")
    page.locator('label.choice:has(input[value="fever"])').tap()
    page.locator(f'button[name="warning_signs"][value="{qn.NO_SIGNS.id}"]').tap()
    expect(page.locator(".field-error")).to_be_visible()
    check("the safety check, asked again")
    page.locator(f'button[name="warning_signs"][value="{qn.SOME_SIGNS.id}"]').tap()
    patient.expect_screen("/visit/urgent", "Please tell the front desk now")
    check("the urgent screen")
    page.get_by_role("link", name="I told them. Continue.").tap()
    patient.expect_step(qn.SITUATION)
    check("the situation step")
    patient.taps_next()
    expect(page.locator(".field-error").first).to_be_visible()
    check("the situation step with its messages")
    patient.taps_choice("spine_region", "low_back")
    patient.taps_choice("first_recommendation", "fusion")
    patient.taps_choice("confidence", "2")
    patient.taps_next()
    patient.expect_step(qn.REASONS)
    patient.taps_choice("reasons", "other")
    page.locator("#reasons_other").fill("Because " * 50)
    check("the reasons step, a follow-up typed too long")
    page.locator("#reasons_other").fill("My own reason.")
    patient.taps_next()
    patient.expect_step(qn.RECORDS)
    check("before your visit")
    patient.taps_choice("records_exist", "unsure")
    patient.taps_choice("records_requested", "not_yet")
    patient.taps_choice("companion", "friend")
    patient.taps_next()
    patient.expect_step(qn.QUESTIONS)
    check("the questions step")
    patient.taps_star("q_options_all")
    patient.taps_next()
    patient.expect_screen("/visit/review", REVIEW_HEADING)
    check("the review")
    patient.taps_finish()
    check("done")


@pytest.mark.parametrize("screen", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_every_screen_works_at_150_percent_in_high_contrast(open_kiosk, screen):
    kiosk, patient = open_kiosk(screen=screen)
    set_display(patient.page)
    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        if found := screen_problems(patient, kiosk.url, text_size=150):
            problems[name] = found

    every_screen(patient, check)
    assert problems == {}
    patient.expect_no_blocked_or_broken_scripts()


def test_every_screen_is_free_of_axe_violations_at_125_percent(open_kiosk):
    kiosk, patient = open_kiosk(screen=PORTRAIT)
    set_display(patient.page, size=125, contrast=False)
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        if problems := violations(patient.page, kiosk.url) + [
            f"scrolls sideways {overflow(patient.page)} px"
        ] * (overflow(patient.page) > 0):
            found[name] = problems

    every_screen(patient, check)
    assert found == {}


TEXT_ON_A_STEP = {
    "title": "#screen h1",
    "intro": "#screen .lead",
    "question": "#screen legend",
    "hint": "#screen .hint",
    "answer": "#screen label.choice span",
    "button": "#screen button.next",
    "progress": "#screen .progress-label",
}


def font_sizes(page: Page) -> dict[str, float]:
    return {
        name: float(page.evaluate(f"parseFloat(getComputedStyle(document.querySelector('{sel}')).fontSize)"))
        for name, sel in TEXT_ON_A_STEP.items()
    }


def test_larger_text_scales_everything_a_patient_reads(open_kiosk):
    kiosk, patient = open_kiosk()
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    usual = font_sizes(patient.page)
    assert usual["question"] > usual["hint"], "a hint is never larger than its question"
    for size in (125, 150):
        set_display(patient.page, size=size, contrast=False)
        grown = font_sizes(patient.page)
        for name, px in grown.items():
            assert px == pytest.approx(usual[name] * size / 100, rel=0.02), (name, size, px, usual[name])
        assert grown["question"] > grown["hint"]


def test_a_setting_changed_on_a_step_keeps_what_was_tapped(open_kiosk):
    kiosk, patient = open_kiosk()
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    patient.taps_choice("spine_region", "neck")
    patient.page.evaluate("window.__marker = 1")
    set_display(patient.page, size=150, contrast=True)
    expect(patient.page.locator('input[name="spine_region"][value="neck"]')).to_be_checked()
    assert patient.same_document(), "the setting reloaded the page"
    pressed = patient.page.locator('.display-settings button[aria-pressed="true"]')
    expect(pressed).to_have_text(["150%", "High contrast"])


def test_the_settings_last_for_the_visit_and_go_with_it(open_kiosk):
    kiosk, patient = open_kiosk()
    set_display(patient.page)
    patient.taps_start()
    patient.answers_everything_up_to_review()
    patient.page.reload()
    expect(patient.page.locator("html")).to_have_class(re.compile(r"\btext-150\b.*\bhigh-contrast\b"))
    patient.taps_finish()
    patient.page.get_by_role("button", name="I am done").tap()
    patient.expect_screen("/", WELCOME_HEADING)
    expect(patient.page.locator("html")).to_have_class("text-100")
    expect(patient.page.locator('.display-settings button[aria-pressed="true"]')).to_have_text(["100%"])


def test_reduced_motion_is_respected(open_kiosk):
    def transition(page: Page) -> str:
        return page.evaluate("getComputedStyle(document.querySelector('#start')).transitionDuration")

    _, moving = open_kiosk()
    assert transition(moving.page) != "0s", "the check below would prove nothing"
    _, still = open_kiosk(reduced_motion="reduce")
    assert transition(still.page) == "0s"


# --- text boxes, the star, the claim code ---------------------------------------------------------


def test_a_long_paste_is_kept_counted_and_explained(open_kiosk):
    kiosk, patient = open_kiosk()
    page = patient.page
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    patient.taps_choice("spine_region", "low_back")
    patient.taps_choice("first_recommendation", "fusion")
    patient.taps_choice("confidence", "2")
    patient.taps_next()
    patient.expect_step(qn.REASONS)
    patient.taps_choice("reasons", "other")
    box = page.locator("#reasons_other")
    expect(page.locator("#reasons_other-count")).to_have_text(
        f"You can type up to {qn.TEXT_MAX_LENGTH} letters."
    )
    box.fill("a" * 5000)
    expect(box).to_have_value("a" * 5000)  # nothing cut off without a word
    expect(page.locator("#reasons_other-count")).to_have_text(
        f"Too long: 5000 letters, and the limit is {qn.TEXT_MAX_LENGTH}."
    )
    patient.taps_next()
    expect(page.locator("#reasons_other-error")).to_have_text(
        f"This is too long: it has 5000 letters, and the limit is {qn.TEXT_MAX_LENGTH}. Please make it shorter."
    )
    expect(box).to_have_value("a" * 5000)
    box.fill("Short now.")
    expect(page.locator("#reasons_other-count")).to_have_text(f"10 of {qn.TEXT_MAX_LENGTH} letters used.")
    assert patient.console_errors == [], "a message for the patient is not an error in the console"


def test_a_mistake_logs_no_console_error(open_kiosk):
    kiosk, patient = open_kiosk()
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    patient.taps_next()
    expect(patient.page.locator(".field-error").first).to_be_visible()
    assert patient.console_errors == []


def test_unpicking_a_question_takes_its_star_away(open_kiosk):
    kiosk, patient = open_kiosk()
    patient.taps_start()
    patient.answers_everything_up_to_review()
    patient.page.goto(kiosk.url + "/visit/questions")
    page = patient.page
    expect(page.locator('input[name="top_questions"][value="q_options_all"]')).to_be_checked()
    page.locator('label.choice:has(input[value="q_options_all"])').tap()
    expect(page.locator('input[name="top_questions"][value="q_options_all"]')).not_to_be_checked()


def test_the_claim_code_can_stay_up_longer_but_not_for_the_next_patient(open_kiosk):
    kiosk, patient = open_kiosk(
        walk_up=False, DONE_RESET_SECONDS=30, DONE_MORE_TIME_SECONDS=60, DONE_MAX_SECONDS=120
    )
    page = patient.page
    page.clock.install()
    patient.walks_up()
    patient.taps_start()
    patient.answers_everything_up_to_review()
    code = patient.taps_finish()

    page.clock.run_for(25_000)
    page.get_by_role("button", name="I need more time").tap()
    expect(page.locator("[data-done-countdown]")).to_have_text("65")
    page.clock.run_for(40_000)  # past the first 30 s
    patient.expect_screen("/visit/done", DONE_HEADING)
    expect(page.locator("#claim-code")).to_have_text(code)

    page.get_by_role("button", name="I need more time").tap()  # 55 s left, and 55 s of the 120 s limit
    expect(page.get_by_role("button", name="I need more time")).to_be_disabled()
    page.clock.run_for(60_000)
    patient.expect_screen("/", WELCOME_HEADING)
    expect(page.locator("#screen")).not_to_contain_text(code)
