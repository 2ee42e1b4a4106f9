"""A patient who cannot see the screen, in a real browser: presses keys (as a
tactile keypad types them) and listens to what audio mode says through the
speech recorder (tests/support/speech_recorder.py). What one press made the
kiosk say is everything after the last `cancel`."""

from __future__ import annotations

import io
import json
from typing import Any

from flask_babel import force_locale
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Visit
from kiosk.patient import spelling

from .speech_recorder import ENGLISH, FAKE_SPEECH, READING_NOW

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
        # The urgent screen's title, read from the copy the page holds before
        # the answer replaces it (the page may be between documents after).
        urgent = keys.page.evaluate(
            "document.querySelector('#urgent-offline').content.querySelector('h1').textContent"
        )
        keys.press("Enter")
        keys.arrives(urgent)
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


def spelling_of(kiosk, code: str, language: str) -> str:
    with kiosk.app.test_request_context(), force_locale(language):
        return spelling.spelled(code)


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
