"""Every word on the kiosk is drawn with the fonts the project ships.

A clinic's mini-PC has a desktop's fonts (Noto Color Emoji, Noto, Liberation,
CJK; CI installs them). Chromium says which font it really drew each piece of
text with (DevTools ``CSS.getPlatformFontsForNode``): on every screen of a
visit, digits and the claim code included, that is only the bundled Atkinson
Hyperlegible, Noto Emoji and the stars of Noto Sans Symbols 2, loaded
from the app.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kiosk import questionnaire as qn

from .support.browser import URGENT_HEADING
from .support.fonts_drawn import fonts_drawn, fonts_of

pytestmark = pytest.mark.browser

# The family names inside the files in static/fonts/.
BUNDLED = {"Atkinson Hyperlegible", "Noto Emoji", "Noto Sans Symbols2"}


def expect_only_bundled_fonts(page: Page, screen: str) -> None:
    drawn = fonts_drawn(page)
    assert drawn, f"no text found on {screen}"
    others = {font: texts for font, texts in drawn.items() if font not in BUNDLED}
    assert others == {}, f"{screen} draws text with fonts the project does not ship"


def test_every_screen_of_a_visit_draws_its_text_only_in_the_bundled_fonts(open_kiosk):
    kiosk, patient = open_kiosk()
    expect_only_bundled_fonts(patient.page, "Welcome")
    patient.taps_start()
    expect_only_bundled_fonts(patient.page, "the safety check")
    patient.answers_safety(yes=("fever",))
    patient.expect_screen("/visit/urgent", URGENT_HEADING)
    expect_only_bundled_fonts(patient.page, "the urgent screen")
    patient.page.get_by_role("link", name="I told them. Continue.").tap()

    patient.expect_step(qn.SITUATION)
    patient.taps_next()  # nothing chosen: the errors show
    patient.expect_step(qn.SITUATION)
    patient.page.locator(".field-error").first.wait_for()
    expect_only_bundled_fonts(patient.page, "the situation step with its errors")

    patient.answers_everything_up_to_review_from_situation()
    expect_only_bundled_fonts(patient.page, "the review")
    patient.taps_finish()
    assert fonts_of(patient.page, "#claim-code") == {"Atkinson Hyperlegible"}
    expect_only_bundled_fonts(patient.page, "Done, with the claim code")


def test_the_steps_draw_their_text_only_in_the_bundled_fonts(open_kiosk):
    """Each step on its own, as the patient reaches it."""
    kiosk, patient = open_kiosk()
    patient.taps_start()
    patient.answers_safety()
    for step, answers in (
        (
            qn.SITUATION,
            (("spine_region", "low_back"), ("first_recommendation", "fusion"), ("confidence", "2")),
        ),
        (qn.REASONS, (("reasons", "unsure_surgery"),)),
        (qn.RECORDS, (("records_exist", "mri"), ("records_requested", "not_yet"), ("companion", "family"))),
    ):
        patient.expect_step(step)
        expect_only_bundled_fonts(patient.page, f"the {step.id} step")
        for question, value in answers:
            patient.taps_choice(question, value)
        patient.taps_next()
    patient.expect_step(qn.QUESTIONS)
    patient.taps_star("q_options_all")
    expect_only_bundled_fonts(patient.page, "the questions step with a star")


def test_spanish_large_text_high_contrast_and_the_idle_prompt_use_only_the_bundled_fonts(open_kiosk):
    kiosk, patient = open_kiosk(IDLE_SECONDS=2, IDLE_WARNING_SECONDS=30)
    page = patient.page
    page.locator('.language-settings button[value="es"]').tap()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.locator(".display-settings button[name='text_size'][value='150']").tap()
    expect(page.locator("html")).to_have_class(re.compile(r"\btext-150\b"))
    page.locator(".display-settings button[name='high_contrast']").tap()
    expect(page.locator("html")).to_have_class(re.compile(r"\bhigh-contrast\b"))
    expect_only_bundled_fonts(page, "Welcome in Spanish, at 150 %, in high contrast")

    page.locator("#start").tap()
    expect(page).to_have_url(re.compile(r"/visit/"))
    expect_only_bundled_fonts(page, "the safety check in Spanish")
    expect(page.locator("#idle-dialog")).to_be_visible(timeout=6_000)
    expect_only_bundled_fonts(page, "the idle prompt in Spanish")
