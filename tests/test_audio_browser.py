"""Audio mode in a real browser: a patient who cannot see the screen does the
whole visit with key presses only (no tap, no click, no mouse), hearing every
move, as with a tactile keypad and headphones.

Speech is the recorder of tests/test_speech_browser.py: what the kiosk would
say is read back from `window.__spoken`, each key press cutting short what
was being said (a `cancel`), so what one press made the kiosk say is
everything after the last cancel.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask_babel import force_locale
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk.extensions import db
from kiosk.models import Alert, Visit
from kiosk.patient import spelling

from .support.browser import DONE_HEADING, REVIEW_HEADING, WELCOME_HEADING, violations
from .support.content import write
from .support.speech_recorder import ENGLISH, FAKE_SPEECH, READING_NOW

pytestmark = pytest.mark.browser

SPANISH = {"name": "Español (España)", "lang": "es-ES"}
ES_WELCOME = "Prepárese bien para pedir una segunda opinión"
MOVES = {"ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"}

# How the kiosk should say the control `selector` (or the focused one):
# role, state and label, in the page's words (#audio-words).
SAID_AS = """(selector) => {
  const w = document.getElementById('audio-words').dataset;
  const el = selector ? document.querySelector(selector) : document.activeElement;
  const clean = (t) => t.replace(/\\p{So}/gu, '').replace(/\\s+/g, ' ').trim();
  if (el.closest('label.star')) {
    const item = el.closest('.bank-item, .question');
    const question = item.querySelector('label.choice > span, label[for]');
    return `${w.star}, ${el.checked ? w.starred : w.notStarred}: ${clean(question.textContent)}`;
  }
  if (el.closest('label.choice')) {
    const label = clean(el.closest('label.choice').querySelector(':scope > span').childNodes[0].textContent);
    if (el.type === 'checkbox') return `${w.checkBox}, ${el.checked ? w.ticked : w.notTicked}: ${label}`;
    return `${w.choice}, ${el.checked ? w.chosen : w.notChosen}: ${label}`;
  }
  if (el.matches('textarea')) return `${w.textBox}: ${clean(document.querySelector(`label[for="${el.id}"]`).textContent)}`;
  const pressed = el.getAttribute('aria-pressed');
  return `${w.button}${pressed ? ', ' + (pressed === 'true' ? w.on : w.off) : ''}: ${clean(el.textContent)}`;
}"""

# The ring around the focused control (its own, or its tile's): an outline
# or a shadow in the focus colour (--focus), which nothing unfocused wears.
FOCUS_RING = """() => {
  const el = document.activeElement;
  const shown = el.closest('label.choice, label.star') || el;
  const style = getComputedStyle(shown);
  const probe = document.createElement('span');
  probe.style.color = 'var(--focus)';
  document.body.appendChild(probe);
  const focus = getComputedStyle(probe).color;
  probe.remove();
  const outline = style.outlineStyle !== 'none' && style.outlineColor === focus ? parseFloat(style.outlineWidth) : 0;
  return {outline: outline, shadow: style.boxShadow.includes(focus), what: el.outerHTML.slice(0, 80)};
}"""

# Text a sighted person could read on the page now.
VISIBLE_TEXT = """() => {
  const shown = [...document.querySelectorAll('body *')].filter((el) => {
    if (!el.getClientRects().length) return false;
    const style = getComputedStyle(el);
    return style.visibility === 'visible' && style.opacity !== '0'
      && [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  });
  return {innerText: document.body.innerText, shown: shown.map((el) => el.textContent.trim())};
}"""


class KeypadPatient:
    """Someone who cannot see the screen: presses keys and listens. Counts
    every press; checks that every move is said with the control's label and
    state (when the screen is shown, by what has focus)."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.presses = 0
        self.moves_heard = 0
        self.rings: list[dict[str, Any]] = []

    def heard(self) -> list[str]:
        return self.page.evaluate(READING_NOW)

    def said_as(self, selector: str | None = None) -> str:
        return self.page.evaluate(SAID_AS, selector)

    def blank(self) -> bool:
        return self.page.evaluate("document.documentElement.classList.contains('audio-blank')")

    def press(self, key: str) -> list[str]:
        self.page.keyboard.press(key)
        self.presses += 1
        try:
            heard = self.heard()
        except PlaywrightError:  # the key loaded a page (a new language): nothing said yet
            return []
        if key in MOVES and not self.blank():
            expected = self.said_as()
            assert any(expected in text for text in heard), f"a move to {expected!r} was said as {heard}"
            self.moves_heard += 1
            self.rings.append(self.page.evaluate(FOCUS_RING))
        return heard

    def move_to(self, selector: str, key: str = "ArrowDown", most: int = 25) -> None:
        """Press `key` until the kiosk says the control wanted."""
        expected = self.said_as(selector)
        if any(expected in text for text in self.heard()):
            return  # there already (a new screen starts on its first answer)
        for _ in range(most):
            if any(expected in text for text in self.press(key)):
                return
        raise AssertionError(f"never heard {expected!r}")

    def choose(self, selector: str) -> None:
        """Enter on the control just heard; its new state is said."""
        self.press("Enter")
        expected = self.said_as(selector)
        heard = self.heard()
        assert any(expected in text for text in heard), f"choosing was said as {heard}, not {expected!r}"

    def arrives(self, title: str, path: str | None = None) -> list[str]:
        """A new screen: its title is the first thing said."""
        self.page.wait_for_function(f"() => ({READING_NOW})().includes({json.dumps(title)})")
        if path is not None:
            expect(self.page).to_have_url(self.base_url + path)
        return self.heard()

    def goes_on(self, title: str, path: str) -> list[str]:
        self.move_to("#screen button.next", "ArrowRight")
        self.press("Enter")
        return self.arrives(title, path)


def choice(question: str, value: str) -> str:
    return f'#screen input[name="{question}"][value="{value}"]'


def star(question: str) -> str:
    return f'#screen input[name="top_questions"][value="{question}"]'


def open_with_speech(open_kiosk, voices=(ENGLISH,), **settings: Any):
    kiosk, patient = open_kiosk(walk_up=False, **settings)
    config = {"voices": list(voices), "late": False, "absent": False}
    recorder = FAKE_SPEECH.replace("rate: u.rate,", "rate: u.rate, volume: u.volume,")
    patient.page.add_init_script(script=f"({recorder})({json.dumps(config)})")
    return kiosk, patient


def typical_visit_by_keys(keys: KeypadPatient, *, red_flag: bool = False) -> None:
    """From the safety check to the review: a plan, how sure, three reasons,
    two records, a companion, five questions with three starred."""
    if red_flag:
        keys.choose(choice("warning_signs", "bladder"))  # the first answer is where it starts
        keys.move_to('#screen button[value="none"]', "ArrowRight")
        keys.move_to('#screen button[value="some"]')
        keys.press("Enter")
        keys.arrives(
            keys.page.evaluate(
                "document.querySelector('#urgent-offline').content.querySelector('h1').textContent"
            )
        )
        keys.press("Enter")  # "I told them. Continue.": the first control on the screen
    else:
        keys.move_to('#screen button[value="none"]', "ArrowRight")
        keys.press("Enter")
    title = lambda: keys.page.evaluate("document.querySelector('#screen h1').textContent.trim()")  # noqa: E731

    keys.page.wait_for_url("**/visit/situation")
    keys.arrives(title())
    keys.move_to(choice("spine_region", "low_back"))
    keys.choose(choice("spine_region", "low_back"))
    keys.move_to(choice("first_recommendation", "fusion"), "ArrowRight")
    keys.choose(choice("first_recommendation", "fusion"))
    keys.move_to(choice("confidence", "1"), "ArrowRight")
    keys.move_to(choice("confidence", "2"))
    keys.choose(choice("confidence", "2"))
    keys.move_to("#screen button.next", "ArrowRight")
    keys.press("Enter")

    keys.page.wait_for_url("**/visit/reasons")
    keys.arrives(title())
    for reason in ("unsure_surgery", "other_options", "risks"):
        keys.move_to(choice("reasons", reason))
        keys.choose(choice("reasons", reason))
    keys.move_to("#screen button.next", "ArrowRight")
    keys.press("Enter")

    keys.page.wait_for_url("**/visit/records")
    keys.arrives(title())
    for record in ("mri", "ct"):
        keys.move_to(choice("records_exist", record))
        keys.choose(choice("records_exist", record))
    keys.move_to(choice("records_requested", "yes"), "ArrowRight")
    keys.move_to(choice("records_requested", "not_yet"))
    keys.choose(choice("records_requested", "not_yet"))
    keys.move_to(choice("companion", "family"), "ArrowRight")
    keys.choose(choice("companion", "family"))
    keys.move_to("#screen button.next", "ArrowRight")
    keys.press("Enter")

    keys.page.wait_for_url("**/visit/questions")
    keys.arrives(title())
    keys.move_to(star("q_options_all"))
    keys.choose(star("q_options_all"))
    keys.move_to(star("q_options_why"))
    keys.choose(star("q_options_why"))
    keys.move_to(choice("questions", "q_risks_help"), "ArrowRight")
    keys.move_to(star("q_risks_help"))
    keys.choose(star("q_risks_help"))
    keys.move_to(choice("questions", "q_risks_main"))
    keys.choose(choice("questions", "q_risks_main"))
    keys.move_to(choice("questions", "q_exp_count"), "ArrowRight")
    keys.choose(choice("questions", "q_exp_count"))
    keys.move_to("#screen button.next", "ArrowRight")
    keys.press("Enter")
    keys.page.wait_for_url("**/visit/review")
    keys.arrives(title())


TYPICAL_ANSWERS = {
    "spine_region": "low_back",
    "first_recommendation": ["fusion"],
    "confidence": "2",
    "reasons": ["unsure_surgery", "other_options", "risks"],
    "records_exist": ["mri", "ct"],
    "records_requested": "not_yet",
    "companion": "family",
    "questions": ["q_options_all", "q_options_why", "q_risks_help", "q_risks_main", "q_exp_count"],
    "top_questions": ["q_options_all", "q_options_why", "q_risks_help"],
}


def stored_answers(kiosk) -> list[dict[str, Any]]:
    with kiosk.app.app_context():
        visits = db.session.scalars(select(Visit).order_by(Visit.created_at)).all()
        return [
            {k: v for k, v in (visit.answers or {}).items() if v not in ("", [], None)} for visit in visits
        ]


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


def spelling_of(kiosk, code: str, language: str) -> str:
    with kiosk.app.test_request_context(), force_locale(language):
        return spelling.spelled(code)


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


def screenshot(page: Page) -> bytes:
    return page.screenshot()


def assert_only_the_cover(page: Page, keys: KeypadPatient) -> None:
    seen = page.evaluate(VISIBLE_TEXT)
    cover = page.locator("#audio-cover").inner_text()
    assert seen["innerText"].split() == cover.split(), seen["innerText"]
    assert all(
        page.locator("#audio-cover").evaluate("(c, t) => c.textContent.includes(t)", t) for t in seen["shown"]
    )
    image = Image.open(io.BytesIO(page.screenshot())).convert("L")
    counts = image.histogram()
    assert max(counts) / sum(counts) > 0.95, "the blank screen shows more than its cover"


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
