"""A Spanish-speaking patient at the touchscreen, in a real browser.

The whole visit in Spanish, every screen checked: the page says it is
Spanish, no English sentence from the catalog shows, axe-core finds nothing,
targets and text are as large as in English, nothing scrolls sideways (Spanish
runs longer); and switching language midway loses nothing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kiosk import questionnaire as qn

from .support.browser import (
    FAKE_SPEECH,
    LANDSCAPE,
    PORTRAIT,
    Patient,
    expect_soon,
    screen_problems,
    set_display,
    violations,
)
from .support.catalogs import SPANISH, msgids, read_catalog

pytestmark = pytest.mark.browser


def english_sentences_shown(page: Page) -> list[str]:
    """Catalog sentences (three words or more) shown in English, where the
    Spanish differs: a string the Spanish screen forgot to translate."""
    spanish = {m.id: m.string for m in read_catalog(SPANISH) if m.id}
    shown = " ".join(page.locator("body").inner_text().split())
    return sorted(t for t in msgids() if len(t.split()) >= 3 and spanish.get(t) != t and t in shown)


def choose_spanish(patient: Patient) -> None:
    patient.page.locator('.language-settings button[value="es"]').tap()
    expect(patient.page.locator("html")).to_have_attribute("lang", "es")


def tap(page: Page, name: str, value: str) -> None:
    page.locator(f'label.choice:has(input[name="{name}"][value="{value}"])').tap()
    expect(page.locator(f'input[name="{name}"][value="{value}"]')).to_be_checked()


def walk_in_spanish(patient: Patient, check) -> None:
    page = patient.page
    check("bienvenida")
    page.locator("#start").tap()
    expect(page).to_have_url(re.compile(r"/visit/safety$"))
    check("chequeo de seguridad")
    tap(page, "warning_signs", "fever")
    page.locator(f'button[name="warning_signs"][value="{qn.NO_SIGNS.id}"]').tap()
    expect(page.locator(".field-error")).to_be_visible()
    check("chequeo de seguridad, con un error")
    page.locator(f'button[name="warning_signs"][value="{qn.SOME_SIGNS.id}"]').tap()
    expect(page).to_have_url(re.compile(r"/visit/urgent$"))
    check("urgente")
    page.locator("#screen a.next").tap()
    expect(page).to_have_url(re.compile(r"/visit/situation$"))
    page.locator("button.next").tap()
    expect(page.locator(".field-error").first).to_be_visible()
    check("situación, con errores")
    tap(page, "spine_region", "low_back")
    tap(page, "first_recommendation", "fusion")
    tap(page, "confidence", "2")
    page.locator("button.next").tap()
    expect(page).to_have_url(re.compile(r"/visit/reasons$"))
    tap(page, "reasons", "other")
    page.locator("#reasons_other").fill("Quiero saber más. " * 20)
    page.locator("button.next").tap()
    expect(page.locator("#reasons_other-error")).to_be_visible()
    check("razones, con un texto largo")
    page.locator("#reasons_other").fill("Quiero saber más.")
    page.locator("button.next").tap()
    expect(page).to_have_url(re.compile(r"/visit/records$"))
    check("antes de la visita")
    tap(page, "records_exist", "mri")
    tap(page, "records_requested", "not_yet")
    tap(page, "companion", "family")
    page.locator("button.next").tap()
    expect(page).to_have_url(re.compile(r"/visit/questions$"))
    check("preguntas")
    page.locator('label.star:has(input[value="q_options_all"])').tap()
    page.locator("button.next").tap()
    expect(page).to_have_url(re.compile(r"/visit/review$"))
    check("revisar")
    page.locator("button.next").tap()
    expect(page).to_have_url(re.compile(r"/visit/done$"))
    check("listo")


@pytest.mark.parametrize(
    "screen, size",
    [(PORTRAIT, 100), (PORTRAIT, 150), (LANDSCAPE, 150)],
    ids=["portrait", "portrait-150", "landscape-150"],
)
def test_every_screen_in_spanish(open_kiosk, screen, size):
    kiosk, patient = open_kiosk(screen=screen)
    choose_spanish(patient)
    if size != 100:
        set_display(patient.page, size=size)
    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page = patient.page
        found = []
        if page.locator("html").get_attribute("lang") != "es":
            found.append("the page does not say it is Spanish")
        found += [f"English: {t}" for t in english_sentences_shown(page)]
        found += screen_problems(patient, kiosk.url, text_size=size)
        if found:
            problems[name] = found

    walk_in_spanish(patient, check)
    assert problems == {}
    patient.expect_no_blocked_or_broken_scripts()


def test_switching_language_midway_loses_nothing(open_kiosk):
    kiosk, patient = open_kiosk()
    page = patient.page
    patient.taps_start()
    patient.answers_safety()
    patient.expect_step(qn.SITUATION)
    patient.taps_choice("spine_region", "neck")
    patient.taps_choice("first_recommendation", "injections")
    choose_spanish(patient)
    expect(page).to_have_url(re.compile(r"/visit/situation$"))
    expect(page.locator('input[name="spine_region"][value="neck"]')).to_be_checked()
    expect(page.locator('input[name="first_recommendation"][value="injections"]')).to_be_checked()
    assert english_sentences_shown(page) == []
    tap(page, "confidence", "3")
    page.locator("button.next").tap()
    expect(page).to_have_url(re.compile(r"/visit/reasons$"))
    page.locator('.language-settings button[value="en"]').tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    patient.expect_step(qn.REASONS)
    page.goto(kiosk.url + "/visit/situation")
    expect(page.locator('input[name="confidence"][value="3"]')).to_be_checked()
    expect(page.locator('input[name="spine_region"][value="neck"]')).to_be_checked()


def test_read_to_me_speaks_spanish_in_a_spanish_visit(open_kiosk):
    kiosk, patient = open_kiosk(walk_up=False)
    patient.page.add_init_script(FAKE_SPEECH.replace('lang: "en-US"', 'lang: "es-US"'))
    patient.walks_up()
    choose_spanish(patient)
    page = patient.page
    page.locator("#read-aloud").tap()
    expect(page.locator("#read-aloud")).to_have_attribute("aria-pressed", "true")
    page.locator("#start").tap()
    expect(page).to_have_url(re.compile(r"/visit/safety$"))
    title = {m.id: m.string for m in read_catalog(SPANISH)}[qn.SAFETY.title]
    expect(page.locator("#screen h1")).to_have_text(title)

    def said() -> list[dict]:
        return [item for item in page.evaluate("window.__spoken") if "text" in item]

    expect_soon(lambda: any(item["text"] == title for item in said()), "the Spanish title was not read")
    assert all(item["lang"].startswith("es") for item in said())


def test_the_idle_prompt_and_an_error_page_in_spanish(open_kiosk):
    kiosk, patient = open_kiosk(IDLE_SECONDS=1, IDLE_WARNING_SECONDS=30)
    page = patient.page
    choose_spanish(patient)
    page.goto(kiosk.url + "/visit/nowhere")
    expect(page.locator("#screen .notice")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "es"
    assert english_sentences_shown(page) == []
    assert violations(page, kiosk.url) == []
    page.goto(kiosk.url + "/")
    page.locator("#start").tap()
    expect(page.locator("#idle-dialog")).to_be_visible(timeout=5_000)
    assert english_sentences_shown(page) == []
    assert violations(page, kiosk.url) == []
