"""The handout as a PDF file: tagged for screen readers, fonts embedded, text in order."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from kiosk import create_app
from kiosk.cli import SAMPLE_ANSWERS
from kiosk.handout import _pdf_from_html
from tests.conftest import app_config
from tests.support.handout import html_for, long_visit, structure_types

SUBSET_ATKINSON = re.compile(r"^/[A-Z]{6}\+Bundled-Atkinson-Hyperlegible(-Bold)?(-Italic)?$")


@pytest.fixture(scope="module")
def sample(handout_app):
    """The sample handout: (HTML, PDF reader)."""
    html = html_for(handout_app, SAMPLE_ANSWERS)
    with handout_app.app_context():
        pdf, _ = _pdf_from_html(html)
    return html, PdfReader(io.BytesIO(pdf))


def embedded_fonts(reader: PdfReader) -> dict[str, str]:
    """Every font the pages use: its PDF name, and the full name inside the embedded font file.

    The PDF name comes from what was asked for, so a missing Bold faked from the
    Regular would still be called Bold there; the file's own name table says
    which face really went in.
    """
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descendant = descendant.get_object()
                descriptor = descendant["/FontDescriptor"].get_object()
                program = (
                    descriptor.get("/FontFile2")
                    or descriptor.get("/FontFile3")
                    or descriptor.get("/FontFile")
                )
                full_name = ""
                if program is not None:
                    full_name = TTFont(io.BytesIO(program.get_object().get_data()))["name"].getDebugName(4)
                fonts[str(descendant["/BaseFont"])] = full_name
    return fonts


def test_the_pdf_is_tagged_for_screen_readers(sample):
    _, reader = sample
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert catalog["/Lang"] == "en"
    assert bool(catalog["/ViewerPreferences"]["/DisplayDocTitle"])
    assert reader.metadata.title == "My plan for a second opinion"
    assert b'pdfuaid:part="1"' in reader.xmp_metadata.stream.get_data()
    assert all("/StructParents" in page for page in reader.pages)


def test_the_structure_has_headings_lists_and_tables_in_reading_order(sample):
    _, reader = sample
    types = structure_types(reader.trailer["/Root"]["/StructTreeRoot"]["/K"][0])
    assert types[0] == "/Document"
    assert types.count("/H1") == 1
    assert types.count("/H2") == 7
    # The pros and cons worksheet; the records are a list of boxes to tick.
    assert types.count("/Table") == 1 and "/TH" in types and "/TD" in types
    assert "/L" in types and "/LI" in types
    assert types.index("/H1") < types.index("/H2") < types.index("/Table")


def test_every_font_is_atkinson_hyperlegible_embedded_and_subset(sample):
    _, reader = sample
    fonts = embedded_fonts(reader)
    for name, full_name in fonts.items():
        assert SUBSET_ATKINSON.match(name), f"{name} is not a subset of the bundled font"
        assert full_name.startswith("Atkinson Hyperlegible"), f"{name} embeds {full_name or 'no font file'}"
    # Regular and Bold each from their own file, not a Bold faked from the Regular.
    assert {"Atkinson Hyperlegible Regular", "Atkinson Hyperlegible Bold"} <= set(fonts.values())


def test_the_patients_own_words_use_the_italic(handout_app):
    answers = {**SAMPLE_ANSWERS, "own_question_1": "Can I keep working at the bakery?"}
    with handout_app.app_context():
        pdf, _ = _pdf_from_html(html_for(handout_app, answers))
    fonts = embedded_fonts(PdfReader(io.BytesIO(pdf)))
    assert "Atkinson Hyperlegible Italic" in fonts.values(), fonts


class VisibleWords(HTMLParser):
    """The words of the handout HTML in document order, without the head.

    The footer is not among them: it is margin text drawn from attributes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._skip_depth = 0
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "link", "br", "img"):
            return
        self._depth += 1
        if self._skip_depth == 0 and tag == "head":
            self._skip_depth = self._depth

    def handle_endtag(self, tag):
        if tag in ("meta", "link", "br", "img"):
            return
        if self._skip_depth == self._depth:
            self._skip_depth = 0
        self._depth -= 1

    def handle_data(self, data):
        if not self._skip_depth:
            self.words.extend(normalise(data))


def normalise(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))


def in_order(needles: list[str], haystack: list[str]) -> tuple[bool, list[str]]:
    """Whether every word in ``needles`` appears in ``haystack`` in the same order."""
    position = 0
    for index, word in enumerate(needles):
        try:
            position = haystack.index(word, position) + 1
        except ValueError:
            return False, needles[max(0, index - 5) : index + 5]
    return True, []


@pytest.mark.parametrize("visit", ["typical", "long"])
def test_every_word_can_be_extracted_in_reading_order(handout_app, visit):
    answers = SAMPLE_ANSWERS if visit == "typical" else long_visit(dict(SAMPLE_ANSWERS))
    html = html_for(handout_app, answers)
    with handout_app.app_context():
        pdf, _ = _pdf_from_html(html)
    parser = VisibleWords()
    parser.feed(html)
    extracted = normalise(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    ok, around = in_order(parser.words, extracted)
    assert ok, f"not extracted in order near: {' '.join(around)}"
    assert len(parser.words) > 300


def test_the_sample_command_renders_a4_and_letter(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = create_app(app_config(tmp_path)).test_cli_runner()
    for paper, width in (("a4", 595), ("letter", 612)):
        out = tmp_path / f"{paper}.pdf"
        result = runner.invoke(args=["kiosk", "sample-handout", str(out), "--paper", paper])
        assert result.exit_code == 0, result.output
        assert "2 pages" in result.output
        assert round(float(PdfReader(out).pages[0].mediabox[2])) == width
