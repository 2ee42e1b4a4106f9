"""The handout on paper: page counts, page furniture, and room for a pen.

Measured on WeasyPrint's laid-out document (boxes in CSS px, 96 to the inch)
and on the PDF itself.
"""

from __future__ import annotations

import io
from collections import defaultdict

import pytest
from pypdf import PdfReader
from weasyprint.formatting_structure import boxes

from kiosk import create_app
from kiosk.cli import SAMPLE_ANSWERS
from kiosk.handout import SHORT_OWN_QUESTION, _laid_out, _pdf_from_html
from tests.conftest import app_config
from tests.support.handout import boxes_outside_the_page, descendants, html_for, long_visit, pdf_text

MM = 96 / 25.4
"""CSS px in a millimetre."""
PAGE_POINTS = {"letter": (612, 792), "a4": (595, 842)}


def lay_out(app, answers, paper):
    with app.app_context():
        return _laid_out(html_for(app, answers, paper))


def classes(box) -> list[str]:
    return (box.element.get("class") or "").split() if box.element is not None else []


def pages_holding_each_question(document) -> dict[int, set[int]]:
    pages = defaultdict(set)
    for number, page in enumerate(document.pages, 1):
        for box in descendants(page._page_box):
            if box.element_tag == "li" and "question" in classes(box):
                pages[id(box.element)].add(number)
    return pages


NOT_SURE_OF_RECORDS = {
    **SAMPLE_ANSWERS,
    # Not sure which records exist: the handout lists all seven kinds.
    "records_exist": ["unsure"],
    # Three starred questions and two more picked (as in the sample), and two of their own.
    "own_question_1": (
        "My job has me lifting boxes all day. How soon after the surgery could I go back to work, "
        "and for how many hours?"
    ),
    "own_question_2": (
        "My mother had back surgery and she still has pain ten years later. Could that happen to me "
        "too, and why?"
    ),
}
"""A typical visit that used to run onto a third page."""


@pytest.mark.parametrize("paper", ["letter", "a4"])
@pytest.mark.parametrize("visit", ["sample", "not sure of records"])
def test_a_typical_visit_fits_on_two_pages(handout_app, paper, visit):
    answers = SAMPLE_ANSWERS if visit == "sample" else NOT_SURE_OF_RECORDS
    if visit != "sample":
        assert len(answers["top_questions"]) == 3 and len(answers["questions"]) == 5
        assert all(len(answers[q]) >= 100 for q in ("own_question_1", "own_question_2"))
    with handout_app.app_context():
        pdf, pages = _pdf_from_html(html_for(handout_app, answers, paper))
    reader = PdfReader(io.BytesIO(pdf))
    assert pages == len(reader.pages) == 2
    for page in reader.pages:
        width, height = (round(float(x)) for x in page.mediabox[2:])
        assert (width, height) == PAGE_POINTS[paper]


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_a_long_visit_overflows_cleanly_onto_more_pages(handout_app, sample_answers, paper):
    answers = long_visit(sample_answers)
    document = lay_out(handout_app, answers, paper)
    pages = len(document.pages)
    assert pages > 2
    questions = pages_holding_each_question(document)
    assert len(questions) == len(answers["questions"]) + 2
    assert all(len(held) == 1 for held in questions.values()), "a question was split across pages"
    assert boxes_outside_the_page(document) == []
    with handout_app.app_context():
        text = pdf_text(_pdf_from_html(html_for(handout_app, answers, paper))[0])
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in text


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_the_typical_handout_stays_inside_the_page(handout_app, paper):
    assert boxes_outside_the_page(lay_out(handout_app, SAMPLE_ANSWERS, paper)) == []


def test_checkboxes_and_write_in_lines_are_sized_for_a_pen(handout_app):
    document = lay_out(handout_app, SAMPLE_ANSWERS, "a4")
    all_boxes = [box for page in document.pages for box in descendants(page._page_box)]
    checkboxes = [box for box in all_boxes if "box" in classes(box)]
    assert checkboxes
    assert all(
        box.border_width() >= 5 * MM - 0.01 and box.border_height() >= 5 * MM - 0.01 for box in checkboxes
    )

    answer_blocks = [box for box in all_boxes if "answer-lines" in classes(box)]
    assert len(answer_blocks) == len(SAMPLE_ANSWERS["questions"])
    for block in answer_blocks:
        lines = [child.border_box_y() + child.border_height() for child in block.children]
        assert len(lines) >= 2
        gaps = [below - above for above, below in zip(lines, lines[1:], strict=False)]
        assert all(gap >= 9 * MM - 0.01 for gap in gaps), gaps
        assert lines[0] - block.border_box_y() >= 8 * MM - 0.01

    [dates] = [box for box in all_boxes if "dates" in classes(box) and isinstance(box, boxes.BlockBox)]
    date_blanks = [box for box in descendants(dates) if "blank" in classes(box)]
    assert len(date_blanks) == 2
    assert all(blank.border_width() >= 40 * MM - 0.01 for blank in date_blanks)
    # Room to write a date above the line.
    assert all(blank.border_height() >= 8 * MM - 0.01 for blank in date_blanks)

    worksheet_cells = [
        box for box in all_boxes if isinstance(box, boxes.TableCellBox) and box.element_tag == "td"
    ]
    assert len(worksheet_cells) == 4
    assert all(cell.border_height() >= 15 * MM - 0.01 for cell in worksheet_cells)


def test_the_footer_stays_on_one_line_for_the_page_number_even_with_a_long_clinic_name(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        app_config(
            tmp_path,
            CLINIC_NAME="St. Bartholomew's Regional Spine, Neck and Back Surgery Center",
            CLINIC_PHONE="(555) 010-4477",
        )
    )
    document = lay_out(app, SAMPLE_ANSWERS, "letter")
    assert boxes_outside_the_page(document) == []
    with app.app_context():
        text = pdf_text(_pdf_from_html(html_for(app, SAMPLE_ANSWERS, "letter"))[0])
    assert text.count("Page 1 of 2") == 1 and text.count("Page 2 of 2") == 1
    assert "Code K7P2" in text and "(555) 010-4477" in text
    for page in document.pages:
        footer = [box for box in descendants(page._page_box) if isinstance(box, boxes.MarginBox)]
        assert footer
        # The running footer sits in the bottom margin, below all of the content.
        content = page._page_box.children[0]
        assert all(
            box.border_box_y() >= content.border_box_y() + content.border_height() - 0.5
            for box in footer
            if box.children
        )


def test_a_short_question_of_their_own_sits_two_to_a_row_a_long_one_across_the_page(handout_app):
    short = "Can I keep working at the bakery?"
    long = "Why does my back still hurt when I sit down for a long time at work, and will it stop? " * 2
    assert len(long) > SHORT_OWN_QUESTION >= len(short)
    document = lay_out(handout_app, {**SAMPLE_ANSWERS, "own_question_1": long, "own_question_2": short}, "a4")
    widths = {}  # by the question's text, in reading order
    for page in document.pages:
        content_width = page._page_box.children[0].width
        for box in descendants(page._page_box):
            if box.element_tag == "li" and "question" in classes(box):
                widths["".join(box.element.itertext())] = box.border_width() / content_width
    [(short_at, short_width)] = [(i, w) for i, (text, w) in enumerate(widths.items()) if short in text]
    [(long_at, long_width)] = [(i, w) for i, (text, w) in enumerate(widths.items()) if long.strip() in text]
    assert short_width < 0.5 < 0.95 < long_width
    # The short one joins the ready-made ones; the long one comes last.
    assert short_at == len(SAMPLE_ANSWERS["questions"]) < long_at
