"""The whole visit and the handout in Spanish, in plain words.

The catalog (kiosk/translations/es) must cover every patient-facing string,
keep every placeholder, and read plainly: English at Flesch-Kincaid grade 6
or below, Spanish at Fernández-Huerta 70 or above (textstat). The language
can change on any step without losing what was tapped, and the handout
follows the visit's language.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
import textstat
from babel.messages.frontend import CommandLineInterface
from pypdf import PdfReader
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.handout import handout_pdf
from kiosk.models import Handout, Visit

from .conftest import run_worker
from .support.catalogs import SPANISH, TRANSLATIONS, msgids, read_catalog
from .support.handout import structure_types

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")

MAX_GRADE = 6.0
MIN_FERNANDEZ_HUERTA = 70.0
# One string is measured on its own from this many words: fewer is a label
# ("Neck", "Next"), which no readability formula can score.
SENTENCE_WORDS = 6


def as_sentence(text: str) -> str:
    text = " ".join(text.replace("%(length)s", "12").replace("%(limit)s", "300").split())
    return text if text[-1] in ".?!" else text.rstrip(":") + "."


def test_the_catalog_template_lists_every_string_the_code_marks(tmp_path):
    """A string added or changed in the code without `kiosk translate update`
    would show in English to a Spanish-speaking patient."""
    fresh = tmp_path / "messages.pot"
    project = TRANSLATIONS.parent.parent
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(project / "babel.cfg"),
            "-k",
            "N_",
            "-o",
            str(fresh),
            str(project),
        ]
    )
    assert {m.id for m in read_catalog(fresh) if m.id} == set(msgids())


def test_every_patient_facing_string_has_a_spanish_translation():
    spanish = read_catalog(SPANISH)
    missing = [msgid for msgid in msgids() if not (spanish.get(msgid) and spanish.get(msgid).string)]
    fuzzy = [m.id for m in spanish if m.id and m.fuzzy]
    assert missing == []
    assert fuzzy == [], "fuzzy entries are not used: check them and drop the flag"


def test_no_translation_drops_or_adds_a_placeholder():
    wrong = [
        (m.id, m.string)
        for m in read_catalog(SPANISH)
        if m.id and m.string and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))
    ]
    assert wrong == []


def test_english_reads_at_grade_6_or_below():
    texts = msgids()
    textstat.set_lang("en")  # as tests/test_readability.py measures the handout
    whole = textstat.flesch_kincaid_grade(" ".join(as_sentence(t) for t in texts))
    hard = [
        (round(textstat.flesch_kincaid_grade(as_sentence(t)), 1), t)
        for t in texts
        if len(t.split()) >= SENTENCE_WORDS and textstat.flesch_kincaid_grade(as_sentence(t)) > MAX_GRADE
    ]
    assert whole <= MAX_GRADE
    assert hard == []


def test_spanish_reads_at_fernandez_huerta_70_or_above():
    texts = [m.string for m in read_catalog(SPANISH) if m.id and m.string]
    textstat.set_lang("es")
    try:
        whole = textstat.fernandez_huerta(" ".join(as_sentence(t) for t in texts))
        hard = [
            (round(textstat.fernandez_huerta(as_sentence(t)), 1), t)
            for t in texts
            if len(t.split()) >= SENTENCE_WORDS
            and textstat.fernandez_huerta(as_sentence(t)) < MIN_FERNANDEZ_HUERTA
        ]
    finally:
        textstat.set_lang("en")
    assert whole >= MIN_FERNANDEZ_HUERTA
    assert hard == []


# --- the language, chosen and changed -------------------------------------------------------------


def test_welcome_offers_spanish(client):
    page = client.get("/").get_data(as_text=True)
    assert 'lang="es"' in page and "Español" in page


def test_switching_language_on_a_step_keeps_what_was_saved_and_what_was_tapped(app, kiosk):
    kiosk.start()
    kiosk.answer("safety")
    kiosk.get("/visit/situation")
    # kiosk.js sends the step's fields along with the language button.
    response = kiosk.post(
        "/preferences",
        {"lang": "es", "next": "/visit/situation", "draft_step": "situation", "spine_region": "neck"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/visit/situation"
    page = kiosk.get("/visit/situation").get_data(as_text=True)
    assert '<html lang="es"' in page
    assert re.search(r'value="neck" checked', page), "the tap not yet saved is still there"
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        assert visit.language == "es"
        assert visit.answers["warning_signs"] == ["none"], "saved answers stay"
    page = kiosk.get("/visit/situation").get_data(as_text=True)
    assert not re.search(r'value="neck" checked', page), "shown once, then the saved answers rule"


def test_the_handout_follows_the_visit_in_spanish(app, kiosk):
    kiosk.start()
    kiosk.post("/preferences", {"lang": "es", "next": "/visit/safety"})
    for step in ("safety", "situation", "reasons", "records", "questions"):
        assert kiosk.answer(step).status_code == 303
    kiosk.finish()
    run_worker(app)
    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert handout.language == "es"
        reader = PdfReader(io.BytesIO(handout.pdf))
    assert reader.trailer["/Root"]["/Lang"] == "es"
    assert "/StructTreeRoot" in reader.trailer["/Root"], "tagged like the English one"
    assert len(reader.pages) == 2


def test_the_spanish_handout_is_tagged_and_dated_in_spanish(app, sample_answers):
    with app.app_context():
        pdf, pages = handout_pdf(
            sample_answers,
            language="es",
            claim_code="K7P2",
            created_at=datetime(2026, 11, 28, 15, tzinfo=UTC),
        )
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text().replace("\xa0", " ") for page in reader.pages)
    assert pages == 2
    assert "noviembre de 2026" in text
    assert "segunda opinión" in text.lower()
    types = structure_types(reader.trailer["/Root"]["/StructTreeRoot"]["/K"][0])
    assert types[0] == "/Document" and types.count("/H1") == 1 and "/Table" in types


@pytest.mark.parametrize("answers_changed", [{}, {"warning_signs": ["fever"]}])
def test_a_spanish_handout_has_no_english_sentence(app, sample_answers, answers_changed):
    english = {t for t in msgids() if len(t.split()) >= 3}
    spanish = {m.id: m.string for m in read_catalog(SPANISH) if m.id}
    with app.app_context():
        pdf, _ = handout_pdf(
            {**sample_answers, **answers_changed},
            language="es",
            claim_code="K7P2",
            created_at=datetime(2026, 11, 28, 15, tzinfo=UTC),
        )
    text = " ".join(
        " ".join(p.extract_text().replace("\xa0", " ").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )
    shown = [t for t in english if t in text and spanish.get(t) != t]
    assert shown == []
