"""The records-request letter: an optional last page, chosen on the records
step, that the patient fills in by hand, signs and gives to the first office."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.handout import handout_pdf
from kiosk.models import Handout

from .conftest import SAMPLE_ANSWERS, run_worker
from .support.content import write
from .support.handout import VISIT_DATE


def pages(pdf: bytes) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def render(app, answers, **kwargs) -> bytes:
    with app.app_context():
        pdf, _ = handout_pdf(answers, language="en", claim_code="K7P2", created_at=VISIT_DATE, **kwargs)
    return pdf


def test_the_records_step_offers_the_letter_and_keeps_the_answer(app, kiosk):
    kiosk.start()
    for step in ("safety", "situation", "reasons"):
        kiosk.answer(step)
    page = kiosk.get("/visit/records").get_data(as_text=True)
    assert "Would you like a letter that asks the first office to send your records?" in page
    assert kiosk.answer("records", {"records_letter": "yes"}).status_code == 303
    kiosk.answer("questions")
    kiosk.finish()
    run_worker(app)
    with app.app_context():
        handout = db.session.scalar(select(Handout))
        last = pages(handout.pdf)[-1]
    assert "Please send my records" in last and "MRI scan" in last


def test_the_letter_is_the_last_page_only_when_asked_for(app):
    without = pages(render(app, SAMPLE_ANSWERS))
    with_letter = pages(render(app, {**SAMPLE_ANSWERS, "records_letter": "yes"}))
    assert len(with_letter) == len(without) + 1
    assert not any("Please send my records" in page for page in without)
    letter = with_letter[-1]
    assert "Please send my records" in letter and "Please send my records" not in with_letter[-2]
    # What the patient ticked, and blanks for everything that would identify them.
    for text in ("MRI scan", "X-rays", "Notes from the doctor's visits", "My name:", "Date of birth:"):
        assert text in letter
    for text in ("New doctor:", "Fax:", "My signature:", "To the office of:"):
        assert text in letter
    assert "CT scan" not in letter


def test_not_sure_which_records_lists_every_kind(app):
    letter = pages(render(app, {**SAMPLE_ANSWERS, "records_exist": ["unsure"], "records_letter": "yes"}))[-1]
    for text in ("MRI scan", "CT scan", "X-rays", "Nerve tests, like an EMG", "A list of my medicines"):
        assert text in letter
    assert "I am not sure" not in letter


def test_the_clinics_records_fax_and_address_are_filled_in(app):
    write(
        app,
        '[clinic]\nname = "Riverside Spine Center"\nrecords_fax = "(555) 010-2001"\n'
        'records_address = "12 River Road"\n',
    )
    letter = pages(render(app, {**SAMPLE_ANSWERS, "records_letter": "yes"}))[-1]
    assert "Please send them to: Riverside Spine Center. Fax: (555) 010-2001. 12 River Road" in letter


def test_the_letter_alone_is_one_tagged_page(app):
    pdf = render(app, {**SAMPLE_ANSWERS, "records_letter": "yes"}, letter_only=True)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert "Please send my records" in pages(pdf)[0] and "My questions" not in pages(pdf)[0]
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"] and root["/Lang"] == "en"
    assert reader.metadata.title == "Please send my records"


def test_the_spanish_letter_is_in_spanish(app):
    with app.app_context():
        pdf, _ = handout_pdf(
            {**SAMPLE_ANSWERS, "records_letter": "yes"},
            language="es",
            claim_code="K7P2",
            created_at=VISIT_DATE,
            letter_only=True,
        )
    text = pages(pdf)[0]
    assert "Por favor, envíen mis expedientes médicos" in text and "Please" not in text
