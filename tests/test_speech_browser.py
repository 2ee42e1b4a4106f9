"""Read to me: the screen spoken aloud, in a real browser (Debian's Chromium).

The browser's speech synthesis is swapped, before any script of the page
runs, for a recorder with voices of the test's choosing: what the kiosk would
say is read back from `window.__spoken`, and nothing needs a sound card or a
voice installed. Every sentence expected comes from kiosk/questionnaire.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kiosk import questionnaire as qn

from .support.browser import DONE_HEADING, REVIEW_HEADING, WELCOME_HEADING, Patient
from .support.speech_recorder import ENGLISH, FAKE_SPEECH, FRENCH, IDLE_TITLE, RATE, READING_NOW

pytestmark = pytest.mark.browser


def kiosk_with_speech(open_kiosk, *, voices=(ENGLISH,), late=False, absent=False, **settings: Any) -> Patient:
    kiosk, patient = open_kiosk(walk_up=False, **settings)
    config = {"voices": list(voices), "late": late, "absent": absent}
    patient.page.add_init_script(script=f"({FAKE_SPEECH})({json.dumps(config)})")
    patient.walks_up()
    return patient


def choice_text(choice: qn.Choice) -> str:
    """An answer as it is read: its label, then its hint."""
    return f"{choice.label} {choice.hint}".strip()


def spoken(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.__spoken")


def reading_now(page: Page) -> list[str]:
    return page.evaluate(READING_NOW)


def expect_reading(page: Page, first: str) -> list[str]:
    """Wait until a new reading starts with `first` (a heading), then say what it reads."""
    page.wait_for_function(f"() => ({READING_NOW})()[0] === {json.dumps(first)}")
    return reading_now(page)


def expect_said_back(page: Page, text: str) -> None:
    page.wait_for_function(f"() => JSON.stringify(({READING_NOW})()) === {json.dumps(json.dumps([text]))}")


def expect_settled(patient: Patient) -> None:
    """The new screen has settled: kiosk.js has moved focus to its heading,
    in the same event in which speech.js would have started reading it."""
    expect(patient.page.locator("#screen h1")).to_be_focused()


def assert_in_order(said: list[str], expected: list[str]) -> None:
    """Everything expected is read, in this order (other text may come between)."""
    rest = iter(said)
    missing = [text for text in expected if text not in rest]
    assert missing == [], f"not read, or not in this order: {missing}; read: {said}"


def turns_reading_on(patient: Patient) -> None:
    button = patient.page.locator("#read-aloud")
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "true")


def assert_every_utterance_in_english_and_slow(page: Page) -> None:
    utterances = [s for s in spoken(page) if "text" in s]
    assert utterances, "nothing was said"
    for utterance in utterances:
        assert utterance["lang"].startswith("en"), utterance
        assert utterance["voice"] == ENGLISH["name"], utterance
        assert utterance["rate"] == pytest.approx(RATE), utterance


# --- the tests ------------------------------------------------------------------


@pytest.mark.parametrize(
    "speech",
    [
        pytest.param({"absent": True}, id="no speech synthesis"),
        pytest.param({"voices": ()}, id="no voices"),
        pytest.param({"voices": (FRENCH,)}, id="voices only in another language"),
        pytest.param({"voices": ({**ENGLISH, "local": False},)}, id="an English voice on a server"),
    ],
)
def test_read_to_me_stays_hidden_without_a_voice_on_this_kiosk_for_its_language(open_kiosk, speech):
    patient = kiosk_with_speech(open_kiosk, **speech)
    if not speech.get("absent"):
        patient.page.wait_for_function("window.__voicesAnnounced === true")
    expect(patient.page.locator("#read-aloud")).to_be_hidden()
    patient.taps_start()
    expect(patient.page.locator("#read-aloud")).to_be_hidden()
    patient.expect_no_blocked_or_broken_scripts()


@pytest.mark.parametrize("late", [False, True], ids=["voices at once", "voices late"])
def test_read_to_me_shows_with_a_voice_for_the_page_language(open_kiosk, late):
    patient = kiosk_with_speech(open_kiosk, voices=(FRENCH, ENGLISH), late=late)
    button = patient.page.locator("#read-aloud")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "false")
    assert [s for s in spoken(patient.page) if "text" in s] == [], "the screen spoke before being asked to"
    patient.expect_no_blocked_or_broken_scripts()


def test_read_to_me_reads_this_screen_then_each_new_one_in_the_page_language(open_kiosk):
    patient = kiosk_with_speech(open_kiosk)
    page = patient.page

    turns_reading_on(patient)
    welcome = expect_reading(page, WELCOME_HEADING)
    assert len(welcome) > 1, "Welcome should read more than its heading"

    patient.taps_start()
    signs = qn.SAFETY.questions[0]
    safety = expect_reading(page, qn.SAFETY.title)
    assert_in_order(safety, [qn.SAFETY.title, qn.SAFETY.intro, signs.label, *map(choice_text, qn.RED_FLAGS)])

    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    situation = expect_reading(page, qn.SITUATION.title)
    expected = [qn.SITUATION.title, qn.SITUATION.intro]
    for question in qn.SITUATION.questions:
        expected += [question.label, *([question.hint] if question.hint else [])]
        expected += [choice.label for choice in question.all_choices()]
    assert_in_order(situation, expected)

    assert_every_utterance_in_english_and_slow(page)
    patient.expect_no_blocked_or_broken_scripts()


def test_a_tapped_answer_is_said_back_cutting_short_the_reading(open_kiosk):
    patient = kiosk_with_speech(open_kiosk)
    page = patient.page
    turns_reading_on(patient)
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    expect_reading(page, qn.SITUATION.title)

    region = qn.BUILT_IN.question("spine_region")
    patient.taps_choice("spine_region", "low_back")
    expect_said_back(page, region.choice("low_back").label)  # alone, after the reading was cut short

    # Unticked, an answer cuts the reading short and says nothing.
    patient.taps_choice("first_recommendation", "fusion")
    expect_said_back(page, qn.BUILT_IN.question("first_recommendation").choice("fusion").label)
    page.locator('label.choice:has(input[name="first_recommendation"][value="fusion"])').tap()
    expect(page.locator('input[name="first_recommendation"][value="fusion"]')).not_to_be_checked()
    assert spoken(page)[-1] == {"cancel": True}

    # An answer that opens a follow-up box says what the box asks too.
    patient.taps_choice("first_recommendation", "fusion")
    patient.taps_choice("confidence", "2")
    patient.taps_next()
    patient.expect_step(qn.REASONS)
    reasons = expect_reading(page, qn.REASONS.title)
    other_reason = qn.BUILT_IN.question("reasons_other")
    assert other_reason.label not in reasons, "a follow-up box not shown should not be read"
    patient.taps_choice("reasons", "other")
    page.wait_for_function(f"() => ({READING_NOW})().length === 3")
    assert reading_now(page) == [
        qn.BUILT_IN.question("reasons").choice("other").label,
        other_reason.label,
        other_reason.hint,
    ]
    patient.expect_no_blocked_or_broken_scripts()


def test_turning_read_to_me_off_stops_at_once_and_the_next_screen_is_silent(open_kiosk):
    patient = kiosk_with_speech(open_kiosk)
    page = patient.page
    button = page.locator("#read-aloud")
    turns_reading_on(patient)
    patient.taps_start()
    expect_reading(page, qn.SAFETY.title)

    # A bigger text size is no reason to start the reading over.
    said_before = len(spoken(page))
    bigger = page.locator('.display-settings button[name="text_size"][value="125"]')
    bigger.tap()
    expect(bigger).to_have_attribute("aria-pressed", "true")
    assert len(spoken(page)) == said_before

    button.tap()
    expect(button).to_have_attribute("aria-pressed", "false")
    page.wait_for_function("window.__spoken.at(-1).cancel === true")
    said_before = len(spoken(page))

    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    expect_settled(patient)
    patient.taps_choice("spine_region", "neck")
    assert len(spoken(page)) == said_before, f"spoke after being turned off: {spoken(page)[said_before:]}"
    patient.expect_no_blocked_or_broken_scripts()


def test_read_to_me_reads_the_idle_prompt_as_it_opens(open_kiosk):
    patient = kiosk_with_speech(open_kiosk, IDLE_SECONDS=2)
    page = patient.page
    turns_reading_on(patient)
    patient.taps_start()
    expect_reading(page, qn.SAFETY.title)

    expect(page.locator("#idle-dialog")).to_be_visible(timeout=6_000)
    prompt = expect_reading(page, IDLE_TITLE)
    assert len(prompt) == 2 and prompt[1].startswith("To keep your answers private"), prompt

    page.locator("#idle-stay").tap()
    expect(page.locator("#idle-dialog")).to_be_hidden()
    page.wait_for_function("window.__spoken.at(-1).cancel === true")
    patient.expect_no_blocked_or_broken_scripts()


def test_read_to_me_lasts_for_the_visit_and_ends_with_it(open_kiosk):
    patient = kiosk_with_speech(open_kiosk)
    page = patient.page
    turns_reading_on(patient)
    patient.taps_start()
    patient.answers_safety()

    # A page loaded in full (here, reloaded) reads itself: the setting is the visit's.
    patient.expect_step(qn.SITUATION)
    page.reload()
    patient.expect_step(qn.SITUATION)
    expect(page.locator("#read-aloud")).to_have_attribute("aria-pressed", "true")
    expect_reading(page, qn.SITUATION.title)

    patient.taps_choice("spine_region", "low_back")
    patient.taps_choice("first_recommendation", "fusion")
    patient.taps_choice("confidence", "2")
    patient.taps_next()
    patient.expect_step(qn.REASONS)
    expect_reading(page, qn.REASONS.title)
    patient.taps_choice("reasons", "risks")
    patient.taps_next()
    patient.expect_step(qn.RECORDS)
    expect_reading(page, qn.RECORDS.title)
    patient.taps_choice("records_exist", "mri")
    patient.taps_choice("records_requested", "not_yet")
    patient.taps_choice("companion", "family")
    patient.taps_next()

    patient.expect_step(qn.QUESTIONS)
    questions = expect_reading(page, qn.QUESTIONS.title)
    bank = qn.BUILT_IN.question("questions")
    assert_in_order(
        questions, [bank.topics[0].label, bank.topics[0].questions[0].label, bank.topics[1].label]
    )
    assert not [text for text in questions if "Star" in text or "Most important" in text], questions
    patient.taps_choice("questions", "q_exp_count")
    patient.taps_next()
    patient.expect_screen("/visit/review", REVIEW_HEADING)
    expect_reading(page, REVIEW_HEADING)

    code = patient.taps_finish()
    done = expect_reading(page, DONE_HEADING)
    assert f"Your code is {' '.join(code)}" in done, "the claim code should be spelled out"
    assert_every_utterance_in_english_and_slow(page)

    # "I am done" ends the visit: the next patient's Welcome is silent.
    page.get_by_role("button", name="I am done").tap()
    patient.expect_screen("/", WELCOME_HEADING)
    expect(page.locator("body")).to_have_attribute("data-read-aloud", "off")
    button = page.locator("#read-aloud")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "false")
    assert [s for s in spoken(page) if "text" in s] == [], "Welcome spoke for the next patient"
    patient.expect_no_blocked_or_broken_scripts()


@pytest.mark.parametrize(
    ("language", "voices", "wanted"),
    [
        pytest.param(
            "en",
            ({"name": "English (Great Britain)", "lang": "en-GB"}, ENGLISH),
            ENGLISH["name"],
            id="American English before British",
        ),
        pytest.param(
            "es",
            (
                ENGLISH,
                {"name": "Spanish (Spain)", "lang": "es"},
                {"name": "Spanish (Latin America)", "lang": "es-419"},
            ),
            "Spanish (Latin America)",
            id="Latin American Spanish before Spain's",
        ),
    ],
)
def test_read_to_me_speaks_as_a_us_clinics_patients_speak(open_kiosk, language, voices, wanted):
    """Most Spanish-speaking patients of a US clinic are from the Americas, and
    espeak-ng lists Spain's Spanish as plain "es": the kiosk prefers the
    American variant of a language when the machine has one."""
    patient = kiosk_with_speech(open_kiosk, voices=voices)
    page = patient.page
    if language != "en":
        page.locator(f'.language-settings button[value="{language}"]').tap()
        expect(page.locator("html")).to_have_attribute("lang", language)
    turns_reading_on(patient)
    page.wait_for_function("window.__spoken.some(s => s.text)")
    assert {s["voice"] for s in spoken(page) if "text" in s} == {wanted}
