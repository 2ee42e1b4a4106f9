"""An Arabic-speaking patient at the touchscreen, in a real browser: the
screen is mirrored (Back on the right, Next on the left, the progress filling
from the right, check boxes and stars on the reading side), what they typed
and the claim code read in their own order, nothing scrolls sideways; and an
English screen is laid out as before.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from kiosk import questionnaire as qn

from .support.browser import LANDSCAPE, PORTRAIT, Patient, screen_problems
from .support.keypad import open_with_speech
from .support.right_to_left import ARABIC, arabic_settings

pytestmark = pytest.mark.browser

TYPED = "2 MRIs, Dr Lee."


def choose(patient: Patient, language: str) -> None:
    patient.page.locator(f'.language-settings button[value="{language}"]').tap()
    expect(patient.page.locator("html")).to_have_attribute("lang", language)


def at(patient: Patient, path: str) -> None:
    """On this screen (by its address: its heading may be in Arabic)."""
    expect(patient.page).to_have_url(re.compile(re.escape(patient.base_url + path) + "$"))


def start(patient: Patient) -> None:
    patient.page.locator("#start").tap()
    at(patient, "/visit/safety")


def tap_next(patient: Patient, path: str) -> None:
    patient.taps_next()
    at(patient, path)


def box(page: Page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def progress_fills_from(page: Page) -> str:
    """Which end of the progress bar is filled: "left" or "right" (read from
    its pixels: the bar's own parts cannot be measured from the page)."""
    image = Image.open(io.BytesIO(page.locator("progress").screenshot())).convert("RGB")
    width, height = image.size
    y = height // 2

    def darkness(x: int) -> int:
        return 765 - sum(image.getpixel((x, y)))

    left, right = darkness(3), darkness(width - 4)
    assert abs(left - right) > 100, "one end filled, the other not"
    return "left" if left > right else "right"


def text_order(page: Page, selector: str, first: str, second: str) -> bool:
    """Whether, inside the element, `first` is drawn left of `second` (Range rects)."""
    return page.locator(selector).first.evaluate(
        """(el, [first, second]) => {
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            const rect = (word) => {
                for (let node = walker.root; node; node = walker.nextNode()) {
                    const at = node.nodeType === 3 ? node.data.indexOf(word) : -1;
                    if (at >= 0) {
                        const range = document.createRange();
                        range.setStart(node, at);
                        range.setEnd(node, at + word.length);
                        return range.getBoundingClientRect();
                    }
                }
                throw new Error('not found: ' + word);
            };
            const a = rect(first);
            walker.currentNode = el;
            const b = rect(second);
            return a.right <= b.left + 0.5;
        }""",
        [first, second],
    )


def test_an_arabic_visit_is_mirrored_and_keeps_typed_text_in_order(open_kiosk, tmp_path):
    _, patient = open_kiosk(**arabic_settings(tmp_path))
    page = patient.page
    choose(patient, ARABIC)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    start(patient)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    patient.answers_safety()
    at(patient, "/visit/situation")

    # Back on the right, Next on the left; the progress fills from the right.
    back, next_ = box(page, "#screen .nav .back"), box(page, "#screen .nav .next")
    assert back["x"] >= next_["x"] + next_["width"], "Back sits right of Next"
    assert progress_fills_from(page) == "right"
    # A check box on the reading side: right of its words.
    tile = 'label.choice:has(input[name="spine_region"])'
    check, words = box(page, f"{tile} input"), box(page, f"{tile} span")
    assert check["x"] >= words["x"] + words["width"], "the box sits right of its label"

    patient.taps_choice("spine_region", "low_back")
    patient.taps_choice("first_recommendation", "fusion")
    patient.taps_choice("confidence", "2")
    tap_next(patient, "/visit/reasons")
    patient.taps_choice("reasons", "other")
    page.locator("#reasons_other").fill(TYPED)
    assert page.locator("#reasons_other").evaluate("el => getComputedStyle(el).direction") == "ltr"
    tap_next(patient, "/visit/records")
    patient.taps_choice("records_exist", "mri")
    patient.taps_choice("records_requested", "not_yet")
    patient.taps_choice("companion", "family")
    tap_next(patient, "/visit/questions")
    # The star beside its question, at the end of the row: left of it.
    item = 'li.bank-item:has(input[value="q_options_all"])'
    star, question = box(page, f"{item} label.star"), box(page, f"{item} label.choice")
    assert star["x"] + star["width"] <= question["x"], "the star sits left of its question"
    patient.taps_star("q_options_all")
    tap_next(patient, "/visit/review")

    # What was typed reads in its own order: "2" left of "MRIs", the stop last.
    typed = f'#screen dd bdi:text("{TYPED}")'
    expect(page.locator(typed)).to_have_count(1)
    assert page.locator(typed).evaluate("el => getComputedStyle(el).unicodeBidi") == "isolate"
    assert text_order(page, typed, "2", "MRIs")
    assert text_order(page, typed, "Lee", ".")

    tap_next(patient, "/visit/done")
    code = page.locator("#claim-code").inner_text().strip()
    assert page.locator("#claim-code").evaluate(
        "el => [getComputedStyle(el).direction, getComputedStyle(el).unicodeBidi]"
    ) == ["ltr", "isolate"]
    # Each letter of the code drawn right of the one before it (by position:
    # a code may repeat a letter).
    lefts = page.locator("#claim-code").evaluate(
        """el => {
            const node = document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode();
            const text = node.data;
            return [...text].map((_, at) => {
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + 1);
                return [text[at], range.getBoundingClientRect().left];
            }).filter(([letter]) => letter.trim());
        }"""
    )
    assert "".join(letter for letter, _ in lefts) == code.replace(" ", "")
    assert [left for _, left in lefts] == sorted(left for _, left in lefts), f"{code} reads left to right"


def test_the_idle_prompt_is_mirrored(open_kiosk, tmp_path):
    _, patient = open_kiosk(IDLE_SECONDS=2, IDLE_WARNING_SECONDS=30, **arabic_settings(tmp_path))
    page = patient.page
    choose(patient, ARABIC)
    start(patient)
    dialog = page.locator("#idle-dialog")
    expect(dialog).to_be_visible(timeout=15_000)
    stay, leave = box(page, "#idle-stay"), box(page, "#idle-leave")
    assert stay["x"] >= leave["x"] + leave["width"], "the first answer on the right"
    heading = box(page, "#idle-title")
    dialog_box = dialog.bounding_box()
    assert heading["x"] + heading["width"] == pytest.approx(dialog_box["x"] + dialog_box["width"] - 28, abs=3)


@pytest.mark.parametrize("screen", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
@pytest.mark.parametrize("size", [100, 150])
def test_arabic_screens_fit_and_never_scroll_sideways(open_kiosk, tmp_path, screen, size):
    _, patient = open_kiosk(screen=screen, **arabic_settings(tmp_path))
    page = patient.page
    choose(patient, ARABIC)
    if size != 100:
        page.locator(f'.display-settings button[name="text_size"][value="{size}"]').tap()
        expect(page.locator("html")).to_have_class(re.compile(rf"\btext-{size}\b"))
    problems = {"welcome": screen_problems(patient, patient.base_url, text_size=size)}
    start(patient)
    problems["safety"] = screen_problems(patient, patient.base_url, text_size=size)
    patient.answers_safety()
    at(patient, "/visit/situation")
    problems["situation"] = screen_problems(patient, patient.base_url, text_size=size)
    for path in ("/visit/questions", "/visit/review"):
        page.goto(patient.base_url + path)
        problems[path] = screen_problems(patient, patient.base_url, text_size=size)
    assert {name: found for name, found in problems.items() if found} == {}


def test_an_english_screen_is_laid_out_as_before(open_kiosk, tmp_path):
    _, patient = open_kiosk(**arabic_settings(tmp_path))
    page = patient.page
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    back, next_ = box(page, "#screen .nav .back"), box(page, "#screen .nav .next")
    assert back["x"] + back["width"] <= next_["x"], "Back sits left of Next"
    assert progress_fills_from(page) == "left"
    tile = 'label.choice:has(input[name="spine_region"])'
    check, words = box(page, f"{tile} input"), box(page, f"{tile} span")
    assert check["x"] + check["width"] <= words["x"], "the box sits left of its label"
    main = box(page, "#screen h1")
    assert main["x"] == pytest.approx((1080 - 46 * 22) / 2 + 24, abs=2), "the heading where it was"


@pytest.mark.parametrize(("language", "forward"), [(ARABIC, "ArrowLeft"), ("en", "ArrowRight")])
def test_audio_modes_side_arrows_point_the_way_the_language_reads(open_kiosk, tmp_path, language, forward):
    """On a keypad the arrow that points the way the page reads goes on to the
    next question: left in Arabic, right in English."""
    kiosk, patient = open_with_speech(open_kiosk, **arabic_settings(tmp_path))
    page = patient.page
    page.goto(kiosk.url + "/")
    if language != "en":
        choose(patient, language)
    start(patient)
    patient.answers_safety()
    at(patient, "/visit/situation")
    page.keyboard.press("ArrowDown")  # audio mode starts, on the first question's first answer
    expect(page.locator("body")).to_have_attribute("data-audio", "on")
    page.wait_for_function("document.activeElement.name === 'spine_region'")
    page.keyboard.press(forward)
    page.wait_for_function("document.activeElement.name === 'first_recommendation'")
    backward = {"ArrowLeft": "ArrowRight", "ArrowRight": "ArrowLeft"}[forward]
    page.keyboard.press(backward)
    page.wait_for_function("document.activeElement.name === 'spine_region'")
