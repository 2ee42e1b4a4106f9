"""A patient at the touchscreen, in a real browser (Debian's Chromium).

Each test serves the app for real on 127.0.0.1, opens a fresh touch context
and taps through the screens the way a patient would. Nothing here talks to
the app except through the browser, apart from a look at the database to see
what the front desk would see.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
# CI sets KIOSK_REQUIRE_BROWSER=1: there a missing browser is a failure, never a skip.
BROWSER_REQUIRED = os.environ.get("KIOSK_REQUIRE_BROWSER", "").strip() not in ("", "0")

if not CHROMIUM.exists() and not BROWSER_REQUIRED:
    pytest.skip(CHROMIUM_MISSING, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from kiosk import create_app  # noqa: E402
from kiosk import questionnaire as qn  # noqa: E402
from kiosk.database import create_tables  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Alert, Visit  # noqa: E402
from kiosk.visits import CLAIM_CODE_ALPHABET, CLAIM_CODE_LENGTH  # noqa: E402
from kiosk.worker import Worker  # noqa: E402

from .conftest import app_config  # noqa: E402

pytestmark = pytest.mark.browser

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


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser | None]:
    """One browser for the module; None when it is missing and required (each test then fails)."""
    if not CHROMIUM.exists():
        yield None
        return
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            # Playwright turns the back-forward cache off; the kiosk's own Chromium
            # has it on, and Back must not bring a wiped visit out of it.
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield browser
        browser.close()


@pytest.fixture
def open_kiosk(chromium, tmp_path, monkeypatch) -> Iterator[Callable[..., tuple[LiveKiosk, Patient]]]:
    """Serve the app with some settings, with a worker beside it, as `make
    run` does; a patient walks up to it on a touchscreen."""
    servers = []
    workers = []
    contexts = []

    def open_(
        *,
        walk_up: bool = True,
        screen: dict[str, int] | None = None,
        reduced_motion: str | None = None,
        **settings: Any,
    ) -> tuple[LiveKiosk, Patient]:
        if chromium is None:
            pytest.fail(f"KIOSK_REQUIRE_BROWSER is set, but {CHROMIUM_MISSING}", pytrace=False)
        monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
        app = create_app(app_config(tmp_path, **settings))
        with app.app_context():
            create_tables()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        worker = Worker(app, name="browser-test-worker")
        worker_thread = threading.Thread(target=worker.run, daemon=True)
        worker_thread.start()
        workers.append((worker, worker_thread))

        context = chromium.new_context(
            has_touch=True, viewport=screen or KIOSK_SCREEN, reduced_motion=reduced_motion or "no-preference"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        patient = Patient(context.new_page(), f"http://127.0.0.1:{server.server_port}")
        if walk_up:
            patient.walks_up()
        return LiveKiosk(app, patient.base_url), patient

    yield open_

    for context in contexts:
        context.close()
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    for worker, thread in workers:
        worker.stop.set()
        thread.join(timeout=30)


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
