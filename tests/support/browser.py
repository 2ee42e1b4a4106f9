"""A patient at the touchscreen in a real browser (Debian's Chromium): the
served app, the patient who taps and reads, and what a screen is checked for.
The fixtures that open them (`chromium`, `open_kiosk`) are in tests/conftest.py."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk.extensions import db
from kiosk.models import Alert, Visit
from kiosk.visits import CLAIM_CODE_ALPHABET, CLAIM_CODE_LENGTH

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
# CI sets KIOSK_REQUIRE_BROWSER=1: there a missing browser is a failure, never a skip.
BROWSER_REQUIRED = os.environ.get("KIOSK_REQUIRE_BROWSER", "").strip() not in ("", "0")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KIOSK_SCREEN = {"width": 1080, "height": 1400}
MIN_TARGET_PX = 48
MIN_TARGET_GAP_PX = 8
MIN_BODY_FONT_PX = 20
CLAIM_CODE = re.compile(f"[{CLAIM_CODE_ALPHABET}]{{{CLAIM_CODE_LENGTH}}}")

WELCOME_HEADING = "Get ready to ask for a second opinion"
URGENT_HEADING = "Please tell the front desk now"
REVIEW_HEADING = "Check your answers"
DONE_HEADING = "You are all set"

expect.set_options(timeout=10_000)


# --- the kiosk and the patient --------------------------------------------------


@dataclass
class LiveKiosk:
    """The app served over real HTTP, and a window on its database."""

    app: Any
    url: str

    def _query(self, fn: Callable[[], Any]) -> Any:
        with self.app.app_context():
            return fn()

    def visit_count(self) -> int:
        return self._query(lambda: len(db.session.scalars(select(Visit)).all()))

    def alert_signs(self) -> list[list[str]]:
        return self._query(lambda: [list(a.signs) for a in db.session.scalars(select(Alert)).all()])


@dataclass
class Patient:
    """Someone at the touchscreen: taps, and reads what the screen says."""

    page: Page
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    # what the patient does

    def walks_up(self) -> None:
        self.page.goto(self.base_url + "/")
        self.expect_screen("/", WELCOME_HEADING)
        # Survives only as long as the document does: a full page load wipes it.
        self.page.evaluate("window.__marker = 1")

    def taps_start(self) -> None:
        self.page.locator("#start").tap()
        self.expect_step(qn.SAFETY)

    def taps_choice(self, question: str, value: str) -> None:
        self.page.locator(f'label.choice:has(input[name="{question}"][value="{value}"])').tap()
        expect(self.page.locator(f'input[name="{question}"][value="{value}"]')).to_be_checked()

    def taps_star(self, question: str) -> None:
        self.page.locator(f'label.star:has(input[name="top_questions"][value="{question}"])').tap()
        expect(self.page.locator(f'input[name="top_questions"][value="{question}"]')).to_be_checked()

    def taps_next(self) -> None:
        self.page.locator("button.next").tap()

    def taps_back_button_of_the_browser(self) -> None:
        # "commit", not "load": a page restored from the back-forward cache fires no load.
        self.page.go_back(wait_until="commit")

    def answers_safety(self, yes: tuple[str, ...] = ()) -> None:
        """One tap for none of the signs; or a tap on each sign, then "one or more"."""
        for flag in yes:
            self.taps_choice("warning_signs", flag)
        self.page.locator(f'button[name="warning_signs"][value="{"some" if yes else "none"}"]').tap()

    def answers_everything_up_to_review(self, *, check_touch: bool = False) -> None:
        """Every step after Start, with typical answers; optionally checking each screen for touch."""
        self.answers_safety()
        self.answers_everything_up_to_review_from_situation(check_touch=check_touch)

    def answers_everything_up_to_review_from_situation(self, *, check_touch: bool = False) -> None:
        check = self.expect_fit_for_touch if check_touch else (lambda screen: None)
        self.expect_step(qn.SITUATION)
        check("the situation step")
        self.taps_choice("spine_region", "low_back")
        self.taps_choice("first_recommendation", "fusion")
        self.taps_choice("confidence", "2")
        self.taps_next()
        self.expect_step(qn.REASONS)
        check("the reasons step")
        self.taps_choice("reasons", "unsure_surgery")
        self.taps_choice("reasons", "risks")
        self.taps_next()
        self.expect_step(qn.RECORDS)
        check("the records step")
        self.taps_choice("records_exist", "mri")
        self.taps_choice("records_requested", "not_yet")
        self.taps_choice("companion", "family")
        self.taps_next()
        self.expect_step(qn.QUESTIONS)
        check("the questions step")
        self.taps_star("q_options_all")
        self.taps_choice("questions", "q_exp_count")
        self.taps_next()
        self.expect_screen("/visit/review", REVIEW_HEADING)
        check("the review")

    def taps_finish(self) -> str:
        self.taps_next()
        self.expect_screen("/visit/done", DONE_HEADING)
        return self.page.locator("#claim-code").inner_text().strip()

    # what the patient sees

    def expect_screen(self, path: str, heading: str, *, timeout: float | None = None) -> None:
        url = re.compile(re.escape(self.base_url + path) + r"$")
        expect(self.page).to_have_url(url, timeout=timeout)
        expect(self.page.locator("#screen h1")).to_have_text(heading, timeout=timeout)

    def expect_step(self, step: qn.Step) -> None:
        self.expect_screen(f"/visit/{step.id}", step.title)

    def same_document(self) -> bool:
        return self.page.evaluate("window.__marker") == 1

    def small_targets(self) -> list[str]:
        """Visible buttons, links and answer tiles smaller than a fingertip."""
        return self.page.evaluate(
            """(min) => [...document.querySelectorAll('button, a[href], label.choice, label.star')]
                .filter(el => {
                    const box = el.getBoundingClientRect();
                    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
                })
                .filter(el => {
                    const box = el.getBoundingClientRect();
                    return box.width + 0.5 < min || box.height + 0.5 < min;
                })
                .map(el => {
                    const box = el.getBoundingClientRect();
                    const text = el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40);
                    return `${el.tagName.toLowerCase()}.${el.className} "${text}" `
                        + `${Math.round(box.width)}x${Math.round(box.height)}`;
                })""",
            MIN_TARGET_PX,
        )

    def crowded_targets(self) -> list[str]:
        """Pairs of visible targets closer than MIN_TARGET_GAP_PX to each other.

        Only targets that sit side by side are compared: content scrolls under
        the sticky Back/Next bar, and an open modal prompt makes the page under
        it inert. One target inside another (a star on its tile) is one target."""
        return self.page.evaluate(
            """(gap) => {
                const modal = document.querySelector('dialog[open]:modal');
                const layer = el => {
                    for (let node = el; node; node = node.parentElement) {
                        if (['fixed', 'sticky'].includes(getComputedStyle(node).position)) return node;
                    }
                    return null;
                };
                const targets = [...(modal || document).querySelectorAll(
                    'button, a[href], label.choice, label.star')]
                    .filter(el => {
                        const box = el.getBoundingClientRect();
                        return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
                    });
                const name = el => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}"`;
                const crowded = [];
                targets.forEach((a, i) => targets.slice(i + 1).forEach(b => {
                    if (a.contains(b) || b.contains(a) || layer(a) !== layer(b)) return;
                    const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
                    const apart = Math.max(q.left - p.right, p.left - q.right, q.top - p.bottom, p.top - q.bottom);
                    if (apart + 0.5 < gap) crowded.push(`${name(a)} and ${name(b)}: ${Math.round(apart)} px`);
                }));
                return crowded;
            }""",
            MIN_TARGET_GAP_PX,
        )

    def body_font_px(self) -> float:
        return float(self.page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))

    def expect_fit_for_touch(self, screen: str) -> None:
        assert self.small_targets() == [], f"targets under {MIN_TARGET_PX}x{MIN_TARGET_PX} px on {screen}"
        assert self.crowded_targets() == [], f"targets under {MIN_TARGET_GAP_PX} px apart on {screen}"
        assert self.body_font_px() >= MIN_BODY_FONT_PX, f"body text under {MIN_BODY_FONT_PX} px on {screen}"

    def expect_no_blocked_or_broken_scripts(self) -> None:
        blocked = [e for e in self.console_errors if "Refused to" in e or "Content Security Policy" in e]
        assert blocked == [], "the page broke its Content Security Policy"
        assert self.page_errors == [], "a script on the page threw"


# --- what every screen is checked for ----------------------------------------

AXE = (Path(__file__).resolve().parent.parent / "vendor/axe-core/axe.min.js").read_text()
AXE_PATH = "/__axe-core__.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def violations(page: Page, base_url: str) -> list[str]:
    page.route(f"**{AXE_PATH}", lambda route: route.fulfill(body=AXE, content_type="text/javascript"))
    page.add_script_tag(url=base_url + AXE_PATH)
    found = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
            .violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)""",
        WCAG_TAGS,
    )
    return found


PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}

# A voice for English and a recorder in place of the real speech: what would
# be said is kept in window.__spoken.
FAKE_SPEECH = """
(() => {
  const voices = [{name: "English", lang: "en-US", default: true, localService: true, voiceURI: "en"}];
  window.__spoken = [];
  const synth = {
    speaking: false, pending: false, paused: false, onvoiceschanged: null,
    getVoices: () => voices,
    speak: (u) => window.__spoken.push({text: u.text, lang: u.lang}),
    cancel: () => window.__spoken.push({cancel: true}),
    pause() {}, resume() {},
    addEventListener() {}, removeEventListener() {},
  };
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
  window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ""; };
})();
"""


def expect_soon(condition: Callable[[], bool], message: str, seconds: float = 5) -> None:
    """Wait for something the page does in its own time (the page's CSP
    forbids Playwright's wait_for_function, which evaluates a string)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


class CountingPatient:
    """Counts every tap on the screen, as a patient's effort."""

    def __init__(self, patient: Patient) -> None:
        self.patient = patient
        self.page = patient.page
        self.taps = 0

    def tap(self, selector: str) -> None:
        self.page.locator(selector).tap()
        self.taps += 1

    def choice(self, question: str, value: str) -> None:
        self.tap(f'label.choice:has(input[name="{question}"][value="{value}"])')
        expect(self.page.locator(f'input[name="{question}"][value="{value}"]')).to_be_checked()

    def star(self, question: str) -> None:
        self.tap(f'label.star:has(input[name="top_questions"][value="{question}"])')

    def setting(self, name: str, value: str) -> None:
        self.tap(f'.display-settings button[name="{name}"][value="{value}"]')
        expect(self.page.locator(f'.display-settings button[name="{name}"]').first).to_be_visible()


def set_display(page: Page, *, size: int = 150, contrast: bool = True) -> None:
    page.locator(f'.display-settings button[name="text_size"][value="{size}"]').tap()
    expect(page.locator("html")).to_have_class(re.compile(rf"\btext-{size}\b"))
    if contrast:
        page.locator('.display-settings button[name="high_contrast"]').tap()
        expect(page.locator("html")).to_have_class(re.compile(r"\bhigh-contrast\b"))


def overflow(page: Page) -> int:
    """How far the page scrolls sideways (0: not at all)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def hidden_under_the_bar(page: Page) -> list[str]:
    """Controls that, scrolled into view as the browser does for them, still
    sit under the sticky Back/Next bar (or anything else on top of them)."""
    return page.evaluate(
        """() => {
            const bar = document.querySelector('#screen .nav');
            const controls = [...document.querySelectorAll(
                '#screen button, #screen a[href], #screen label.choice, #screen label.star, #screen textarea')]
                .filter(el => !(bar && bar.contains(el)))
                .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden');
            const covered = [];
            for (const el of controls) {
                el.scrollIntoView({block: 'nearest'});
                const box = el.getBoundingClientRect();
                const x = box.left + box.width / 2;
                const y = Math.min(box.top + box.height / 2, box.bottom - 2);
                const hit = document.elementFromPoint(x, y);
                const barTop = bar && getComputedStyle(bar).position === 'sticky'
                    ? bar.getBoundingClientRect().top : Infinity;
                if (!hit || !(el === hit || el.contains(hit)) || box.bottom > barTop + 0.5) {
                    covered.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`);
                }
            }
            window.scrollTo(0, 0);
            return covered;
        }"""
    )


def screen_problems(patient: Patient, base_url: str, *, text_size: int) -> list[str]:
    """What keeps this screen from serving every patient at this text size:
    sideways scrolling, a control stuck under the sticky bar, targets too
    small or too close, body text too small, axe-core violations."""
    page = patient.page
    # Measured as drawn: after a new page, only once its stylesheets are in.
    page.wait_for_load_state("load")
    page.wait_for_function(
        "[...document.querySelectorAll('link[rel=stylesheet]')].every((link) => link.sheet)"
    )
    found = []
    if (sideways := overflow(page)) > 0:
        found.append(f"scrolls {sideways} px sideways")
    found += [f"under the bar: {c}" for c in hidden_under_the_bar(page)]
    found += [f"small: {t}" for t in patient.small_targets()]
    found += [f"crowded: {t}" for t in patient.crowded_targets()]
    if patient.body_font_px() < MIN_BODY_FONT_PX * text_size / 100:
        found.append(f"body text {patient.body_font_px()} px")
    found += [f"axe: {v}" for v in violations(page, base_url)]
    return found
