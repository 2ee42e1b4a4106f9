"""The front desk in a real browser, beside a kiosk: alerts and handouts show up
within seconds of the patient's tap, and one tap prints."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk.auth import create_staff
from kiosk.extensions import db
from kiosk.models import Alert, PrintJob

from .conftest import STAFF_PASSWORD
from .test_browser import chromium, open_kiosk  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser

DESK_SCREEN = {"width": 1366, "height": 900}
SEEN_WITHIN_MS = 5_000


@pytest.fixture
def desk_page(chromium):  # noqa: F811
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


def test_the_desk_sees_an_alert_and_a_handout_within_seconds_and_prints_it(open_kiosk, desk_page):  # noqa: F811
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
    expect(alert).to_contain_text("Numbness between your legs")
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
def test_a_new_alert_chimes_on_the_desk_when_the_setting_is_on(open_kiosk, desk_page, chime, tones):  # noqa: F811
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
