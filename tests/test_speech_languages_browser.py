"""Read to me in each of the ten languages, with a recorder in place of the
browser's speech synthesis (tests/support/speech_recorder.py) offering the
voices espeak-ng 1.51 lists through Chromium, under their own tags: every
sentence is spoken with the page's language tag, in a voice of that language;
where the machine has none (Tagalog), the button stays hidden and nothing is
said."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from kiosk import languages

from .support.browser import expect_soon
from .support.content import write
from .support.speech_recorder import FAKE_SPEECH

pytestmark = pytest.mark.browser

TAGS = list(languages.NAMES)
DRAFTS = [tag for tag in TAGS if tag not in languages.DEFAULT]
ALL_TEN = "languages = [{}]\ndraft_languages = [{}]\n".format(
    ", ".join(f'"{tag}"' for tag in TAGS), ", ".join(f'"{tag}"' for tag in DRAFTS)
)

# What Chromium lists through speech-dispatcher and espeak-ng 1.51 for these
# languages (names less " espeak-ng"), in its order, plus a French voice to
# be passed over. Mandarin is "cmn", never "zh"; there is no Tagalog.
ESPEAK = [
    ("Arabic", "ar"),
    ("Chinese (Cantonese)", "yue"),
    ("Chinese (Mandarin, latin as English)", "cmn"),
    ("Chinese (Mandarin, latin as Pinyin)", "cmn-LATN-PINYIN"),
    ("English (Great Britain)", "en-GB"),
    ("English (America)", "en-US"),
    ("French (France)", "fr-FR"),
    ("Haitian Creole", "ht"),
    ("Korean", "ko"),
    ("Russian", "ru"),
    ("Spanish (Spain)", "es"),
    ("Spanish (Latin America)", "es-419"),
    ("Vietnamese (Central)", "vi-VN-X-CENTRAL"),
    ("Vietnamese (Northern)", "vi"),
]
VOICE = {
    "en": "English (America)",
    "es": "Spanish (Latin America)",
    # Chinese, in either script, in Mandarin, by the voice that reads its characters as Mandarin.
    "zh-Hans": "Chinese (Mandarin, latin as Pinyin)",
    "zh-Hant": "Chinese (Mandarin, latin as Pinyin)",
    "vi": "Vietnamese (Northern)",
    "ko": "Korean",
    "tl": None,
    "ru": "Russian",
    "ar": "Arabic",
    "ht": "Haitian Creole",
}
# Spoken since the page loaded, but for the cancels.
UTTERANCES = "() => (window.__spoken || []).filter((s) => 'text' in s)"
ANNOUNCED = "() => window.__voicesAnnounced === true"


def test_each_language_is_read_with_its_own_tag_in_a_voice_of_its_own(open_kiosk):
    kiosk, patient = open_kiosk(walk_up=False)
    write(kiosk.app, ALL_TEN)
    assert kiosk.app.extensions["kiosk.content"].error is None
    config = {"voices": [{"name": name, "lang": lang} for name, lang in ESPEAK], "late": False}
    page = patient.page
    page.add_init_script(script=f"({FAKE_SPEECH})({json.dumps(config)})")
    patient.walks_up()
    patient.taps_start()
    button = page.locator("#read-aloud")
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "true")

    heard: dict[str, set[tuple[str, str]]] = {}
    for tag in [*TAGS[1:], TAGS[0]]:
        page.locator(".language-menu > summary").tap()
        page.locator(f'.language-settings button[value="{tag}"]').tap()
        expect(page.locator("html")).to_have_attribute("lang", tag)
        expect_soon(lambda: page.evaluate(ANNOUNCED), f"{tag}: no voices announced")
        if VOICE[tag] is None:
            expect(button).to_be_hidden()
            page.wait_for_timeout(300)
            assert page.evaluate(UTTERANCES) == [], f"{tag}: spoken with no voice of its own"
            continue
        expect(button).to_be_visible()
        expect(button).to_have_attribute("aria-pressed", "true")
        expect_soon(lambda: len(page.evaluate(UTTERANCES)) > 2, f"{tag}: the screen was not read")
        heard[tag] = {(s["lang"], s["voice"]) for s in page.evaluate(UTTERANCES)}
    assert heard == {tag: {(tag, voice)} for tag, voice in VOICE.items() if voice}
    patient.expect_no_blocked_or_broken_scripts()
