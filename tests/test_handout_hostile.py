"""Whatever a patient types, the handout still renders, as text, inside the page.

Validation caps free text at 300 characters, but the renderer must not rely on
it: these go straight to the handout, past validation.
"""

from __future__ import annotations

import io
import logging
import string

import pytest
from pypdf import PdfReader

from kiosk.cli import SAMPLE_ANSWERS
from kiosk.handout import PDF_OPTIONS, _laid_out
from tests.support.handout import boxes_outside_the_page, html_for, pdf_text

HOSTILE = {
    "html": '<h1>Big</h1><img src="x" onerror="alert(1)"><a href="http://127.0.0.1:9/">click</a>',
    "css": '</span><style>html { font-size: 90pt } @page { size: 2in }</style><b style="font-size:80pt">x</b>',
    "2000 characters": ("Why does my back still hurt when I sit down for a long time at work? " * 30)[:2000],
    "no break points": "A" * 400,
    "long url": "https://example.org/" + "very-long-path/" * 40,
    "emoji": "Will it hurt? 😟🦴💊 I am scared 😱 " * 8,
    "right to left": "هل سأحتاج إلى جراحة أخرى بعد هذه العملية؟ האם אצטרך ניתוח נוסף אחרי זה? And in English too.",
    "control characters": "line one\nline two\r\n\ttabbed\u200b\u202eoverride\u0000end",
}


def with_everywhere(text: str) -> dict:
    """The text in every free-text field, one of them starred, one not."""
    return {
        **SAMPLE_ANSWERS,
        "reasons": ["risks", "other"],
        "reasons_other": text,
        "own_question_1": text,
        "own_question_2": text,
        "top_questions": ["own_question_1", "q_options_all"],
    }


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_renders_inside_the_page(handout_app, fetched_urls, caplog, name):
    fetched = fetched_urls
    html = html_for(handout_app, with_everywhere(HOSTILE[name]), "letter")
    assert "<style>" not in html and "<h1>Big" not in html and 'onerror="' not in html

    with handout_app.app_context(), caplog.at_level(logging.DEBUG):
        document = _laid_out(html)
        pdf = document.write_pdf(**PDF_OPTIONS)
    assert pdf.startswith(b"%PDF")
    assert boxes_outside_the_page(document) == []
    reader = PdfReader(io.BytesIO(pdf))
    assert 2 <= len(reader.pages) <= 8
    for page in reader.pages:
        assert [round(float(x)) for x in page.mediabox[2:]] == [612, 792]
    assert all(url.startswith("file://") and "/static/" in url for url in fetched), fetched
    text = pdf_text(pdf)
    assert "My questions" in text and "If the two doctors do not agree" in text
    # Logs never hold answers: no character of the patient's text beyond plain ASCII shows up there.
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert not (set(HOSTILE[name]) - set(string.printable)) & set(logged), "patient text in the log"
    shown = {"html": "<h1>Big</h1>", "css": "<style>html{font-size:90pt}"}
    if name in shown:
        assert shown[name] in text.replace(" ", "")
