"""The handout as a test reads it: made for a fixed visit date, its PDF's
text and structure, and its laid-out boxes."""

from __future__ import annotations

import io
import re
from datetime import datetime

from pypdf import PdfReader
from weasyprint.formatting_structure import boxes

from kiosk import questionnaire as qn
from kiosk.handout import handout_html

VISIT_DATE = datetime(2026, 11, 28, 15, 0)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text)


def html_for(app, answers, paper="letter"):
    """The handout HTML for these answers, on the fixed visit date."""
    with app.app_context():
        return handout_html(answers, language="en", claim_code="K7P2", created_at=VISIT_DATE, paper=paper)


def long_visit(sample_answers) -> dict:
    """Every question in the bank picked, two long questions of their own, every reason."""
    bank = [q.id for topic in qn.QUESTION_BANK for q in topic.questions]
    reasons = qn.BUILT_IN.question("reasons")
    return {
        **sample_answers,
        "reasons": [c.id for c in reasons.choices],
        "reasons_other": ("My brother had the same surgery and it did not help him at all. " * 5)[:300],
        "records_exist": ["unsure"],
        "questions": bank,
        "top_questions": bank[-3:],
        "own_question_1": ("Will I be able to lift my grandchildren and garden again after this? " * 5)[:300],
        "own_question_2": ("How long before I can drive my truck to work on the farm every day? " * 5)[:300],
        "advocate_help": "yes",
    }


def descendants(box):
    yield box
    for child in getattr(box, "children", ()):
        yield from descendants(child)


def boxes_outside_the_page(document) -> list[str]:
    """Every box, text included, that reaches beyond the edge of its page."""
    outside = []
    for number, page in enumerate(document.pages, 1):
        for box in descendants(page._page_box):
            if isinstance(box, boxes.PageBox) or box.width is None or box.height is None:
                continue
            left, top = box.border_box_x(), box.border_box_y()
            right, bottom = left + box.border_width(), top + box.border_height()
            if left < -0.5 or top < -0.5 or right > page.width + 0.5 or bottom > page.height + 0.5:
                text = getattr(box, "text", "") or box.element_tag or type(box).__name__
                outside.append(
                    f"page {number}: {text[:40]!r} at x {left:.0f}..{right:.0f} of {page.width:.0f}"
                )
    return outside


def structure_types(element, found=None) -> list[str]:
    found = [] if found is None else found
    element = element.get_object()
    if isinstance(element, dict) and "/S" in element:
        found.append(str(element["/S"]))
    kids = element.get("/K", []) if isinstance(element, dict) else []
    for kid in kids if isinstance(kids, list) else [kids]:
        if hasattr(kid, "get_object") and isinstance(kid.get_object(), dict):
            structure_types(kid, found)
    return found
