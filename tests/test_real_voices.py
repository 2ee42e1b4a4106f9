"""Read to me with the real voices, as on a clinic's kiosk: Debian's Chromium
with --enable-speech-dispatcher, speech-dispatcher and espeak-ng, speaking
into a silent sound output (tests/support/speech.py), with nothing swapped
for a recorder. The page's own speech is only watched: each sentence the
kiosk speaks is kept with the moments its `start` and `end` came.

`kiosk check-speech` is run here against the same chain, and against one
with speech-dispatcher's default sound output, where the first sentence
never ends.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import pytest
from playwright.sync_api import Page, expect

from kiosk import languages

from .support.browser import BROWSER_REQUIRED, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, Patient
from .support.content import write
from .support.serve import ROOT
from .support.speech import DEFAULT_OUTPUT, require_speech, speech_dispatcher

pytestmark = pytest.mark.browser

SPEAKING_ARGS = [*CHROMIUM_ARGS, "--enable-speech-dispatcher"]
SENTENCE = "Please tell the front desk now."
UTTERANCES = 10
# A sentence must end within this; a stuck chain never ends at all.
END_TIMEOUT_MS = 10_000

# Keeps every sentence the page speaks, with when it started and ended.
WATCH_SPEECH = """
(() => {
  window.__heard = [];
  const synth = window.speechSynthesis;
  if (!synth) return;
  const speak = synth.speak.bind(synth);
  synth.speak = (u) => {
    const entry = {
      text: u.text, lang: u.lang, voice: u.voice && u.voice.name, voiceLang: u.voice && u.voice.lang,
      queued: performance.now(),
    };
    window.__heard.push(entry);
    u.addEventListener("start", () => { entry.start = performance.now(); });
    u.addEventListener("end", () => { entry.end = performance.now(); });
    u.addEventListener("error", (e) => { entry.error = e.error; });
    speak(u);
  };
})();
"""

# The voices the page can use, waiting for Chromium to bring them.
VOICES = """async (ms) => {
  const synth = window.speechSynthesis;
  const started = performance.now();
  while (synth.getVoices().length === 0 && performance.now() - started < ms) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    waited: performance.now() - started,
    voices: synth.getVoices().map((v) => ({ name: v.name, lang: v.lang, local: v.localService })),
  };
}"""

# Speaks `text` `times` times, one after the other, each to its end.
SPEAK_IN_A_ROW = """async ([text, lang, times, ms]) => {
  const results = [];
  for (let i = 0; i < times; i++) {
    results.push(await new Promise((resolve) => {
      const u = new SpeechSynthesisUtterance(text);
      u.lang = lang;
      const queued = performance.now();
      let start = null;
      const timer = setTimeout(() => resolve({ start, end: null }), ms);
      u.onstart = () => { start = performance.now() - queued; };
      u.onend = () => { clearTimeout(timer); resolve({ start, end: performance.now() - queued }); };
      u.onerror = (e) => { clearTimeout(timer); resolve({ start, end: null, error: e.error }); };
      window.speechSynthesis.speak(u);
    }));
    if (results[i].end === null) break;  // the rest would wait behind it
  }
  return results;
}"""


def launch_speaking_chromium(playwright, env: dict[str, str]):
    if not CHROMIUM.exists():
        if not BROWSER_REQUIRED:
            pytest.skip(CHROMIUM_MISSING)
        pytest.fail(f"KIOSK_REQUIRE_BROWSER is set, but {CHROMIUM_MISSING}", pytrace=False)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=SPEAKING_ARGS, env=env)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """The kiosk machine's speech-dispatcher, with a silent sound output."""
    require_speech()
    with speech_dispatcher(tmp_path_factory.mktemp("speech-dispatcher")) as server:
        yield server


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def chromium(playwright, speech):
    """The kiosk's Chromium, speaking through `speech` (open_kiosk uses it)."""
    browser = launch_speaking_chromium(playwright, speech.env())
    yield browser
    browser.close()


def kiosk_page(open_kiosk, language: str = "en") -> Patient:
    _, patient = open_kiosk(walk_up=False)
    patient.page.add_init_script(script=WATCH_SPEECH)
    patient.walks_up()
    if language != "en":
        patient.page.locator(f'.language-settings button[value="{language}"]').tap()
        expect(patient.page.locator("html")).to_have_attribute("lang", language)
    return patient


def heard(page: Page) -> list[dict]:
    return page.evaluate("window.__heard")


def expect_all_ended(page: Page, speech, at_least: int, seconds: float = 15) -> list[dict]:
    """Wait until the page has spoken `at_least` sentences and every one has ended."""
    deadline = time.monotonic() + seconds
    while True:
        said = heard(page)
        if len(said) >= at_least and all("end" in s or "error" in s for s in said):
            break
        if time.monotonic() > deadline:
            stuck = [s["text"] for s in said if "end" not in s]
            pytest.fail(f"{len(said)} sentences spoken, not ended: {stuck}\n{speech.log()}", pytrace=False)
        time.sleep(0.05)
    assert [s for s in said if "error" in s] == [], "a sentence failed"
    return said


def test_chromium_lists_local_voices_for_english_and_spanish(open_kiosk, speech, record_property):
    patient = kiosk_page(open_kiosk)
    found = patient.page.evaluate(VOICES, END_TIMEOUT_MS)
    voices = found["voices"]
    assert voices, f"Chromium lists no voice\n{speech.log()}"
    for language in ("en", "es"):
        local = [v for v in voices if v["local"] and v["lang"].lower().split("-")[0] == language]
        assert local, f"no local voice for {language}"
    assert all(v["local"] for v in voices), "a voice that is not on this machine"
    record_property("voices", len(voices))
    record_property("voices_listed_ms", round(found["waited"]))
    print(f"\nChromium listed {len(voices)} voices {found['waited']:.0f} ms after the page asked")


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_read_to_me_button_appears(open_kiosk, language):
    patient = kiosk_page(open_kiosk, language)
    expect(patient.page.locator("#read-aloud")).to_be_visible()


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_sentence_the_kiosk_reads_ends(open_kiosk, speech, language, record_property):
    """Read to me turned on reads the screen, piece after piece, with a voice
    of the page's language; the next screen is read too. Every piece starts
    and ends: the chain is not stuck after its first sentence."""
    patient = kiosk_page(open_kiosk, language)
    page = patient.page
    button = page.locator("#read-aloud")
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "true")
    welcome = expect_all_ended(page, speech, at_least=2)
    assert welcome[0]["text"] == page.locator("#screen h1").inner_text().strip()
    voices = {(s["voice"], s["voiceLang"]) for s in welcome}
    assert all(name and tag.lower().startswith(language) for name, tag in voices), voices
    record_property("voice", sorted(voices))
    print(f"\nRead to me ({language}) speaks with {sorted(voices)}")

    page.locator("#start").tap()
    expect(page.locator("#screen h1")).not_to_have_text(welcome[0]["text"])
    said = expect_all_ended(page, speech, at_least=len(welcome) + 2)
    assert said[len(welcome)]["text"] == page.locator("#screen h1").inner_text().strip()
    assert all(s["start"] <= s["end"] for s in said)


@pytest.mark.parametrize("language", ["en", "es"])
def test_many_sentences_in_a_row_each_end(open_kiosk, speech, language, record_property):
    patient = kiosk_page(open_kiosk, language)
    results = patient.page.evaluate(SPEAK_IN_A_ROW, [SENTENCE, language, UTTERANCES, END_TIMEOUT_MS])
    ended = [r["end"] for r in results if r["end"] is not None]
    assert len(ended) == UTTERANCES, f"ended {len(ended)} of {UTTERANCES}: {results}\n{speech.log()}"
    record_property("ms_to_end_median", round(statistics.median(ended)))
    record_property("ms_to_end_max", round(max(ended)))
    print(
        f"\n{UTTERANCES} sentences ({language}): to `end` median {statistics.median(ended):.0f} ms, "
        f"longest {max(ended):.0f} ms"
    )


def check_speech(env: dict[str, str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "check-speech", *args]
    env = {**env, "KIOSK_INSTANCE_PATH": str(tmp_path / "instance")}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_speech_finds_the_chain_working(speech, tmp_path):
    done = check_speech(speech.env(), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PROBLEM" not in done.stdout
    assert "OK: English (en):" in done.stdout
    assert "OK: Español (es):" in done.stdout
    assert "A sentence in English was spoken to its end" in done.stdout
    assert "A sentence in Español was spoken to its end" in done.stdout


def test_with_the_default_sound_output_and_no_sound_server_speech_gets_stuck(playwright, tmp_path):
    """Why the chain above has a sound output of its own: speech-dispatcher's
    default plays through PulseAudio; without it, the first sentence starts
    and never ends, in Chromium and in spd-say, and check-speech says so."""
    require_speech()
    with speech_dispatcher(tmp_path / "for-chromium", output=DEFAULT_OUTPUT) as stuck:
        browser = launch_speaking_chromium(playwright, stuck.env())
        try:
            page = browser.new_page()
            page.set_content('<html lang="en"><body>Kiosk</body></html>')
            results = page.evaluate(SPEAK_IN_A_ROW, [SENTENCE, "en", 2, 3000])
        finally:
            browser.close()
        assert results[0]["start"] is not None, "the first sentence did not even start"
        assert results[0]["end"] is None
        assert "server audio not set up" in stuck.log()

    with speech_dispatcher(tmp_path / "for-check", output=DEFAULT_OUTPUT) as stuck:
        done = check_speech(stuck.env(), tmp_path, "--wait", "2")
    assert done.returncode == 1
    assert (
        "PROBLEM: speech-dispatcher started a sentence in English and did not finish it within 2 s"
        in done.stdout
    )


# The voice each language is read with through espeak-ng 1.51 (None: no voice,
# the button stays hidden). Chinese, in either script, in Mandarin (espeak-ng's
# "cmn": static/js/speech.js says why the Pinyin one).
ESPEAK_VOICE = {
    "en": "English (America) espeak-ng",
    "es": "Spanish (Latin America) espeak-ng",
    "zh-Hans": "Chinese (Mandarin, latin as Pinyin) espeak-ng",
    "zh-Hant": "Chinese (Mandarin, latin as Pinyin) espeak-ng",
    "vi": "Vietnamese (Northern) espeak-ng",
    "ko": "Korean espeak-ng",
    "tl": None,
    "ru": "Russian espeak-ng",
    "ar": "Arabic espeak-ng",
    "ht": "Haitian Creole espeak-ng",
}


def test_each_of_the_ten_languages_is_read_by_its_espeak_ng_voice_but_tagalog(
    open_kiosk, speech, record_property
):
    tags = list(languages.NAMES)
    quoted = {tag: f'"{tag}"' for tag in tags}
    drafts = [quoted[tag] for tag in tags if tag not in languages.DEFAULT]
    kiosk, patient = open_kiosk(walk_up=False)
    write(kiosk.app, f"languages = [{', '.join(quoted.values())}]\ndraft_languages = [{', '.join(drafts)}]\n")
    assert kiosk.app.extensions["kiosk.content"].error is None
    page = patient.page
    page.add_init_script(script=WATCH_SPEECH)
    patient.walks_up()
    button = page.locator("#read-aloud")
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "true")
    read_with = {}
    for tag in [*tags[1:], tags[0]]:
        page.locator(".language-menu > summary").tap()
        page.locator(f'.language-settings button[value="{tag}"]').tap()
        expect(page.locator("html")).to_have_attribute("lang", tag)
        if ESPEAK_VOICE[tag] is None:
            page.evaluate(VOICES, END_TIMEOUT_MS)
            expect(button).to_be_hidden()
            read_with[tag] = None
            continue
        expect(button).to_be_visible()
        said = expect_all_ended(page, speech, at_least=2)
        assert {s["lang"] for s in said} == {tag}
        read_with[tag] = (
            sorted({s["voice"] for s in said})[0] if len({s["voice"] for s in said}) == 1 else said
        )
    record_property("voices", read_with)
    assert read_with == ESPEAK_VOICE
