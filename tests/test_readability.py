"""The handout's own words are plain: Flesch-Kincaid grade 6 or below.

Measured with textstat on the text the handout adds, taken from the rendered
HTML block by block (each heading, paragraph, list item and table cell ends a
sentence, as it does for a reader). The patient's own words (class
"patient-words") are left out, and so is the footer, which is not text in the
HTML but attributes the stylesheet prints (clinic, date, code, page numbers).
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import textstat

from kiosk import questionnaire as qn
from kiosk.cli import SAMPLE_ANSWERS
from tests.support.handout import html_for

MAX_GRADE = 6.0
BLOCKS = {"title", "h1", "h2", "p", "li", "th", "td"}
PROSE = {"p", "li"}
LEFT_OUT = {"patient-words"}


class FixedText(HTMLParser):
    """Text blocks of the handout, as (tag, text), without the patient's words."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self._open: list[tuple[str, bool]] = []
        self._text: list[str] = []
        self._block = ""

    def _skipping(self) -> bool:
        return any(skip for _, skip in self._open)

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "link", "br", "img"):
            return
        skip = tag in ("title", "head") or bool(LEFT_OUT & set((dict(attrs).get("class") or "").split()))
        if tag in BLOCKS and not self._skipping():
            self._flush()
            self._block = tag
        self._open.append((tag, skip))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break
        if tag in BLOCKS and not self._skipping():
            self._flush()

    def handle_data(self, data):
        if not self._skipping():
            self._text.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        if text and self._block:
            self.blocks.append((self._block, text))
        self._text = []


def as_sentences(blocks: list[tuple[str, str]]) -> str:
    return " ".join(text if text[-1] in ".?!" else text.rstrip(":") + "." for _, text in blocks)


def fixed_text(app, answers) -> list[tuple[str, str]]:
    parser = FixedText()
    parser.feed(html_for(app, answers, "letter"))
    parser.close()
    return parser.blocks


# As little of the visit as possible, but every sentence the template can add:
# a red flag reported, no records ticked (every kind listed), help with an
# advocate, and the records-request letter.
TEMPLATE_ONLY = {"warning_signs": ["fever"], "advocate_help": "yes", "records_letter": "yes"}


@pytest.fixture(scope="module", autouse=True)
def english():
    textstat.set_lang("en")


@pytest.mark.parametrize(
    "answers",
    [
        TEMPLATE_ONLY,
        SAMPLE_ANSWERS,
        {**TEMPLATE_ONLY, "records_requested": "yes"},
        {**TEMPLATE_ONLY, "records_requested": "some"},
    ],
    ids=["template only", "sample visit", "records asked for", "some records asked for"],
)
def test_the_handout_reads_at_grade_six_or_below(handout_app, answers):
    blocks = fixed_text(handout_app, answers)
    assert len(blocks) > 30
    grade = textstat.flesch_kincaid_grade(as_sentences(blocks))
    prose_grade = textstat.flesch_kincaid_grade(as_sentences([b for b in blocks if b[0] in PROSE]))
    assert grade <= MAX_GRADE, grade
    assert prose_grade <= MAX_GRADE, prose_grade


def test_the_template_adds_every_sentence_it_can(handout_app):
    text = " ".join(text for _, text in fixed_text(handout_app, TEMPLATE_ONLY))
    assert "Today you told us about one of these signs." in text
    assert "I would like help to find a patient advocate." in text
    assert all(q.warning in text for q in qn.RED_FLAGS)
    assert "Please send a copy of these records to my new doctor:" in text


def test_the_records_letter_alone_reads_at_grade_six_or_below(handout_app):
    from kiosk.handout import handout_html

    from .support.handout import VISIT_DATE

    parser = FixedText()
    with handout_app.app_context():
        parser.feed(
            handout_html(
                {**SAMPLE_ANSWERS, "records_letter": "yes"},
                language="en",
                claim_code="K7P2",
                created_at=VISIT_DATE,
                letter_only=True,
            )
        )
    parser.close()
    text = as_sentences(parser.blocks)
    assert "Please send my records" in text and "My plan for a second opinion" not in text
    assert textstat.flesch_kincaid_grade(text) <= MAX_GRADE


def test_the_patients_own_words_are_not_counted(handout_app):
    words = "Notwithstanding my considerable apprehension regarding instrumentation, what alternatives exist?"
    blocks = fixed_text(handout_app, {**SAMPLE_ANSWERS, "own_question_1": words})
    assert not any("apprehension" in text for _, text in blocks)
    assert any(text.endswith("In my words:") for _, text in blocks)
