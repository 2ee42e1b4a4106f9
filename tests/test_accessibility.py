"""Every screen, patient and desk, has no axe-core violations (WCAG 2.2 A/AA).

axe-core is loaded into each page from a same-origin URL that the test
serves itself, so the app's Content-Security-Policy stays in force.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kiosk import questionnaire as qn
from kiosk.auth import create_staff

from .conftest import STAFF_PASSWORD
from .support.browser import violations

pytestmark = pytest.mark.browser


def test_every_patient_screen_is_free_of_axe_violations(open_kiosk):
    kiosk, patient = open_kiosk()
    page = patient.page
    found: dict[str, list[str]] = {}

    def check(screen: str) -> None:
        if problems := violations(page, kiosk.url):
            found[screen] = problems

    check("welcome")
    patient.taps_start()
    check("safety check")
    patient.taps_choice("warning_signs", "fever")
    page.locator(f'button[name="warning_signs"][value="{qn.NO_SIGNS.id}"]').tap()  # a sign, then "none"
    expect(page.locator(".field-error").first).to_be_visible()
    check("safety check with errors")
    page.locator(f'button[name="warning_signs"][value="{qn.SOME_SIGNS.id}"]').tap()
    patient.expect_screen("/visit/urgent", "Please tell the front desk now")
    check("urgent")
    page.get_by_role("link", name="I told them. Continue.").tap()
    patient.expect_step(qn.SITUATION)
    check("situation")
    patient.taps_next()  # nothing answered: every question shows its message
    expect(page.locator(".field-error").first).to_be_visible()
    check("situation with errors")
    patient.answers_everything_up_to_review_from_situation()
    check("review")
    patient.taps_finish()
    check("done")
    assert found == {}


def test_the_idle_prompt_is_free_of_axe_violations(open_kiosk):
    kiosk, patient = open_kiosk(IDLE_SECONDS=1, IDLE_WARNING_SECONDS=30)
    patient.taps_start()
    expect(patient.page.locator("#idle-dialog")).to_be_visible(timeout=5_000)
    assert violations(patient.page, kiosk.url) == []


def test_every_desk_screen_is_free_of_axe_violations(open_kiosk, chromium):
    kiosk, patient = open_kiosk()
    with kiosk.app.app_context():
        create_staff("maria", STAFF_PASSWORD, is_admin=True)
    patient.taps_start()
    patient.answers_safety(yes=("bladder",))
    patient.page.get_by_role("link", name="I told them. Continue.").tap()
    patient.answers_everything_up_to_review_from_situation()
    code = patient.taps_finish()

    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(screen: str) -> None:
        if problems := violations(page, kiosk.url):
            found[screen] = problems

    page.goto(kiosk.url + "/desk/sign-in")
    check("sign-in")
    page.get_by_label("Name").fill("maria")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".alert")).to_be_visible()
    check("queue with an alert")
    page.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", name=f"Handout {code}")).to_be_visible()
    check("handout")
    page.goto(kiosk.url + "/desk/staff")
    check("staff")
    page.goto(kiosk.url + "/desk/audit")
    check("audit log")
    page.goto(kiosk.url + "/desk/kiosks")
    page.get_by_label("Name (shown on alerts and handouts)").fill("Waiting room 2")
    page.get_by_role("button", name="Register and make a link").click()
    expect(page.locator("code.link")).to_be_visible()
    check("kiosks, with a new link")
    page.goto(kiosk.url + "/desk/password")
    check("change password")
    page.get_by_label("Your current password").fill(STAFF_PASSWORD)
    page.get_by_label("New password", exact=True).fill("aaaaaaaaaaaa")
    page.get_by_label("New password again").fill("aaaaaaaaaaaa")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert").first).to_contain_text("repeats")
    check("change password, refused")
    context.close()
    assert found == {}


def test_the_enrollment_screens_are_free_of_axe_violations(open_kiosk):
    from kiosk import enrolled_kiosks

    kiosk, patient = open_kiosk(walk_up=False, KIOSK_ENROLLMENT=1)
    page = patient.page
    page.goto(kiosk.url + "/")
    expect(page.get_by_role("heading", name="Please ask the front desk")).to_be_visible()
    found = {"not enrolled": violations(page, kiosk.url)}
    with kiosk.app.app_context():
        link = enrolled_kiosks.register("Waiting room 2", "", "", by="maria").link_code
    page.goto(f"{kiosk.url}/enroll#{link}")
    expect(page.get_by_text("This screen will become the kiosk:")).to_be_visible()
    found["enroll"] = violations(page, kiosk.url)
    page.get_by_role("button", name="Set up this kiosk").tap()
    expect(page.get_by_role("heading", name="Get ready to ask for a second opinion")).to_be_visible()
    page.goto(f"{kiosk.url}/enroll#{link}")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    found["used link"] = violations(page, kiosk.url)
    assert {screen: problems for screen, problems in found.items() if problems} == {}


def test_the_focus_ring_shows_on_a_chosen_setting_too(open_kiosk):
    """The chosen language and text size are outlined as chosen; focused by
    keys, they must show the same focus ring as every other control."""
    _kiosk, patient = open_kiosk()
    page = patient.page
    focus = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--focus').trim()")
    focus_rgb = page.evaluate(
        "c => { const e = document.createElement('i'); e.style.color = c; document.body.append(e);"
        " const rgb = getComputedStyle(e).color; e.remove(); return rgb; }",
        focus,
    )
    chosen = page.locator('.masthead .button[aria-pressed="true"]')
    assert chosen.count() >= 2  # English, and the usual text size
    rings = []
    for index in range(chosen.count()):
        button = chosen.nth(index)
        button.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focused by a key, so :focus-visible applies
        assert button.evaluate("b => b === document.activeElement")
        rings.append(
            button.evaluate("b => [getComputedStyle(b).outlineColor, getComputedStyle(b).outlineWidth]")
        )
    assert rings == [[focus_rgb, "4px"]] * chosen.count()
