"""The front desk in a real browser, beside a kiosk: alerts and handouts show up
within seconds of the patient's tap, and one tap prints."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk.auth import create_staff
from kiosk.extensions import db
from kiosk.models import Alert, PrintJob

from .conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

DESK_SCREEN = {"width": 1366, "height": 900}
SEEN_WITHIN_MS = 5_000


@pytest.fixture
def desk_page(chromium):
    context = chromium.new_context(viewport=DESK_SCREEN)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_problems = errors
    yield page
    context.close()


def sign_in(page, base_url: str) -> None:
    page.goto(base_url + "/desk/")
    expect(page).to_have_url(re.compile(r"/desk/sign-in"))
    page.get_by_label("Name").fill("maria")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Handouts and alerts")).to_be_visible()


def test_the_desk_sees_an_alert_and_a_handout_within_seconds_and_prints_it(open_kiosk, desk_page):
    kiosk, patient = open_kiosk()
    with kiosk.app.app_context():
        create_staff("maria", STAFF_PASSWORD)
    sign_in(desk_page, kiosk.url)

    # The patient says yes to a red flag: the desk shows it, pinned, within 5 s.
    patient.taps_start()
    patient.answers_safety(yes=("saddle_numbness",))
    tapped = time.monotonic()
    alert = desk_page.locator(".alert")
    expect(alert).to_be_visible(timeout=SEEN_WITHIN_MS)
    seen_after = time.monotonic() - tapped
    assert seen_after < SEEN_WITHIN_MS / 1000
    # In the staff's words, not the patient's.
    expect(alert).to_contain_text(qn.BUILT_IN.red_flag("saddle_numbness").staff_label)
    expect(alert).not_to_contain_text(qn.BUILT_IN.red_flag("saddle_numbness").warning)
    expect(alert).to_contain_text("Test kiosk")

    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert).to_have_count(0)
    with kiosk.app.app_context():
        acknowledged = db.session.scalar(select(Alert))
        assert acknowledged.acknowledged_by == "maria"

    # The patient carries on and finishes: the handout shows in the queue.
    patient.page.get_by_role("link", name="I told them. Continue.").tap()
    patient.answers_everything_up_to_review_from_situation()
    code = patient.taps_finish()
    row = desk_page.locator("table.handouts tbody tr", has_text=code)
    expect(row).to_be_visible(timeout=SEEN_WITHIN_MS)
    # "Preparing…" while the worker makes the PDF, then ready to print.
    expect(row).to_contain_text("Not printed", timeout=SEEN_WITHIN_MS)

    # One tap prints it; the job's real state is shown.
    row.get_by_role("link", name=code).click()
    expect(desk_page.get_by_role("heading", name=f"Handout {code}")).to_be_visible()
    desk_page.get_by_label("Printer").select_option("directory")
    desk_page.get_by_role("button", name="Print").click()
    expect(desk_page.locator("#jobs .job").first).to_contain_text("Printed")
    with kiosk.app.app_context():
        assert db.session.scalar(select(PrintJob.state)) == "completed"

    blocked = [e for e in desk_page.console_problems if "Content Security Policy" in e or "Refused to" in e]
    assert blocked == []


COUNT_TONES = """
(() => {
  window.__tones = 0;
  const original = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.__tones += 1;
    return original.call(this);
  };
})();
"""


@pytest.mark.parametrize("chime, tones", [(1, 2), (0, 0)])
def test_a_new_alert_chimes_on_the_desk_when_the_setting_is_on(open_kiosk, desk_page, chime, tones):
    kiosk, patient = open_kiosk(DESK_CHIME=chime)
    with kiosk.app.app_context():
        create_staff("maria", STAFF_PASSWORD)
    desk_page.add_init_script(COUNT_TONES)
    sign_in(desk_page, kiosk.url)
    # Browsers allow sound only once the page has been clicked.
    desk_page.get_by_role("heading", name="Handouts and alerts").click()

    patient.taps_start()
    patient.answers_safety(yes=("cancer",))
    expect(desk_page.locator(".alert")).to_be_visible(timeout=SEEN_WITHIN_MS)
    desk_page.wait_for_timeout(300)
    assert desk_page.evaluate("window.__tones") == tones


ESCALATED = re.compile(r"\bescalated\b")
WAITING = re.compile(r"^Waiting (\d+) min (\d+) s$")


def waiting_seconds(text: str) -> int:
    match = WAITING.match(text)
    assert match, f"not a waiting time: {text!r}"
    return int(match[1]) * 60 + int(match[2])


def an_alert_on_a_desk_with_a_controlled_clock(open_kiosk, desk_page, **settings):
    """A desk whose clock the test moves, showing one new alert; the clock is
    then paused, so that only the test moves it. Returns the kiosk, the alert
    and how many seconds the server said the alert had waited."""
    kiosk, patient = open_kiosk(**settings)
    with kiosk.app.app_context():
        create_staff("maria", STAFF_PASSWORD)
    desk_page.add_init_script(COUNT_TONES)
    desk_page.clock.install()
    sign_in(desk_page, kiosk.url)
    desk_page.get_by_role("heading", name="Handouts and alerts").click()

    patient.taps_start()
    patient.answers_safety(yes=("bladder",))
    alert = desk_page.locator(".alert")
    expect(alert).to_be_visible(timeout=SEEN_WITHIN_MS)
    desk_page.wait_for_timeout(300)
    desk_page.clock.pause_at(desk_page.evaluate("Date.now()") / 1000 + 0.1)  # Unix seconds
    # The server gives the alert's age when it renders the queue; the desk
    # counts on from there by its own (here, the test's) clock. Nothing else
    # changes in the queue, so the polls meanwhile answer 304 and leave it be.
    return kiosk, alert, int(alert.get_attribute("data-waited-seconds"))


def test_an_unacknowledged_alert_escalates_and_chimes_until_acknowledged(open_kiosk, desk_page):
    kiosk, alert, waited = an_alert_on_a_desk_with_a_controlled_clock(open_kiosk, desk_page)
    threshold = kiosk.app.config["ALERT_ESCALATE_SECONDS"]
    assert threshold == 60
    assert int(alert.get_attribute("data-escalate-seconds")) == threshold
    assert waited < 10

    def tones() -> int:
        return desk_page.evaluate("window.__tones")

    assert tones() == 2, "the new alert chimed once"
    waiting = alert.locator(".waited")

    # A few seconds short of the threshold nothing escalates or chimes again.
    desk_page.clock.fast_forward((threshold - waited - 4) * 1000)
    desk_page.clock.run_for(1000)
    expect(alert).not_to_have_class(ESCALATED)
    expect(waiting).to_be_hidden()
    expect(waiting).to_have_text("")
    assert tones() == 2

    # Past it: more urgent, how long it has waited, and the chime again.
    desk_page.clock.fast_forward(5000)
    expect(alert).to_have_class(ESCALATED)
    expect(waiting).to_be_visible()
    expect(waiting).to_have_text(WAITING)
    shown = waiting_seconds(waiting.inner_text())
    assert threshold <= shown <= threshold + 3
    assert tones() == 4, "the escalation chimed once"

    # The waiting time keeps up, second by second.
    desk_page.clock.run_for(1000)
    expect(waiting).to_have_text(WAITING)
    assert waiting_seconds(waiting.inner_text()) == shown + 1
    desk_page.clock.run_for(60_000)
    assert waiting_seconds(waiting.inner_text()) == shown + 61
    assert waiting.inner_text().startswith("Waiting 2 min")

    # The chime repeats every 30 s while it waits: twice in that minute.
    assert tones() == 8
    desk_page.clock.run_for(25_000)
    assert tones() == 8
    desk_page.clock.run_for(5_000)
    assert tones() == 10

    # Acknowledged, it goes, and the repeats stop.
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert).to_have_count(0)
    desk_page.clock.run_for(90_000)
    assert tones() == 10

    blocked = [e for e in desk_page.console_problems if "Content Security Policy" in e or "Refused to" in e]
    assert blocked == []


def test_an_escalated_alert_stays_silent_with_the_chime_off(open_kiosk, desk_page):
    kiosk, alert, waited = an_alert_on_a_desk_with_a_controlled_clock(open_kiosk, desk_page, DESK_CHIME=0)
    desk_page.clock.fast_forward((kiosk.app.config["ALERT_ESCALATE_SECONDS"] - waited + 1) * 1000)
    expect(alert).to_have_class(ESCALATED)
    expect(alert.locator(".waited")).to_have_text(WAITING)
    desk_page.clock.run_for(65_000)
    assert desk_page.evaluate("window.__tones") == 0


def test_an_alert_already_overdue_when_it_arrives_chimes_once_then_repeats(open_kiosk, desk_page):
    # With no grace at all, a new alert is overdue the moment the desk sees it.
    _kiosk, alert, _waited = an_alert_on_a_desk_with_a_controlled_clock(
        open_kiosk, desk_page, ALERT_ESCALATE_SECONDS=0
    )
    expect(alert).to_have_class(ESCALATED)
    assert desk_page.evaluate("window.__tones") == 2
    desk_page.clock.run_for(5_000)
    assert desk_page.evaluate("window.__tones") == 2, "one chime, not a new-alert and an escalation chime"
    desk_page.clock.run_for(26_000)
    assert desk_page.evaluate("window.__tones") == 4
