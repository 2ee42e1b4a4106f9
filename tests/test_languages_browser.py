"""A clinic that turns on five languages, at the touchscreen in a real
browser: the buttons are exactly those, in its order, each in its own
language; they fit the masthead at every size; and a patient switching among
them midway loses nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kiosk import languages
from kiosk import questionnaire as qn

from .support.browser import LANDSCAPE, MIN_TARGET_PX, PORTRAIT, overflow, set_display
from .support.content import write
from .support.languages import marked, translations_folder

pytestmark = pytest.mark.browser

FIVE = 'languages = ["en", "es", "zh-Hans", "vi", "ar"]\ndraft_languages = ["zh-Hans", "vi", "ar"]\n'
NAMES = ["English", "Español", "中文（简体）", "Tiếng Việt", "العربية"]
DRAFTS = [tag for tag in languages.NAMES if tag not in ("en", "es")]
ALL_TEN = f"languages = {list(languages.NAMES)}\ndraft_languages = {DRAFTS}\n".replace("'", '"')


@pytest.fixture
def five_languages(open_kiosk, tmp_path):
    """open(screen=..., offered=FIVE) -> (kiosk, patient): a kiosk offering
    five languages (or all ten), those but English and Spanish from draft
    catalogs made for the test."""
    folder = translations_folder(tmp_path / "translations", *DRAFTS)

    def open_(offered: str = FIVE, **options):
        kiosk, patient = open_kiosk(walk_up=False, BABEL_TRANSLATION_DIRECTORIES=str(folder), **options)
        write(kiosk.app, offered)
        assert kiosk.app.extensions["kiosk.content"].error is None
        patient.walks_up()
        return kiosk, patient

    return open_


def choose(page: Page, tag: str) -> None:
    page.locator(".language-menu > summary").tap()
    page.locator(f'.language-settings button[value="{tag}"]').tap()
    expect(page.locator("html")).to_have_attribute("lang", tag)


def test_the_buttons_are_the_clinics_languages_in_its_order_each_in_its_own(five_languages):
    kiosk, patient = five_languages()
    page = patient.page
    buttons = page.locator(".language-settings button")
    expect(buttons.first).to_be_hidden()
    menu = page.locator(".language-menu > summary")
    expect(menu).to_have_text(re.compile("English"))
    menu.tap()
    expect(buttons).to_have_text(NAMES)
    assert [buttons.nth(n).get_attribute("lang") for n in range(5)] == ["en", "es", "zh-Hans", "vi", "ar"]
    buttons.nth(3).tap()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("h1")).to_have_text(marked("vi", "Get ready to ask for a second opinion"))
    expect(page.locator(".language-menu > summary")).to_have_text(re.compile("Tiếng Việt"))


@pytest.mark.parametrize(
    "screen, size",
    [(PORTRAIT, 100), (PORTRAIT, 150), (LANDSCAPE, 100), (LANDSCAPE, 150)],
    ids=["portrait", "portrait-150", "landscape", "landscape-150"],
)
def test_ten_languages_fit_the_masthead(five_languages, screen, size):
    kiosk, patient = five_languages(ALL_TEN, screen=screen)
    page = patient.page
    if size != 100:
        set_display(page, size=size)
    patient.taps_start()
    for state in ("closed", "open"):
        if state == "open":
            page.locator(".language-menu > summary").tap()
            expect(page.locator(".language-settings button").first).to_be_visible()
        targets = page.locator(".language-menu > summary, .language-settings button:visible")
        boxes = [targets.nth(n).bounding_box() for n in range(targets.count())]
        assert len(boxes) == (1 if state == "closed" else 11)
        assert all(b["width"] >= MIN_TARGET_PX and b["height"] >= MIN_TARGET_PX for b in boxes), (
            state,
            boxes,
        )
        assert overflow(page) <= 0, state
        assert patient.small_targets() == [] and patient.crowded_targets() == [], state
        masthead = page.locator(".masthead").bounding_box()
        assert all(
            b["x"] >= masthead["x"] and b["x"] + b["width"] <= masthead["x"] + masthead["width"]
            for b in boxes
        )
        # Closed, the masthead is no taller than two rows of controls.
        if state == "closed":
            assert masthead["height"] <= 2 * 52 * size / 100 + 3 * 24, masthead


def test_switching_among_the_languages_midway_loses_nothing(five_languages):
    kiosk, patient = five_languages()
    page = patient.page
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    patient.taps_choice("spine_region", "neck")
    patient.taps_choice("first_recommendation", "injections")
    for tag in ("zh-Hans", "vi", "ar", "es"):
        choose(page, tag)
        expect(page).to_have_url(re.compile(r"/visit/situation$"))
        expect(page.locator('input[name="spine_region"][value="neck"]')).to_be_checked()
        expect(page.locator('input[name="first_recommendation"][value="injections"]')).to_be_checked()
    patient.taps_choice("confidence", "3")
    patient.taps_next()
    expect(page).to_have_url(re.compile(r"/visit/reasons$"))
    patient.taps_choice("reasons", "other")
    page.locator("#reasons_other").fill("Quiero saber más.")
    choose(page, "ar")
    expect(page.locator("#reasons_other")).to_have_value("Quiero saber más.")
    expect(page.locator('input[name="reasons"][value="other"]')).to_be_checked()
    choose(page, "zh-Hans")
    expect(page.locator("#reasons_other")).to_have_value("Quiero saber más.")
    page.goto(kiosk.url + "/visit/situation")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator('input[name="confidence"][value="3"]')).to_be_checked()
    expect(page.locator('input[name="spine_region"][value="neck"]')).to_be_checked()
    patient.expect_no_blocked_or_broken_scripts()
