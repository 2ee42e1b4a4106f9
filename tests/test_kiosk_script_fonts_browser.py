"""The kiosk fetches a script's font only when a screen in that language needs it.

Measured in Chromium on a kiosk whose clinic offers all ten languages (the
catalogs in kiosk/translations): the Welcome in English, its language menu
open so each language is named on its button in its own words, fetches no
Chinese, Korean, Arabic, Vietnamese or Russian font, only the few kilobytes
of "Kiosk Names ..." that hold the names; what its first load fetches for
fonts besides the Latin ones (font files and the stylesheets that declare
them, by the Performance API's transfer sizes) stays within 100 KB, and so
does the whole first load but the Latin fonts (its scripts and stylesheets
are sent compressed). A page
in Chinese draws its text with the bundled Noto Sans SC, fetched in slices;
one in Arabic with Vazirmatn; never a font of the machine's (it has Noto CJK
installed).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kiosk import languages

from .support.content import write
from .support.fonts_drawn import fonts_drawn, fonts_of
from .support.scripts import BY_TAG, LANGUAGES

pytestmark = pytest.mark.browser

BUDGET_BYTES = 100_000
LATIN_FONTS = "/static/fonts/atkinson-hyperlegible/"
# The @fontsource slices of Noto Sans SC, TC and KR call themselves "... Thin"
# inside (the name of the variable font they were cut from), though each is
# cut at its own weight, 400 or 700.
SLICES = {"Noto Sans SC Thin", "Noto Sans TC Thin", "Noto Sans KR Thin"}
BUNDLED = {"Atkinson Hyperlegible", "Noto Emoji", "Noto Sans Symbols2"} | SLICES
BUNDLED |= {language.screen_font for language in LANGUAGES}
SCRIPT_FOLDERS = ("noto-sans-sc", "noto-sans-tc", "noto-sans-kr", "vazirmatn", "noto-sans/")
DRAFTS = [tag for tag in languages.NAMES if tag not in ("en", "es")]
ALL_TEN = f"languages = {list(languages.NAMES)}\ndraft_languages = {DRAFTS}\n".replace("'", '"')


def is_font(url: str) -> bool:
    """A font file, or a stylesheet that only declares fonts and picks them."""
    return (
        "/static/fonts/" in url or re.search(r"/static/css/(fonts[\w-]*|kiosk-fonts)\.css", url) is not None
    )


def loaded(page: Page) -> list[dict]:
    """Everything the page fetched so far (the document first), with its size
    on the wire, once the fonts its text needs are in."""
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_function("document.fonts.status === 'loaded'")
    return page.evaluate(
        """() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
               .map(e => ({url: e.name, bytes: e.transferSize}))"""
    )


@pytest.fixture
def ten_languages(open_kiosk):
    """A kiosk whose clinic offers all ten languages, at its Welcome in English."""
    kiosk, patient = open_kiosk(walk_up=False)
    write(kiosk.app, ALL_TEN)
    assert kiosk.app.extensions["kiosk.content"].error is None
    patient.walks_up()
    return kiosk, patient


def test_an_english_welcome_naming_every_language_fetches_no_script_font(ten_languages):
    kiosk, patient = ten_languages
    page = patient.page
    page.locator(".language-menu > summary").tap()
    buttons = page.locator(".language-settings button")
    expect(buttons).to_have_count(10)
    expect(buttons.last).to_be_visible()
    fetched = loaded(page)
    urls = [entry["url"] for entry in fetched]
    assert [url for url in urls if any(f"/static/fonts/{folder}" in url for folder in SCRIPT_FOLDERS)] == []
    assert not [url for url in urls if "/css/fonts-zh" in url or "/css/fonts-ko" in url]
    fonts = [entry for entry in fetched if is_font(entry["url"]) and LATIN_FONTS not in entry["url"]]
    total = sum(entry["bytes"] for entry in fonts)
    everything = sum(entry["bytes"] for entry in fetched if LATIN_FONTS not in entry["url"])
    print(f"English Welcome, ten languages named: fonts besides the Latin ones {total:,} bytes;")
    print(f"  the whole first load besides the Latin fonts {everything:,} bytes")
    assert 0 < total <= BUDGET_BYTES, [
        (entry["url"].split("/static/")[-1], entry["bytes"]) for entry in fonts
    ]
    # The whole first load too: the page, its scripts and stylesheets (sent
    # compressed) and every font but the Latin ones.
    assert everything <= BUDGET_BYTES, [
        (entry["url"].split("/static/")[-1], entry["bytes"])
        for entry in fetched
        if LATIN_FONTS not in entry["url"]
    ]
    for language in LANGUAGES:
        drawn = fonts_of(page, f'.language-settings button[lang="{language.tag}"]')
        assert drawn <= BUNDLED, (language.tag, drawn)
        assert language.screen_font in drawn, (language.tag, drawn)
    others = {font: texts for font, texts in fonts_drawn(page).items() if font not in BUNDLED}
    assert others == {}


@pytest.mark.parametrize("tag", ["zh-Hans", "zh-Hant", "ko", "ar", "vi", "ru"])
def test_a_page_in_each_script_draws_its_text_in_its_bundled_font(ten_languages, tag):
    language = BY_TAG[tag]
    kiosk, patient = ten_languages
    page = patient.page
    page.locator(".language-menu > summary").tap()
    page.locator(f'.language-settings button[value="{tag}"]').tap()
    expect(page.locator("html")).to_have_attribute("lang", tag)
    page.locator("#start").tap()  # the safety check: a screen of its own words
    expect(page).to_have_url(re.compile(r"/visit/"))
    fetched = [entry["url"] for entry in loaded(page)]
    drawn = fonts_of(page, "h1")
    assert {language.screen_font, f"{language.screen_font} Thin"} & drawn, drawn
    others = {font: texts for font, texts in fonts_drawn(page).items() if font not in BUNDLED}
    assert others == {}
    script_fonts = [url for url in fetched if any(f"/static/fonts/{f}" in url for f in SCRIPT_FOLDERS)]
    sliced = {"zh-Hans": "noto-sans-sc", "zh-Hant": "noto-sans-tc", "ko": "noto-sans-kr"}.get(tag)
    if sliced:
        # Only slices of its own font, never a whole font of several megabytes.
        assert script_fonts and all(f"/static/fonts/{sliced}/web/" in url for url in script_fonts), (
            script_fonts
        )
