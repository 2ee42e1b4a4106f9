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
from collections import defaultdict

import pytest
from playwright.sync_api import Page, expect

from kiosk import questionnaire as qn

from .support.browser import URGENT_HEADING

pytestmark = pytest.mark.browser

# The family names inside the files in static/fonts/.
BUNDLED = {"Atkinson Hyperlegible", "Noto Emoji", "Noto Sans Symbols2"}
NOT_DRAWN = {"SCRIPT", "STYLE", "TEMPLATE", "TITLE", "HEAD", "NOSCRIPT"}


def fonts_drawn(page: Page) -> dict[str, list[str]]:
    """Each font Chromium drew the page's text with, and a few of the texts
    drawn in it. A system font is named "system: <family>"."""
    page.evaluate("document.fonts.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        drawn: dict[str, list[str]] = defaultdict(list)

        def text_of(node) -> str:
            return " ".join(
                child["nodeValue"].strip() for child in node.get("children", []) if child["nodeType"] == 3
            )

        def visit(node) -> None:
            if node.get("nodeName") in NOT_DRAWN:
                return
            text = text_of(node)
            if node["nodeType"] == 1 and (text or node.get("pseudoType")):
                fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
                for font in fonts:
                    name = font["familyName"] if font["isCustomFont"] else f"system: {font['familyName']}"
                    if len(drawn[name]) < 5:
                        drawn[name].append(text or f"::{node['pseudoType']}")
            for child in (*node.get("pseudoElements", ()), *node.get("children", ())):
                visit(child)

        visit(root)
        return dict(drawn)
    finally:
        cdp.detach()


def fonts_of(page: Page, selector: str) -> set[str]:
    """The fonts Chromium drew one element's text with."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]
        node = cdp.send("DOM.querySelector", {"nodeId": root["nodeId"], "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {
            font["familyName"] if font["isCustomFont"] else f"system: {font['familyName']}" for font in fonts
        }
    finally:
        cdp.detach()


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
