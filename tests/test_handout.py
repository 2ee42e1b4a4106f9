"""The handout PDF: every section, the patient's choices, nothing fetched."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kiosk import handout
from kiosk import questionnaire as qn
from kiosk.clock import load_time_zone
from kiosk.extensions import db
from kiosk.handout import StaticFilesOnly, handout_html, handout_pdf
from kiosk.models import Handout

from .conftest import run_worker
from .support.handout import VISIT_DATE, html_for, pdf_text

SECTIONS = [
    "My plan for a second opinion",
    "Get help right away if you have:",
    "This is your right",
    "Before your visit",
    "What to tell the new doctor",
    "My questions",
    "Who is coming with me",
    "If the two doctors do not agree",
]


def render(app, answers, **kwargs):
    with app.app_context():
        pdf, pages = handout_pdf(answers, language="en", claim_code="K7P2", created_at=VISIT_DATE, **kwargs)
    return pdf, pages


def test_the_handout_has_every_section_in_order(app, sample_answers):
    pdf, _ = render(app, sample_answers)
    text = pdf_text(pdf)
    positions = [text.find(section) for section in SECTIONS]
    assert -1 not in positions, [s for s, p in zip(SECTIONS, positions, strict=True) if p == -1]
    assert positions == sorted(positions)


def test_the_handout_lists_the_chosen_questions_starred_first(app, sample_answers):
    answers = {
        **sample_answers,
        "questions": ["q_options_all", "q_costs_total", "q_wait_what"],
        "top_questions": ["q_wait_what"],
        "own_question_1": "Can I keep working at the bakery?",
    }
    text = pdf_text(render(app, answers)[0])
    first = text.find("What happens if I wait or do nothing for now?")
    assert first != -1
    assert first < text.find("What are all my choices") < text.find("What will this cost me?")
    assert "Can I keep working at the bakery?" in text
    assert "How long will it take to get better?" not in text


def test_the_handout_tells_the_new_doctor_the_patients_reasons(app, sample_answers):
    answers = {**sample_answers, "reasons": ["risks", "other"], "reasons_other": "My cousin had a bad time"}
    text = pdf_text(render(app, answers)[0])
    assert "I am worried about the risks." in text
    assert "My cousin had a bad time" in text
    assert "spinal fusion surgery for my low back" in text
    assert "I am a little sure about the plan." in text


def test_the_footer_has_clinic_date_code_and_page_numbers(app, sample_answers):
    pdf, pages = render(app, sample_answers)
    text = pdf_text(pdf)
    assert "Test Spine Clinic" in text
    assert "November 28, 2026" in text
    assert "Code K7P2" in text
    assert f"Page 1 of {pages}" in text


def test_the_records_checklist_has_date_blanks(app, sample_answers):
    text = pdf_text(render(app, sample_answers)[0])
    assert "Date I asked:" in text and "Date they got them:" in text
    for record in ("MRI scan", "X-rays", "Notes from the doctor's visits"):
        assert record in text
    assert "CT scan" not in text


@pytest.mark.parametrize("records", [["unsure"], []])
def test_not_sure_which_records_lists_every_kind(app, sample_answers, records):
    text = pdf_text(render(app, {**sample_answers, "records_exist": records})[0])
    kinds = [c.label for c in qn.BUILT_IN.question("records_exist").choices if c.id != "unsure"]
    assert len(kinds) == 7
    assert all(kind in text for kind in kinds)


@pytest.mark.parametrize(
    ("zone", "date"),
    [
        ("Asia/Tokyo", "November 29, 2026"),
        ("UTC", "November 28, 2026"),
        ("America/Chicago", "November 28, 2026"),
    ],
)
def test_the_handout_is_dated_in_the_clinics_time_zone(app, sample_answers, zone, date):
    app.config["CLINIC_TZ"] = load_time_zone(zone)
    late_evening_utc = datetime(2026, 11, 28, 23, 30)
    with app.app_context():
        html = handout_html(sample_answers, language="en", claim_code="K7P2", created_at=late_evening_utc)
    assert date in html.replace("\u00a0", " ")


@pytest.mark.parametrize(
    ("asked", "advice"),
    [
        ("yes", "You asked the first office to send your records to the new doctor."),
        ("some", "You asked the first office for some of your records. Ask them to send the rest"),
        ("not_yet", "Ask the first office to send these records to the new doctor."),
        ("unsure", "Ask the first office to send these records to the new doctor."),
        (None, "Ask the first office to send these records to the new doctor."),
    ],
)
def test_the_records_advice_follows_whether_they_were_asked_for(app, sample_answers, asked, advice):
    html = " ".join(html_for(app, {**sample_answers, "records_requested": asked}).split())
    assert advice in html
    assert html.count("the first office") == 1


def test_a_reported_red_flag_is_repeated_on_the_handout(app, sample_answers):
    # How a reported sign is stored is kiosk.visits' business; this is one way it is.
    reported = {**sample_answers, qn.BUILT_IN.signs_question.id: ["fever"]}
    assert qn.BUILT_IN.red_flags_reported(reported)
    text = pdf_text(render(app, reported)[0])
    assert "Today you told us about one of these signs" in text
    assert "Today you told us" not in pdf_text(render(app, sample_answers)[0])


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src="file:///etc/passwd">',
        '<img src="http://127.0.0.1:9/tracker.png">',
        '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
        "<style>@import url(file:///etc/passwd);</style>",
    ],
)
def test_patient_text_fetches_nothing_and_shows_as_text(app, sample_answers, fetched_urls, hostile):
    fetched = fetched_urls
    text = pdf_text(render(app, {**sample_answers, "own_question_1": hostile})[0])
    assert hostile.replace(" ", "") in text.replace(" ", "")
    assert "root:" not in text
    assert all(url.startswith("file://") and "/static/" in url for url in fetched), fetched


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.org/a.css", "data:text/css,body{}"],
)
def test_the_fetcher_refuses_anything_but_static_files(app, url):
    fetcher = StaticFilesOnly(app.static_folder)
    with pytest.raises(ValueError):
        fetcher.fetch(url)


def test_the_fetcher_refuses_a_path_that_climbs_out_of_static(app):
    fetcher = StaticFilesOnly(app.static_folder)
    with pytest.raises(ValueError):
        fetcher.fetch(f"file://{app.static_folder}/../kiosk/config.py")


def test_the_fetcher_serves_the_handout_stylesheet(app):
    fetcher = StaticFilesOnly(app.static_folder)
    response = fetcher.fetch(f"file://{app.static_folder}/css/handout.css")
    assert b"@page" in response.read()


def test_a_finished_visit_stores_a_handout_with_its_claim_code(app, kiosk):
    kiosk.answer_all({"top_questions": ["q_exp_count"], "questions": ["q_exp_count"]})
    kiosk.finish()
    run_worker(app)
    with app.app_context():
        made = db.session.scalar(select(Handout))
        text = pdf_text(made.pdf)
    assert f"Code {made.claim_code}" in text
    assert "How many of these do you do each year?" in text


def test_sample_handout_command_writes_a_pdf(runner, tmp_path):
    out = tmp_path / "sample.pdf"
    result = runner.invoke(args=["kiosk", "sample-handout", str(out), "--paper", "a4"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert "My questions" in pdf_text(out.read_bytes())


def test_the_patients_own_words_are_shown_as_theirs(app, sample_answers):
    answers = {
        **sample_answers,
        "reasons": ["other"],
        "reasons_other": "My cousin had a bad time",
        "own_question_1": "Can I keep working at the bakery?",
    }
    with app.app_context():
        html = handout.handout_html(answers, language="en", claim_code="K7P2", created_at=VISIT_DATE)
    own = re.findall(r'In my words: <span class="patient-words">“([^”]*)”</span>', html)
    assert own == ["My cousin had a bad time", "Can I keep working at the bakery?"]


def test_starred_questions_come_first_numbered_and_marked(app, sample_answers):
    text = pdf_text(render(app, sample_answers)[0])
    assert "1. Most important: What are all my choices, even ones with no surgery?" in text
    assert "3. Most important: How many of these do you do each year?" in text
    assert "4. How long will it take to get better?" in text
    assert "5. Most important" not in text


def page_size(pdf: bytes) -> list[int]:
    return [round(float(x)) for x in PdfReader(io.BytesIO(pdf)).pages[0].mediabox[2:]]


def test_the_paper_size_follows_the_setting_and_the_command_line(app, sample_answers):
    app.config["HANDOUT_PAPER"] = "A4"
    assert page_size(render(app, sample_answers)[0]) == [595, 842]
    assert page_size(render(app, sample_answers, paper="letter")[0]) == [612, 792]


def test_an_unknown_paper_size_is_refused(app, sample_answers):
    with pytest.raises(ValueError, match="paper"):
        render(app, sample_answers, paper="legal")


def test_the_app_can_say_which_font_subsetter_is_in_use(caplog):
    with caplog.at_level(logging.INFO, logger="kiosk.handout"):
        subsetter = handout.log_font_subsetter()
    assert subsetter in ("harfbuzz", "fonttools")
    [record] = [r for r in caplog.records if r.name == "kiosk.handout"]
    assert ("HarfBuzz" if subsetter == "harfbuzz" else "fontTools") in record.getMessage()
