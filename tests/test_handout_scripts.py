"""The handout in every language, and whatever a patient types, is printed in
the fonts the project ships, with a glyph for every character.

The machine has a desktop's fonts, Noto CJK among them: none of them may reach
a handout, so a Chinese handout must embed the bundled Noto Sans SC and
nothing of the machine's (``pdffonts``). Every character of every catalog
string must have a glyph in the fonts its language is printed in (fontTools
reads their character maps): no empty boxes.

A language whose catalog is not in kiosk/translations yet is rendered from
the English strings under its own ``lang``, with a sentence typed in its
script: the fonts chosen for it are the same.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from datetime import UTC, datetime
from functools import cache

import pytest
from babel.messages.pofile import read_po
from fontTools.ttLib import TTFont

from kiosk.cli import SAMPLE_ANSWERS
from kiosk.handout import _pdf_from_html, handout_html, handout_pdf

from .support.scripts import ATKINSON, BY_TAG, LANGUAGES, TRANSLATIONS

pytestmark = pytest.mark.fonts

ONLY_OURS = re.compile(
    r"^Bundled-(Atkinson-Hyperlegible|Noto-Sans|Noto-Sans-(SC|TC|KR)|Vazirmatn)(-Bold)?(-Italic)?$|^Bundled-Noto-Emoji$"
)
# What each language is printed in: its own font, and Atkinson Hyperlegible
# for the Latin letters and digits among Chinese, Korean and Arabic.
LATIN_AMONG = {"zh-Hans", "zh-Hant", "ko", "ar"}
# A patient may type any of these on a handout in any language.
EVERY_SCRIPT = " ".join(BY_TAG[tag].typed for tag in ("vi", "ru", "zh-Hans", "ko", "ar"))


@pytest.fixture(scope="module", autouse=True)
def poppler():
    if missing := [tool for tool in ("pdftotext", "pdffonts") if shutil.which(tool) is None]:
        pytest.fail(f"{', '.join(missing)} not found: apt-get install poppler-utils", pytrace=False)


def answers_with(own_question: str, other_reason: str | None = None) -> dict:
    top = ["own_question_1", *SAMPLE_ANSWERS["top_questions"][:2]]
    answers = {**SAMPLE_ANSWERS, "own_question_1": own_question, "top_questions": top}
    if other_reason:
        answers |= {"reasons": [*SAMPLE_ANSWERS.get("reasons", []), "other"], "reasons_other": other_reason}
    return answers


def render(app, tag: str, answers: dict) -> bytes:
    """The handout in ``tag``: in its own strings where its catalog is in
    kiosk/translations, else in English under ``lang="tag"``."""
    visit = {"claim_code": "K7P2", "created_at": datetime(2026, 12, 1, 15, tzinfo=UTC)}
    with app.app_context():
        if BY_TAG[tag].has_catalog():
            return handout_pdf(answers, language=tag, **visit)[0]
        html = handout_html(answers, language="en", **visit)
        assert '<html lang="en"' in html
        return _pdf_from_html(html.replace('<html lang="en"', f'<html lang="{tag}"', 1))[0]


def pdffonts(pdf: bytes) -> dict[str, bool]:
    """Each font pdffonts lists, without its subset tag: whether it is embedded."""
    listing = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    fonts = {}
    for line in listing.splitlines()[2:]:
        name, *_, embedded, _subset, _unicode, _object, _generation = line.split()
        fonts[name.split("+")[-1]] = embedded == "yes"
    return fonts


def text_of(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(re.sub("[\u202a-\u202e\u2066-\u2069]", "", text).split())


def printed(typed: str, text: str) -> bool:
    """Whether every word typed comes back from the PDF, its letters in order.
    Punctuation and spaces are left out: pdftotext moves the punctuation of a
    right-to-left line, and breaks Chinese lines anywhere."""

    def letters(words: str) -> str:
        return "".join(char for char in words if unicodedata.category(char)[0] in "LMN")

    joined = letters(text)
    return all(letters(word) in joined for word in typed.split())


def families(fonts) -> set[str]:
    return {re.sub(r"(-Bold)?(-Italic)?$", "", name) for name in fonts}


@pytest.mark.parametrize("tag", [language.tag for language in LANGUAGES])
def test_a_handout_in_each_language_embeds_only_its_bundled_fonts(handout_app, notdef_warnings, tag):
    language = BY_TAG[tag]
    pdf = render(handout_app, tag, answers_with(language.typed))
    fonts = pdffonts(pdf)
    assert [name for name in fonts if not ONLY_OURS.match(name)] == [], fonts
    assert all(fonts.values()), f"not embedded: {fonts}"
    expected = {language.handout_font} | ({"Bundled-Atkinson-Hyperlegible"} if tag in LATIN_AMONG else set())
    assert families(fonts) == expected
    assert printed(language.typed, text_of(pdf))
    assert notdef_warnings == []


@pytest.mark.parametrize("tag", ["en", "es", "zh-Hans", "zh-Hant", "ko", "ar", "vi", "ru"])
def test_what_a_patient_types_in_any_script_prints_in_the_bundled_fonts(handout_app, notdef_warnings, tag):
    """Chinese, Korean, Arabic, Vietnamese and Russian typed on one handout:
    each in its bundled font, whatever the handout's language."""
    pdf = render(handout_app, tag, answers_with(EVERY_SCRIPT, other_reason="罕见字：龘靐齉 / 희귀 / نادر"))
    fonts = pdffonts(pdf)
    assert [name for name in fonts if not ONLY_OURS.match(name)] == [], fonts
    # Han characters in the handout's own Chinese where it has one.
    han = {"zh-Hant": "Bundled-Noto-Sans-TC"}.get(tag, "Bundled-Noto-Sans-SC")
    assert {"Bundled-Noto-Sans", han, "Bundled-Noto-Sans-KR", "Bundled-Vazirmatn"} <= families(fonts)
    text = text_of(pdf)
    for language in ("vi", "ru", "zh-Hans", "ko", "ar"):
        assert printed(BY_TAG[language].typed, text)
    assert "罕见字：龘靐齉" in text
    assert notdef_warnings == []


@cache
def character_map(path) -> frozenset[int]:
    return frozenset(TTFont(path, lazy=True).getBestCmap())


def missing_glyphs(tag: str, strings) -> dict[str, list[str]]:
    """Each character of ``strings`` that no font of ``tag`` has, regular or bold,
    with the first string it is in."""
    language = BY_TAG[tag]
    files = language.files + (ATKINSON if tag in LATIN_AMONG else ())
    maps = [character_map(path) for path in files]
    regular, bold = maps[0::2], maps[1::2]
    missing: dict[str, list[str]] = {}
    for text in strings:
        for char in text:
            if char.isspace() or not char.isprintable():
                continue
            for weight in (regular, bold):
                if not any(ord(char) in cmap for cmap in weight):
                    missing.setdefault(f"U+{ord(char):04X} {char}", [text])
    return missing


def catalogs() -> list[str]:
    return sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def strings_of(catalog: str) -> list[str]:
    with (TRANSLATIONS / catalog / "LC_MESSAGES" / "messages.po").open("rb") as file:
        po = read_po(file)
    found = []
    for message in po:
        if not message.id:
            continue
        values = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [value for value in values if value]
    return found


def test_every_catalog_has_a_language_and_its_fonts():
    """A catalog added under kiosk/translations is checked below only if its
    language is known here (tests/support/scripts.py), with its fonts."""
    known = {language.catalog for language in LANGUAGES}
    assert [catalog for catalog in catalogs() if catalog not in known] == []


@pytest.mark.parametrize("catalog", ["en", *catalogs()])
def test_every_character_of_every_catalog_string_has_a_glyph(catalog):
    if catalog == "en":
        with (TRANSLATIONS / "messages.pot").open("rb") as file:
            strings = [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(file) if m.id]
        tag = "en"
    else:
        strings = strings_of(catalog)
        tag = next(language.tag for language in LANGUAGES if language.catalog == catalog)
    assert strings, f"{catalog}: no strings"
    assert missing_glyphs(tag, strings) == {}


@pytest.mark.parametrize("tag", [language.tag for language in LANGUAGES])
def test_each_language_name_and_typed_sentence_has_a_glyph(tag):
    """Before its catalog lands: the language's name and a sentence in it."""
    language = BY_TAG[tag]
    assert missing_glyphs(tag, [language.own_name, language.typed]) == {}


@pytest.mark.parametrize(
    ("tag", "letters"),
    [
        ("vi", "aăâbcdđeêghiklmnoôơpqrstuưvxyàằầèềìòồờùừỳáắấéếíóốớúứýảẳẩẻểỉỏổởủửỷãẵẫẽễĩõỗỡũữỹạặậẹệịọộợụựỵ"),
        ("ru", "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
        ("es", "áéíóúüñ¿¡"),
        ("ht", "èòà"),
    ],
)
def test_every_letter_of_the_alphabet_has_a_glyph(tag, letters):
    assert missing_glyphs(tag, [letters, letters.upper()]) == {}
