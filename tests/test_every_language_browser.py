"""Every screen in every language the kiosk ships, in a real browser, from
the shipped catalogs: one kiosk offering all ten, and a patient who walks one
visit through every screen in each language, at 100 % and 150 % text, on a
portrait and a landscape screen.

On each screen: the page's ``lang`` and ``dir``; no English sentence of the
catalog left on it (for every language but English); targets a fingertip
wide; no sideways scroll; no axe-core violations (checked at 100 % portrait
and 150 % landscape, the two far ends, to keep the run short); for Arabic,
Back on the right of Next and the progress running right to left."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from kiosk import create_app, languages
from kiosk import questionnaire as qn
from kiosk.database import create_tables

from .conftest import app_config
from .support.browser import LANDSCAPE, PORTRAIT, Patient, overflow, violations
from .support.catalogs import msgids
from .support.content import write

pytestmark = pytest.mark.browser

TAGS = list(languages.NAMES)
DRAFTS = [tag for tag in TAGS if tag not in languages.DEFAULT]
ALL_TEN = "languages = [{}]\ndraft_languages = [{}]\n".format(
    ", ".join(f'"{tag}"' for tag in TAGS), ", ".join(f'"{tag}"' for tag in DRAFTS)
)
LAYOUTS = {
    "portrait": (PORTRAIT, 100),
    "portrait-150": (PORTRAIT, 150),
    "landscape": (LANDSCAPE, 100),
    "landscape-150": (LANDSCAPE, 150),
}
AXE_ON = {"portrait", "landscape-150"}
RIGHT_TO_LEFT = {"ar"}

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]+>")
SENTENCE_WORDS = 3
# The patient's typed text: no word of any catalog, in no language's script.
TYPED = "Zq7 " * 80  # 320 letters, over the limit of 300


def english_sentences() -> list[str]:
    """The English of the catalog in pieces of three words or more, as they
    would show on a screen (the placeholders' values and markup cut out)."""
    pieces = set()
    for msgid in msgids():
        for text in msgid if isinstance(msgid, tuple) else (msgid,):
            for piece in PLACEHOLDER.split(text):
                piece = " ".join(piece.split()).strip(" :.,;")
                if len(piece.split()) >= SENTENCE_WORDS:
                    pieces.add(piece)
    return sorted(pieces, key=len, reverse=True)


ENGLISH = english_sentences()


def english_left(text: str) -> list[str]:
    """The English sentences in a screen's text, matched on whole words."""
    flat = " ".join(text.split())
    return [s for s in ENGLISH if re.search(r"(?<!\w)" + re.escape(s) + r"(?!\w)", flat)]


VISIBLE_TEXT = """() => {
    // What the patient reads: the rendered text, less the patient's own words.
    const skip = el => el.matches('textarea, input, .patient-words, [aria-hidden="true"]');
    const walk = node => {
        if (node.nodeType === Node.TEXT_NODE) return node.textContent;
        if (node.nodeType !== Node.ELEMENT_NODE || skip(node)) return '';
        if (!node.getClientRects().length || getComputedStyle(node).visibility === 'hidden') {
            // display: none, or hidden: its children may still show (a modal dialog's do)
            if (getComputedStyle(node).display === 'none') return '';
        }
        return [...node.childNodes].map(walk).join(' ');
    };
    const modal = document.querySelector('dialog[open]');
    return walk(document.body) + (modal ? ' ' + walk(modal) : '');
}"""


@pytest.fixture(scope="module")
def ten_languages(tmp_path_factory) -> Iterator[str]:
    """One kiosk offering all ten languages from the shipped catalogs, the
    eight not yet reviewed marked as drafts: its URL."""
    from .support.serve import served_in_thread

    folder = tmp_path_factory.mktemp("ten-languages")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(folder / "instance"))
        app = create_app(app_config(folder))
        with app.app_context():
            create_tables()
        write(app, ALL_TEN)
        assert app.extensions["kiosk.content"].error is None
        assert app.extensions["kiosk.content"].content.languages == tuple(TAGS)
        with served_in_thread(app) as url:
            yield app, url


class Walk:
    """A patient in one language on one screen, and what each screen shows wrong."""

    def __init__(self, page: Page, url: str, tag: str, layout: str) -> None:
        self.page, self.url, self.tag, self.layout = page, url, tag, layout
        self.patient = Patient(page, url)
        self.problems: dict[str, list[str]] = {}
        self.screens: list[str] = []

    def at(self, path: str) -> None:
        expect(self.page).to_have_url(re.compile(re.escape(self.url + path) + r"(\?.*)?$"))
        expect(self.page.locator("html")).to_have_attribute("lang", self.tag)
        expect(self.page.locator("h1").first).to_be_visible()
        # A new page in full, its stylesheets and fonts: not one still drawing.
        self.page.wait_for_load_state("load")

    def check(self, screen: str) -> None:
        page = self.page
        self.screens.append(screen)
        found = []
        lang, direction = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
        if lang != self.tag:
            found.append(f"lang={lang!r}")
        if (direction or "ltr") != ("rtl" if self.tag in RIGHT_TO_LEFT else "ltr"):
            found.append(f"dir={direction!r}")
        if self.tag != languages.SOURCE:
            found += [f"English: {s!r}" for s in english_left(page.evaluate(VISIBLE_TEXT))]
        found += [f"small: {t}" for t in self.patient.small_targets()]
        if (sideways := overflow(page)) > 0:
            found.append(f"scrolls {sideways} px sideways")
        if self.layout in AXE_ON:
            found += [f"axe: {v}" for v in violations(page, self.url)]
        if self.tag in RIGHT_TO_LEFT:
            found += self.right_to_left()
        if found:
            self.problems[screen] = found

    def right_to_left(self) -> list[str]:
        """Back on the right of Next, and the progress filling from the right."""
        page, found = self.page, []
        back, following = page.locator("#screen .nav .back"), page.locator("#screen .nav .next")
        if back.count() and following.count() and back.first.is_visible() and following.first.is_visible():
            b, n = back.first.bounding_box(), following.first.bounding_box()
            if not b["x"] >= n["x"] + n["width"] - 0.5:
                found.append(f"Back at x={b['x']:.0f} is not right of Next at x={n['x']:.0f}")
        progress = page.locator("#screen progress")
        if progress.count() and progress.first.evaluate("p => getComputedStyle(p).direction") != "rtl":
            found.append("the progress runs left to right")
        return found

    # the visit

    def choose_language(self) -> None:
        page = self.page
        page.locator(".language-menu > summary").tap()
        page.locator(f'.language-settings button[value="{self.tag}"]').tap()
        expect(page.locator("html")).to_have_attribute("lang", self.tag)

    def choose_size(self, size: int) -> None:
        if size == 100:
            return
        self.page.locator(f'.display-settings button[name="text_size"][value="{size}"]').tap()
        expect(self.page.locator("html")).to_have_class(re.compile(rf"\btext-{size}\b"))

    def tap(self, question: str, value: str) -> None:
        self.patient.taps_choice(question, value)

    def next_with_errors(self, path: str) -> None:
        self.patient.taps_next()
        self.at(path)
        expect(self.page.locator("#screen .field-error").first).to_be_visible()


def walk_every_screen(walk: Walk, app, size: int) -> None:
    page = walk.page
    page.goto(walk.url + "/")
    walk.choose_language()
    walk.choose_size(size)
    walk.at("/")
    walk.check("welcome")

    page.locator("#start").tap()
    walk.at("/visit/safety")
    walk.tap("warning_signs", "fever")
    page.locator(f'button[name="warning_signs"][value="{qn.NO_SIGNS.id}"]').tap()  # a sign, then "none"
    expect(page.locator("#screen .field-error").first).to_be_visible()
    walk.check("safety check with an error")
    page.locator(f'button[name="warning_signs"][value="{qn.SOME_SIGNS.id}"]').tap()
    walk.at("/visit/urgent")
    walk.check("urgent")
    page.locator("#screen .nav a.next").tap()

    walk.at("/visit/situation")
    walk.next_with_errors("/visit/situation")
    walk.check("situation with errors")
    walk.tap("spine_region", "low_back")
    walk.tap("first_recommendation", "fusion")
    walk.tap("confidence", "2")
    walk.patient.taps_next()

    walk.at("/visit/reasons")
    walk.next_with_errors("/visit/reasons")
    walk.check("reasons with errors")
    walk.tap("reasons", "other")
    page.locator("#reasons_other").fill(TYPED)
    walk.next_with_errors("/visit/reasons")
    walk.check("reasons with an over-long text")
    page.locator("#reasons_other").fill(TYPED[:40])
    walk.patient.taps_next()

    walk.at("/visit/records")
    walk.next_with_errors("/visit/records")
    walk.check("records with errors")
    walk.tap("records_exist", "mri")
    walk.tap("records_requested", "not_yet")
    walk.tap("companion", "family")
    walk.patient.taps_next()

    walk.at("/visit/questions")
    walk.patient.taps_star("q_options_all")
    page.locator("#own_question_1").fill(TYPED)
    walk.next_with_errors("/visit/questions")
    walk.check("questions with an over-long text")
    page.locator("#own_question_1").fill(TYPED[:40])
    walk.patient.taps_next()

    walk.at("/visit/review")
    walk.check("review")

    # The idle prompt: the page reads its time-out as it loads.
    idle, app.config["IDLE_SECONDS"] = app.config["IDLE_SECONDS"], 1
    try:
        page.reload()
        expect(page.locator("#idle-dialog")).to_be_visible()
    finally:
        app.config["IDLE_SECONDS"] = idle
    walk.check("the idle prompt")
    page.goto(walk.url + "/visit/no-such-step/nor-this")
    expect(page.locator("html")).to_have_attribute("lang", walk.tag)
    walk.check("a page not found")

    page.goto(walk.url + "/visit/review")
    walk.at("/visit/review")
    walk.patient.taps_next()
    walk.at("/visit/done")
    walk.check("done")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("tag", TAGS)
def test_every_screen_in_every_language(chromium, ten_languages, tag, layout):
    app, url = ten_languages
    screen, size = LAYOUTS[layout]
    context = chromium.new_context(has_touch=True, viewport=screen)
    context.set_default_timeout(10_000)
    try:
        walk = Walk(context.new_page(), url, tag, layout)
        walk_every_screen(walk, app, size)
        assert len(walk.screens) == 12
        assert walk.problems == {}
        walk.patient.expect_no_blocked_or_broken_scripts()
    finally:
        context.close()
