"""Audio mode in a real browser: a patient who cannot see the screen does the
whole visit with key presses only (no tap, no click, no mouse), hearing every
move, as with a tactile keypad and headphones.

Speech is the recorder of tests/test_speech_browser.py: what the kiosk would
say is read back from `window.__spoken`, each key press cutting short what
was being said (a `cancel`), so what one press made the kiosk say is
everything after the last cancel.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk.extensions import db
from kiosk.models import Alert, Visit

from .support.browser import DONE_HEADING, REVIEW_HEADING, WELCOME_HEADING, violations
from .support.content import write
from .support.keypad import (
    SAID_AS,
    TYPICAL_ANSWERS,
    KeypadPatient,
    assert_only_the_cover,
    choice,
    open_with_speech,
    screenshot,
    spelling_of,
    stored_answers,
    typical_visit_by_keys,
)
from .support.speech_recorder import ENGLISH, READING_NOW

pytestmark = pytest.mark.browser

SPANISH = {"name": "Español (España)", "lang": "es-ES"}
ES_WELCOME = "Prepárese bien para pedir una segunda opinión"


def touch_walk(patient) -> None:
    """The same visit, tapped."""
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    for question, value in [
        ("spine_region", "low_back"),
        ("first_recommendation", "fusion"),
        ("confidence", "2"),
    ]:
        patient.taps_choice(question, value)
    patient.taps_next()
    patient.expect_step(qn.REASONS)
    for reason in ("unsure_surgery", "other_options", "risks"):
        patient.taps_choice("reasons", reason)
    patient.taps_next()
    patient.expect_step(qn.RECORDS)
    for question, value in [
        ("records_exist", "mri"),
        ("records_exist", "ct"),
        ("records_requested", "not_yet"),
    ]:
        patient.taps_choice(question, value)
    patient.taps_choice("companion", "family")
    patient.taps_next()
    patient.expect_step(qn.QUESTIONS)
    for question in ("q_options_all", "q_options_why", "q_risks_help"):
        patient.taps_star(question)
    patient.taps_choice("questions", "q_risks_main")
    patient.taps_choice("questions", "q_exp_count")
    patient.taps_next()
    patient.expect_screen("/visit/review", REVIEW_HEADING)
    patient.taps_finish()


# --- the tests ----------------------------------------------------------------------


def test_a_patient_who_cannot_see_does_the_typical_visit_by_keys_alone(open_kiosk, chromium):
    kiosk, patient = open_with_speech(open_kiosk)
    page = patient.page
    page.goto(kiosk.url + "/")
    expect(page.locator("#screen h1")).to_have_text(WELCOME_HEADING)
    keys = KeypadPatient(page, kiosk.url)

    # Any key starts audio mode, says so and how the keys work, then where we are.
    heard = keys.press("ArrowDown")
    words = page.evaluate("Object.assign({}, document.getElementById('audio-words').dataset)")
    assert heard[0] == words["intro"] and heard[1] == WELCOME_HEADING, heard
    assert heard[-1] == f"{words['button']}: Start.", heard
    expect(page.locator("html")).to_have_class("text-100 audio")
    keys.press("Enter")
    heard = keys.arrives(qn.SAFETY.title, "/visit/safety")
    assert heard[0] == qn.SAFETY.title
    assert f"{qn.SAFETY.questions[0].label}. Check box, not ticked: {qn.RED_FLAGS[0].label}" in heard[-1]
    assert heard[-1].endswith("1 of 9."), heard

    typical_visit_by_keys(keys)
    # The review: Finish is reached by skipping each part's Change.
    keys.move_to("#screen button.next", "ArrowRight")
    keys.press("Enter")
    heard = keys.arrives(DONE_HEADING, "/visit/done")
    code = page.locator("#claim-code").inner_text().strip()
    assert f"Your code is {spelling_of(kiosk, code, 'en')}." in heard, heard
    assert "Please go to the front desk and tell them this code." in heard
    walk_presses = keys.presses

    # Help says the code again; Done stays until a key is pressed twice.
    assert f"Your code is {spelling_of(kiosk, code, 'en')}." in keys.press("F1")
    page.wait_for_timeout(1_500)
    expect(page).to_have_url(kiosk.url + "/visit/done")
    # Not the usual 30 s: the longest wait, as nobody reads the countdown.
    assert int(page.locator("[data-done-countdown]").inner_text()) > 250
    assert keys.press("Enter") == ["Press a key once more to clear the screen."]
    page.keyboard.press("Enter")  # the second: the screen clears for the next patient
    expect(page.locator("#screen h1")).to_have_text(WELCOME_HEADING)
    expect(page.locator("body")).to_have_attribute("data-audio", "off")
    assert [s for s in page.evaluate("window.__spoken") if "text" in s] == [], (
        "Welcome spoke for the next patient"
    )
    expect(page.locator("html")).not_to_have_class("text-100 audio")  # the reset ended audio mode

    print(f"\nkey presses, Welcome to Done: {walk_presses}; moves heard: {keys.moves_heard}")
    assert walk_presses < 80
    assert keys.moves_heard > 20
    no_ring = [ring["what"] for ring in keys.rings if ring["outline"] < 2 and not ring["shadow"]]
    assert no_ring == [], "focused controls without a visible ring"

    # The same visit by touch stores the same answers.
    context = chromium.new_context(has_touch=True, viewport={"width": 1080, "height": 1400})
    from .support.browser import Patient

    toucher = Patient(context.new_page(), kiosk.url)
    toucher.walks_up()
    touch_walk(toucher)
    context.close()
    by_keys, by_touch = stored_answers(kiosk)
    assert by_keys == by_touch
    assert {k: by_keys[k] for k in TYPICAL_ANSWERS} == TYPICAL_ANSWERS
    with kiosk.app.app_context():
        assert sorted(v.used_audio for v in db.session.scalars(select(Visit))) == [False, True]


def test_in_spanish_with_the_screen_blank_a_red_flag_by_keys_reaches_the_desk(open_kiosk):
    kiosk, patient = open_with_speech(open_kiosk, voices=(ENGLISH, SPANISH))
    write(kiosk.app, "[audio]\nblank_screen = true\n")
    page = patient.page
    page.goto(kiosk.url + "/")
    expect(page.locator("#screen h1")).to_have_text(WELCOME_HEADING)
    keys = KeypadPatient(page, kiosk.url)

    keys.press("F1")  # the help key starts it too; the clinic blanks the screen
    expect(page.locator("html")).to_have_class("text-100 audio audio-blank")
    page.wait_for_function(f"() => ({READING_NOW})().at(-1) === 'The screen is hidden. The keys still work.'")
    heard = keys.heard()
    assert heard[0].startswith("Audio mode is on.") and heard[1] == WELCOME_HEADING, heard
    keys.move_to('.language-settings button[value="es"]', "ArrowUp")
    keys.press("Enter")
    heard = keys.arrives(ES_WELCOME, "/")
    assert page.evaluate("document.documentElement.lang") == "es"
    expect(page.locator("html")).to_have_class("text-100 audio audio-blank")
    cover = screenshot(page)
    assert_only_the_cover(page, keys)

    keys.move_to("#start")
    keys.press("Enter")
    keys.page.wait_for_url("**/visit/safety")
    heard = keys.arrives(page.evaluate("document.querySelector('#screen h1').textContent.trim()"))
    assert "Casilla, sin marcar:" in heard[-1] and heard[-1].endswith("1 de 9."), heard
    typical_visit_by_keys(keys, red_flag=True)
    assert_only_the_cover(page, keys)
    assert screenshot(page) == cover, "the blank screen changed with the answers"

    keys.move_to("#screen button.next", "ArrowRight")
    keys.press("Enter")
    page.wait_for_url("**/visit/done")
    heard = keys.arrives(page.evaluate("document.querySelector('#screen h1').textContent.trim()"))
    code = page.locator("#claim-code").text_content().strip()
    assert f"Su código es {spelling_of(kiosk, code, 'es')}." in heard, heard
    assert_only_the_cover(page, keys)

    utterances = [s for s in page.evaluate("window.__spoken") if "text" in s]
    assert {u["voice"] for u in utterances} == {SPANISH["name"]}
    with kiosk.app.app_context():
        alerts = db.session.scalars(select(Alert)).all()
        assert [(a.signs, a.used_audio) for a in alerts] == [(["bladder"], True)]
    answers = stored_answers(kiosk)[0]
    assert {k: answers[k] for k in TYPICAL_ANSWERS} == TYPICAL_ANSWERS


def test_audio_mode_and_the_blank_screen_pass_axe_and_show_focus(open_kiosk):
    kiosk, patient = open_with_speech(open_kiosk)
    page = patient.page
    page.goto(kiosk.url + "/?audio=1")
    expect(page.locator("html")).to_have_class("text-100 audio")
    keys = KeypadPatient(page, kiosk.url)
    found = {"welcome": violations(page, kiosk.url)}
    # Every control of the masthead, pressed ("English", "100%") or not, shows its ring.
    keys.move_to('.language-settings button[value="en"]', "ArrowUp")
    assert keys.press("ArrowUp")[0].startswith("Button: Start")  # round to the end of the masthead
    keys.move_to("#start")
    keys.press("Enter")
    keys.arrives(qn.SAFETY.title)
    for _ in range(12):
        keys.press("ArrowDown")
    found["safety"] = violations(page, kiosk.url)
    keys.move_to("#blank-screen", "ArrowUp")
    keys.press("Enter")
    expect(page.locator("html")).to_have_class("text-100 audio audio-blank")
    found["safety, blank"] = violations(page, kiosk.url)
    no_ring = [ring["what"] for ring in keys.rings if ring["outline"] < 2 and not ring["shadow"]]
    assert no_ring == []
    assert {screen: problems for screen, problems in found.items() if problems} == {}


def test_the_idle_prompt_is_said_and_any_key_answers_i_am_still_here(open_kiosk):
    kiosk, patient = open_with_speech(open_kiosk, IDLE_SECONDS=2)
    page = patient.page
    page.goto(kiosk.url + "/?audio=1")
    keys = KeypadPatient(page, kiosk.url)
    keys.press("Enter")
    keys.arrives(qn.SAFETY.title)
    expect(page.locator("#idle-dialog")).to_be_visible(timeout=6_000)
    keys.arrives("Are you still there?")
    assert keys.press("Enter") == ["I am still here."]
    expect(page.locator("#idle-dialog")).to_be_hidden()
    # Slower, and softer: the next words are said so.
    keys.press("-")
    keys.press("PageDown")
    keys.press("ArrowDown")
    last = [s for s in page.evaluate("window.__spoken") if "text" in s][-1]
    assert last["rate"] == pytest.approx(0.75) and last["volume"] == pytest.approx(0.75)

    # A problem is said as it appears, and the keys go on from the answer it is about.
    keys.move_to(choice("warning_signs", "fever"))
    keys.choose(choice("warning_signs", "fever"))
    keys.move_to('#screen button[value="none"]', "ArrowRight")
    keys.press("Enter")
    expect(page.locator(".field-error")).to_be_visible()
    problem = page.locator(".field-error").text_content().strip()
    keys.arrives(qn.SAFETY.title)
    heard = keys.heard()
    assert any(problem in text for text in heard), heard
    assert heard[-1].startswith(f"{qn.SAFETY.questions[0].label}. Check box, not ticked:"), heard

    # Help: where you are, and the keys again.
    heard = keys.press("F1")
    assert heard[0] == qn.SAFETY.title and heard[-1].startswith("Audio mode is on."), heard
    assert heard[1].startswith(f"{qn.SAFETY.questions[0].label}. Check box, not ticked:"), heard
    # Back: the screen before.
    keys.press("Escape")
    keys.arrives(WELCOME_HEADING, "/")


def test_read_to_me_says_each_move_by_tab(open_kiosk):
    kiosk, patient = open_with_speech(open_kiosk)
    page = patient.page
    page.goto(kiosk.url + "/")
    page.locator("#read-aloud").tap()
    expect(page.locator("#read-aloud")).to_have_attribute("aria-pressed", "true")
    page.locator("#start").tap()
    patient.expect_step(qn.SAFETY)
    page.keyboard.press("Tab")
    focused = page.evaluate(SAID_AS, None)
    page.wait_for_function(f"() => ({READING_NOW})().some((t) => t.includes({json.dumps(focused)}))")
    expect(page.locator("html")).not_to_have_class("text-100 audio")


def test_a_sign_reported_by_keys_while_the_server_is_silent_is_said_and_reaches_the_desk_as_audio(open_kiosk):
    """No answer to the safety step at all: the page draws the urgent screen
    itself, and says it; the report it keeps is sent after the idle wipe has
    ended audio mode, and still tells the desk the patient was listening."""
    kiosk, patient = open_with_speech(open_kiosk, IDLE_SECONDS=2, IDLE_WARNING_SECONDS=1)
    page = patient.page
    page.goto(kiosk.url + "/?audio=1")
    keys = KeypadPatient(page, kiosk.url)
    keys.press("Enter")
    keys.arrives(qn.SAFETY.title)

    silent = lambda route: route.abort() if route.request.method == "POST" else route.fallback()  # noqa: E731
    page.route("**/visit/safety", silent)
    page.route("**/kiosk/alert", silent)
    keys.move_to(choice("warning_signs", "fever"))
    keys.choose(choice("warning_signs", "fever"))
    keys.move_to('#screen button[value="none"]', "ArrowRight")
    keys.move_to('#screen button[value="some"]')
    keys.press("Enter")
    heard = keys.arrives("Please tell the front desk now")
    assert any("Please tell them yourself" in text for text in heard), heard

    expect(page.locator("#screen h1")).to_have_text(WELCOME_HEADING, timeout=15_000)  # the idle wipe
    expect(page.locator("body")).to_have_attribute("data-audio", "off")
    page.unroute("**/kiosk/alert")
    page.reload()  # the page sends what it kept as it loads
    deadline = page.evaluate("Date.now()") + 10_000
    while True:
        with kiosk.app.app_context():
            alerts = [(a.signs, a.used_audio, a.visit_id) for a in db.session.scalars(select(Alert))]
        if alerts or page.evaluate("Date.now()") > deadline:
            break
        page.wait_for_timeout(200)
    assert alerts == [(["fever"], True, None)]
