"""Right to left: an Arabic page runs right to left, from its language; the
stylesheets name sides logically only, so the same CSS mirrors; what the
patient typed, numbers and the claim code keep their own order; the Arabic
handout is laid out right to left, tagged, and says /Lang ar.

The browser's view of it is in tests/test_right_to_left_browser.py.
"""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kiosk.extensions import db, text_direction
from kiosk.handout import handout_html, handout_pdf
from kiosk.models import Handout

from .conftest import run_worker
from .support.handout import structure_types
from .support.right_to_left import ARABIC, arabic_settings

PROJECT = Path(__file__).resolve().parent.parent
STYLESHEETS = sorted((PROJECT / "static" / "css").glob("*.css"))
TEMPLATES = sorted((PROJECT / "templates").rglob("*.html"))

# --- the stylesheets name no physical side -------------------------------------

# A side named physically (left/right) in a property or a value: margin-left,
# padding-right, border-left, left:, right:, float: left, clear: right,
# text-align: left, "to right" in a gradient, translateX(...) which moves to
# the right whatever the language...
PHYSICAL = re.compile(r"\b(left|right)\b|translateX\(|scaleX\(-", re.IGNORECASE)
# Four-value shorthands whose right and left differ (margin: 0 0 0 16px) name a side too.
FOUR_VALUES = re.compile(r"(?<![-\w])(margin|padding|inset|border-width|border-radius)\s*:\s*([^;}]+)")
# What must stay physical, each with its reason.
ALLOWED = {
    # Page-margin boxes have physical names only (CSS Paged Media has no
    # logical ones); handout.css swaps their contents on a right-to-left
    # page (@page rtl).
    "@bottom-left",
    "@bottom-right",
}


def without_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group().count("\n"), css, flags=re.DOTALL)


def physical_sides(name: str, css: str) -> list[str]:
    found = []
    for number, line in enumerate(without_comments(css).splitlines(), 1):
        for allowed in ALLOWED:
            line = line.replace(allowed, "")
        if PHYSICAL.search(line):
            found.append(f"{name}:{number}: {line.strip()}")
        for match in FOUR_VALUES.finditer(line):
            values = match.group(2).replace("!important", "").split()
            if len(values) == 4 and values[1] != values[3]:
                found.append(f"{name}:{number}: {match.group(1)} differs right and left: {line.strip()}")
    return found


def test_the_lint_finds_a_physical_side():
    assert physical_sides("x.css", ".a { margin-left: 4px; }")
    assert physical_sides("x.css", ".a { text-align: right; }")
    assert physical_sides("x.css", ".a { float: left; }")
    assert physical_sides("x.css", ".a { background: linear-gradient(to right, #000, #fff); }")
    assert physical_sides("x.css", ".a { transform: translateX(4px); }")
    assert physical_sides("x.css", "dd { margin: 0 0 0 16px; }")
    assert not physical_sides("x.css", ".a { margin-inline-start: 4px; text-align: end; }")
    assert not physical_sides("x.css", "main { margin: 0 auto; padding: 16px 24px 48px; }")
    assert not physical_sides("x.css", "/* read left to right */ .a { margin: 0; }")
    assert not physical_sides("x.css", "@page { @bottom-right { content: 'x'; } }")


@pytest.mark.parametrize("stylesheet", STYLESHEETS, ids=lambda path: path.name)
def test_the_stylesheets_name_sides_logically(stylesheet):
    assert physical_sides(stylesheet.name, stylesheet.read_text()) == []


def test_the_templates_style_nothing_by_a_physical_side():
    """Inline styles and <style> blocks, where a template has any (the CSP
    forbids inline styles on the kiosk, but the handout may have them)."""
    found = []
    for template in TEMPLATES:
        text = template.read_text()
        styles = re.findall(r'style="([^"]*)"', text) + re.findall(
            r"<style[^>]*>(.*?)</style>", text, re.DOTALL
        )
        found += physical_sides(str(template.relative_to(PROJECT)), "\n".join(styles))
    assert found == []


# --- the page's direction comes from its language ------------------------------


@pytest.mark.parametrize(
    ("language", "direction"),
    [
        ("ar", "rtl"),
        ("en", "ltr"),
        ("es", "ltr"),
        ("zh-Hans", "ltr"),
        ("zh_Hant", "ltr"),
        ("ht", "ltr"),
        ("??", "ltr"),
    ],
)
def test_the_direction_comes_from_the_language(language, direction):
    assert text_direction(language) == direction


@pytest.fixture
def arabic_app(make_app, tmp_path):
    return make_app(**arabic_settings(tmp_path))


@pytest.fixture
def arabic_kiosk(arabic_app):
    from .conftest import Kiosk

    kiosk = Kiosk(arabic_app.test_client())
    kiosk.start()
    kiosk.post("/preferences", {"lang": ARABIC, "next": "/visit/safety"})
    return kiosk


def html_tag(page: str) -> str:
    return re.search(r"<html[^>]*>", page).group()


def test_an_arabic_screen_runs_right_to_left(arabic_kiosk):
    page = arabic_kiosk.get("/visit/safety").get_data(as_text=True)
    assert 'lang="ar"' in html_tag(page) and 'dir="rtl"' in html_tag(page)


@pytest.mark.parametrize("language", ["en", "es"])
def test_english_and_spanish_screens_run_left_to_right(arabic_app, language):
    from .conftest import Kiosk

    kiosk = Kiosk(arabic_app.test_client())
    kiosk.start()
    kiosk.post("/preferences", {"lang": language, "next": "/visit/safety"})
    page = kiosk.get("/visit/safety").get_data(as_text=True)
    assert f'lang="{language}"' in html_tag(page) and 'dir="ltr"' in html_tag(page)


def test_an_arabic_error_page_runs_right_to_left(arabic_kiosk):
    response = arabic_kiosk.get("/no-such-page")
    assert response.status_code == 404
    assert 'dir="rtl"' in html_tag(response.get_data(as_text=True))


def test_the_desk_stays_english_and_left_to_right(arabic_app, arabic_kiosk):
    """Even in a browser that last showed an Arabic kiosk screen."""
    page = arabic_kiosk.get("/desk/sign-in").get_data(as_text=True)
    assert 'lang="en"' in html_tag(page) and 'dir="ltr"' in html_tag(page)


def test_what_the_patient_types_and_the_code_are_isolated(arabic_kiosk):
    arabic_kiosk.answer("safety")
    arabic_kiosk.answer("situation")
    page = arabic_kiosk.get("/visit/reasons").get_data(as_text=True)
    assert re.search(r'<textarea id="reasons_other"[^>]* dir="auto"', page), (
        "typed text runs in its own direction"
    )
    arabic_kiosk.answer("reasons", {"reasons": ["other"], "reasons_other": "2 MRI scans."})
    for step in ("records", "questions"):
        arabic_kiosk.answer(step)
    review = arabic_kiosk.get("/visit/review").get_data(as_text=True)
    assert "<bdi>2 MRI scans.</bdi>" in review
    done = arabic_kiosk.finish()
    page = arabic_kiosk.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r'<span id="claim-code" dir="ltr">', page)


# --- the Arabic handout ---------------------------------------------------------

VISIT_DATE = datetime(2026, 11, 28, 15, tzinfo=UTC)
# Starts with a number and ends with a stop: left in the Arabic text's flow,
# the 2 and the stop would move to the far ends.
TYPED = "2 MRIs in 2024, Dr. Lee."


@pytest.fixture
def arabic_handout(arabic_app, sample_answers, tmp_path):
    answers = {**sample_answers, "reasons": ["other"], "reasons_other": TYPED}
    with arabic_app.app_context():
        html = handout_html(answers, language=ARABIC, claim_code="7KP2", created_at=VISIT_DATE)
        pdf, pages = handout_pdf(answers, language=ARABIC, claim_code="7KP2", created_at=VISIT_DATE)
    path = tmp_path / "ar.pdf"
    path.write_bytes(pdf)
    return html, path, pages


def words(pdf: Path) -> list[dict]:
    """Every word pdftotext finds, with its box (points from the top left)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    tree = ElementTree.fromstring(
        re.sub(r"<!DOCTYPE[^>]*>", "", out).replace('xmlns="http://www.w3.org/1999/xhtml"', "")
    )
    found = []
    for number, page in enumerate(tree.iter("page"), 1):
        for word in page.iter("word"):
            found.append(
                {
                    "page": number,
                    "width": float(page.get("width")),
                    "text": word.text or "",
                    **{key: float(word.get(key)) for key in ("xMin", "xMax", "yMin", "yMax")},
                }
            )
    return found


def test_the_arabic_handout_is_tagged_and_says_it_is_arabic(arabic_handout):
    html, path, pages = arabic_handout
    assert re.search(r'<html lang="ar" dir="rtl"', html)
    catalog = PdfReader(path).trailer["/Root"]
    assert catalog["/Lang"] == "ar"
    assert bool(catalog["/MarkInfo"]["/Marked"])
    types = structure_types(catalog["/StructTreeRoot"]["/K"][0])
    assert types[0] == "/Document" and types.count("/H1") == 1 and "/Table" in types and "/LI" in types
    assert pages == 2


def test_the_arabic_handout_is_laid_out_right_to_left(arabic_handout):
    """The title ends at the right margin; the bullets and boxes sit to the right of their words."""
    _, path, _ = arabic_handout
    found = words(path)
    page_width = found[0]["width"]
    right_margin = page_width - 12 / 25.4 * 72  # 12 mm
    title_line = [
        w for w in found if w["page"] == 1 and w["yMin"] == min(x["yMin"] for x in found if "ي" in x["text"])
    ]
    assert title_line, "an Arabic title"
    assert max(w["xMax"] for w in title_line) == pytest.approx(right_margin, abs=3)
    assert min(w["xMin"] for w in title_line) > page_width / 3, "the title starts at the right, not the left"
    # Every line starts at the right: more text hugs the right margin than the left one.
    left_margin = 12 / 25.4 * 72
    at_right = sum(1 for w in found if abs(w["xMax"] - right_margin) < 3)
    at_left = sum(1 for w in found if abs(w["xMin"] - left_margin) < 3)
    assert at_right > 3 * at_left


def test_the_arabic_handout_keeps_the_code_and_typed_words_in_order(arabic_handout):
    _, path, _ = arabic_handout
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    text = text.replace("\xa0", " ")
    assert "7KP2" in text, "the claim code reads intact in the footer"
    assert TYPED in text, "what the patient typed reads in its own order"
    found = words(path)
    # On the page, too: "2" left of "MRIs", on one line.
    mri = next(w for w in found if w["text"] == "MRIs")
    two = [w for w in found if w["text"].strip("“”") == "2" and w["yMin"] == mri["yMin"]]
    assert two and two[0]["xMax"] < mri["xMin"]


def test_the_handout_follows_an_arabic_visit(arabic_app, arabic_kiosk):
    for step in ("safety", "situation", "reasons", "records", "questions"):
        assert arabic_kiosk.answer(step).status_code == 303
    arabic_kiosk.finish()
    run_worker(arabic_app)
    with arabic_app.app_context():
        handout = db.session.scalar(select(Handout))
        assert handout.language == ARABIC
        reader = PdfReader(io.BytesIO(handout.pdf))
    assert reader.trailer["/Root"]["/Lang"] == "ar"


def test_an_english_handout_is_as_before(handout_app, sample_answers):
    """Left to right, no isolating marks in its footer."""
    with handout_app.app_context():
        html = handout_html(sample_answers, language="en", claim_code="K7P2", created_at=VISIT_DATE)
    assert re.search(r'<html lang="en" dir="ltr"', html)
    footer = re.search(r'data-footer="([^"]*)"', html).group(1)
    assert not re.search("[\u2066-\u2069]", footer)
