"""What a patient types is printed as they typed it: accents, Arabic script,
joiners, emoji.

The tests render real PDFs and read them back: pdftotext and pdffonts
(poppler-utils, which CI installs) for the text and the fonts, and the pages'
own drawing instructions for which glyphs were drawn.

One limit of PDF text is worth knowing: it carries the characters of each glyph
drawn, and no glyph is drawn for an invisible format character on its own (a
zero-width non-joiner, an emoji variation selector). Those cannot come back
from the PDF, so their effect on the glyphs is what is checked here; a zero-width
joiner inside an emoji comes back, as part of the one glyph drawn for it.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import defaultdict

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from kiosk.cli import SAMPLE_ANSWERS
from kiosk.handout import _pdf_from_html
from tests.support.handout import html_for

ZWNJ, ZWJ, VS16 = "\u200c", "\u200d", "\ufe0f"
FAMILY = f"👨{ZWJ}👩{ZWJ}👧"

TYPED = {
    "accents": "Café crème, naïve: señor Núñez from Zürich",
    "persian": f"من می{ZWNJ}خواهم نظر دوم بگیرم",
    "arabic": "هل سأحتاج إلى جراحة أخرى؟",
    "emoji": f"Will it hurt? 👍🏽 ❤{VS16} {FAMILY}",
}
# Bidi marks pdftotext puts around right-to-left runs; the patient typed none of
# them (and kiosk.visits removes any that are typed).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

POPPLER = ("pdftotext", "pdffonts")


@pytest.fixture(scope="module", autouse=True)
def poppler():
    if missing := [tool for tool in POPPLER if shutil.which(tool) is None]:
        pytest.fail(f"{', '.join(missing)} not found: apt-get install poppler-utils", pytrace=False)


def typed(text: str, **more) -> dict:
    """The sample visit with ``text`` as the patient's own question, starred, so
    it has a line across the page to itself."""
    top = ["own_question_1", *SAMPLE_ANSWERS["top_questions"][:2]]
    return {**SAMPLE_ANSWERS, "own_question_1": text, "top_questions": top, **more}


def render(app, answers) -> bytes:
    with app.app_context():
        return _pdf_from_html(html_for(app, answers))[0]


def poppler_text(pdf: bytes) -> str:
    """The PDF's text as pdftotext reads it, bidi marks out, white space as single spaces."""
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return " ".join(BIDI_CONTROLS.sub("", text.decode()).split())


def poppler_fonts(pdf: bytes) -> dict[str, bool]:
    """Each font pdffonts lists, without its subset tag: whether it is embedded."""
    listing = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    fonts = {}
    for line in listing.splitlines()[2:]:
        name, *_, embedded, _subset, _unicode, _object, _generation = line.split()
        fonts[name.split("+")[-1]] = embedded == "yes"
    return fonts


def glyphs_drawn(pdf: bytes) -> dict[str, list[int]]:
    """The glyph ids drawn with each font (by its PDF name), in drawing order.

    Read from the pages' drawing instructions as WeasyPrint writes them:
    ``/F1 14 Tf`` picks a font, ``[<00a1>0<00b2>] TJ`` draws glyphs, two bytes each.
    """
    reader = PdfReader(io.BytesIO(pdf))
    drawn: dict[str, list[int]] = defaultdict(list)
    for page in reader.pages:
        names = {
            str(key)[1:]: str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1]
            for key, font in page["/Resources"]["/Font"].items()
        }
        content = page.get_contents().get_data().decode("latin-1")
        font = ""
        for match in re.finditer(r"/(\S+) [\d.]+ Tf|\[([^\]]*)\] ?TJ", content):
            if match.group(1):
                font = names[match.group(1)]
            else:
                for run in re.findall(r"<([0-9a-fA-F]+)>", match.group(2)):
                    drawn[font].extend(int(run[i : i + 4], 16) for i in range(0, len(run), 4))
    return drawn


def emoji_glyphs(pdf: bytes) -> list[int]:
    return [
        g
        for font, glyphs in glyphs_drawn(pdf).items()
        if font.startswith("Bundled-Noto-Emoji")
        for g in glyphs
    ]


@pytest.mark.parametrize("name", TYPED)
def test_typed_text_reaches_the_handout_untouched(handout_app, name):
    html = html_for(handout_app, typed(TYPED[name], reasons=["other"], reasons_other=TYPED[name]))
    assert html.count(f"“{TYPED[name]}”") == 2


@pytest.mark.parametrize("name", TYPED)
def test_typed_text_comes_back_from_the_pdf_as_typed(handout_app, notdef_warnings, name):
    text = poppler_text(render(handout_app, typed(TYPED[name])))
    # Everything that is drawn comes back exactly; see the module's note on the
    # zero-width non-joiner and the variation selector.
    visible = TYPED[name].replace(ZWNJ, "").replace(VS16, "")
    assert visible in text
    assert notdef_warnings == []


def test_the_family_emoji_comes_back_with_its_joiners(handout_app):
    # Only one glyph, standing for all five characters, can give back the joiners.
    assert FAMILY in poppler_text(render(handout_app, typed(f"Who comes? {FAMILY}")))


def test_a_zero_width_non_joiner_still_shapes_the_word(handout_app, notdef_warnings):
    # "mi-khaham" (I want): with the non-joiner the yeh takes its final form and
    # the khah its initial one; without it, the two join. The letters are the same.
    joined, apart = "میخواهم", f"می{ZWNJ}خواهم"
    glyphs = {}
    for word in (joined, apart):
        pdf = render(handout_app, typed(word))
        assert joined in poppler_text(pdf)
        glyphs[word] = [
            g for font, gs in glyphs_drawn(pdf).items() if font.startswith("Bundled-Vazirmatn") for g in gs
        ]
    assert len(glyphs[joined]) == len(glyphs[apart]) == len(joined)
    assert glyphs[joined] != glyphs[apart]
    assert notdef_warnings == []


@pytest.mark.parametrize(
    ("text", "glyphs"),
    [
        (FAMILY, 1),
        ("👨👩👧", 3),  # three people side by side, no joiners: three glyphs
        ("👍🏽", 1),
        (f"❤{VS16}", 1),
        ("😟🦴💊", 3),
    ],
    ids=["family", "three people", "thumbs up, skin tone", "heart", "three emoji"],
)
def test_each_emoji_prints_as_one_glyph_from_the_emoji_font(handout_app, notdef_warnings, text, glyphs):
    pdf = render(handout_app, typed(f"Emoji: {text}"))
    assert len(emoji_glyphs(pdf)) == glyphs
    assert notdef_warnings == []


def test_emoji_use_the_bundled_font_embedded(handout_app):
    fonts = poppler_fonts(render(handout_app, typed(TYPED["emoji"])))
    emoji = [name for name in fonts if name.startswith("Bundled-Noto-Emoji")]
    assert emoji, fonts
    assert all(fonts[name] for name in emoji)


def test_arabic_script_prints_with_the_bundled_arabic_font(handout_app, notdef_warnings):
    """Atkinson has no Arabic; the stylesheet falls back to the bundled
    Vazirmatn, never to whatever the system picks."""
    fonts = poppler_fonts(render(handout_app, typed(TYPED["arabic"])))
    assert [name for name in fonts if name.startswith("Bundled-Vazirmatn")], sorted(fonts)
    assert all(fonts.values())
    assert notdef_warnings == []


def test_the_bundled_emoji_font_prints_black_and_white(handout_app):
    font = TTFont(f"{handout_app.static_folder}/fonts/noto-emoji/NotoEmoji-Regular.ttf")
    # Outlines only: no colour layers or bitmaps for a black-and-white printer to grey out.
    assert not {"COLR", "CPAL", "CBDT", "sbix", "SVG "} & set(font.keys())
    cmap = font.getBestCmap()
    assert {0x1F468, 0x1F469, 0x1F467, 0x1F44D, 0x1F3FD, 0x2764, 0x200D, 0xFE0F} <= set(cmap)
    # A space beside an emoji is drawn from this font: as wide as Atkinson's (see the font's README).
    assert font["hmtx"][cmap[0x20]][0] / font["head"].unitsPerEm == pytest.approx(0.28, abs=0.005)
