"""The kiosk fetches a script's font only when a screen in that language needs it.

Measured in Chromium: the Welcome in English, with every language named on
its button in its own words as a clinic offering all ten shows them, fetches
no Chinese, Korean, Arabic, Vietnamese or Russian font (only the few
kilobytes of "Kiosk Names ..." that hold the names), and what its first load
fetches for fonts besides the Latin ones (font files and the stylesheets
that declare them, by the Performance API's transfer sizes) stays within
100 KB. A page in Chinese draws its text with the bundled Noto Sans SC,
fetched in slices; one in Arabic with Vazirmatn; never a font of the machine's
(it has Noto CJK installed).

A page in a language whose catalog is not in kiosk/translations yet is made
from the Welcome as templates/base.html makes a page in that language: its
``lang``, its script's stylesheet of slices, and a sentence in its script.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from .support.scripts import BY_TAG, LANGUAGES, ROOT
from .test_kiosk_fonts_browser import fonts_drawn, fonts_of

pytestmark = pytest.mark.browser

BUDGET_BYTES = 100_000
LATIN_FONTS = "/static/fonts/atkinson-hyperlegible/"
# The family names inside the bundled files (Chromium reports these).
# The @fontsource slices of Noto Sans SC, TC and KR call themselves "... Thin"
# inside (the name of the variable font they were cut from), though each is
# cut at its own weight, 400 or 700.
SLICES = {"Noto Sans SC Thin", "Noto Sans TC Thin", "Noto Sans KR Thin"}
BUNDLED = {"Atkinson Hyperlegible", "Noto Emoji", "Noto Sans Symbols2"} | SLICES
BUNDLED |= {language.screen_font for language in LANGUAGES}
SCRIPT_FOLDERS = ("noto-sans-sc", "noto-sans-tc", "noto-sans-kr", "vazirmatn", "noto-sans/")


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


def name_every_language(page: Page) -> None:
    """A button for each language, named in its own words, as the Welcome
    shows the languages a clinic offers; the ones already there are kept."""
    page.evaluate(
        """(languages) => {
            const form = document.querySelector('.language-settings');
            for (const [tag, name] of languages) {
                if (form.querySelector(`button[lang="${tag}"]`)) continue;
                const button = document.createElement('button');
                button.className = 'button'; button.type = 'button';
                button.lang = tag; button.textContent = name;
                form.append(button);
            }
        }""",
        [[language.tag, language.own_name] for language in LANGUAGES],
    )


def test_an_english_welcome_naming_every_language_stays_within_100_kb(open_kiosk):
    kiosk, patient = open_kiosk()
    page = patient.page
    name_every_language(page)
    fetched = loaded(page)
    urls = [entry["url"] for entry in fetched]
    assert [url for url in urls if any(f"/static/fonts/{folder}" in url for folder in SCRIPT_FOLDERS)] == []
    assert not [url for url in urls if "/css/fonts-zh" in url or "/css/fonts-ko" in url]
    fonts = [entry for entry in fetched if is_font(entry["url"]) and LATIN_FONTS not in entry["url"]]
    total = sum(entry["bytes"] for entry in fonts)
    everything = sum(entry["bytes"] for entry in fetched if LATIN_FONTS not in entry["url"])
    print(f"English Welcome, ten languages named: fonts besides the Latin ones {total:,} bytes;")
    print(f"  the whole first load besides the Latin fonts {everything:,} bytes")
    assert 0 < total <= BUDGET_BYTES, fonts
    for language in LANGUAGES:
        drawn = fonts_of(page, f'.language-settings button[lang="{language.tag}"]')
        assert drawn <= BUNDLED, (language.tag, drawn)
        assert language.screen_font in drawn, (language.tag, drawn)
    others = {font: texts for font, texts in fonts_drawn(page).items() if font not in BUNDLED}
    assert others == {}


@pytest.mark.parametrize("tag", ["zh-Hans", "zh-Hant", "ko", "ar", "vi", "ru"])
def test_a_page_in_each_script_draws_its_text_in_its_bundled_font(open_kiosk, tag):
    language = BY_TAG[tag]
    kiosk, patient = open_kiosk()
    page = patient.page
    sliced = ROOT / "static" / "css" / f"fonts-{tag}.css"
    page.evaluate(
        """([tag, stylesheet, sentence]) => {
            document.documentElement.lang = tag;
            if (stylesheet) {
                const link = document.createElement('link');
                link.rel = 'stylesheet'; link.href = stylesheet;
                document.querySelector('link[href*="kiosk-fonts.css"]').before(link);
            }
            document.querySelector('h1').textContent = sentence;
        }""",
        [tag, f"/static/css/{sliced.name}" if sliced.is_file() else "", language.typed],
    )
    page.wait_for_function(
        "[...document.styleSheets].every(s => { try { return s.cssRules; } catch { return true; } })"
    )
    fetched = [entry["url"] for entry in loaded(page)]
    drawn = fonts_of(page, "h1")
    assert {language.screen_font, f"{language.screen_font} Thin"} & drawn, drawn
    assert drawn <= BUNDLED, drawn
    others = {font: texts for font, texts in fonts_drawn(page).items() if font not in BUNDLED}
    assert others == {}
    script_fonts = [url for url in fetched if any(f"/static/fonts/{f}" in url for f in SCRIPT_FOLDERS)]
    if sliced.is_file():
        # Only slices of its own font, never a whole font of several megabytes.
        folder = {"zh-Hans": "noto-sans-sc", "zh-Hant": "noto-sans-tc", "ko": "noto-sans-kr"}[tag]
        assert script_fonts and all(f"/static/fonts/{folder}/web/" in url for url in script_fonts), (
            script_fonts
        )
