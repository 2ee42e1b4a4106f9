"""Tried as a blind patient would, with headphones and a keypad: they start
without help, hear every screen and every choice, hide the screen, finish
with the code spelled out and nothing shown; the desk sees that they used
audio and embosses their handout in braille through CUPS, to an embosser
that is a socket the test listens on (as an Index embosser on port 9100).

Everything is real but the voice (the speech recorder; the real voices are
tests/test_real_voices.py) and the embosser's paper.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kiosk import print_jobs
from kiosk import questionnaire as qn
from kiosk.auth import create_staff

from .conftest import STAFF_PASSWORD
from .support import cups
from .support.braille import LIBLOUIS_MISSING, back_translated
from .support.browser import DONE_HEADING, WELCOME_HEADING
from .support.keypad import (
    TYPICAL_ANSWERS,
    KeypadPatient,
    assert_only_the_cover,
    open_with_speech,
    spelling_of,
    stored_answers,
    typical_visit_by_keys,
)

pytestmark = pytest.mark.browser


@pytest.mark.skipif(bool(LIBLOUIS_MISSING), reason=LIBLOUIS_MISSING or "")
def test_a_blind_patient_prepares_alone_and_the_desk_embosses_their_handout(open_kiosk, chromium):
    with cups.embosser_queue() as (embosser_queue, embosser):
        kiosk, patient = open_with_speech(open_kiosk)
        with kiosk.app.app_context():
            create_staff("maria", STAFF_PASSWORD)
            print_jobs.refresh_printers()
        page = patient.page
        page.goto(kiosk.url + "/")
        expect(page.locator("#screen h1")).to_have_text(WELCOME_HEADING)
        keys = KeypadPatient(page, kiosk.url)

        # The first key anywhere starts audio mode: nothing seen or touched first.
        heard = keys.press("ArrowDown")
        assert heard[0].startswith("Audio mode is on.") and WELCOME_HEADING in heard, heard
        # They hide the screen from passers-by, by keys.
        keys.move_to("#blank-screen", "ArrowUp")
        keys.press("Enter")
        expect(page.locator("html")).to_have_class(re.compile(r"\baudio-blank\b"))
        assert "The screen is hidden. The keys still work." in keys.heard()

        keys.move_to("#start")
        keys.press("Enter")
        keys.arrives(qn.SAFETY.title, "/visit/safety")
        typical_visit_by_keys(keys)
        assert_only_the_cover(page, keys)
        keys.move_to("#screen button.next", "ArrowRight")  # the review's Finish
        keys.press("Enter")
        heard = keys.arrives(DONE_HEADING, "/visit/done")
        code = page.locator("#claim-code").text_content().strip()
        assert f"Your code is {spelling_of(kiosk, code, 'en')}." in heard, heard
        assert "Please go to the front desk and tell them this code." in heard
        assert_only_the_cover(page, keys)
        assert {k: stored_answers(kiosk)[0][k] for k in TYPICAL_ANSWERS} == TYPICAL_ANSWERS

        # The front desk: the handout says audio was used, and embosses it.
        context = chromium.new_context(viewport={"width": 1366, "height": 900})
        desk = context.new_page()
        desk.goto(kiosk.url + "/desk/")
        desk.get_by_label("Name").fill("maria")
        desk.get_by_label("Password").fill(STAFF_PASSWORD)
        desk.get_by_role("button", name="Sign in").click()
        row = desk.locator("table.handouts tbody tr", has_text=code)
        expect(row).to_contain_text("Not printed", timeout=30_000)
        row.get_by_role("link", name=code).click()
        expect(desk.get_by_role("heading", name=f"Handout {code}")).to_be_visible()
        expect(desk.get_by_text("Used audio:")).to_be_visible()
        desk.get_by_label("Embosser").select_option(embosser_queue)
        desk.get_by_role("button", name="Emboss in braille").click()
        expect(desk.locator("#jobs .job").first).to_contain_text("Printed", timeout=30_000)
        context.close()

        [brf] = embosser.wait_for_jobs(1)
        text = back_translated(kiosk.app, brf, "en")
        assert f"Code {code}" in text
        starred = [
            "What are all my choices, even ones with no surgery?",
            "Why do you think this plan is best for me?",
            "How likely is it that this will help me?",
        ]
        for number, question in enumerate(starred, 1):
            assert f"{number}. Most important: {question}" in text, text
