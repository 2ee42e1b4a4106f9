"""The handout in braille: the printed handout's content in the handout's
language, translated with liblouis and laid out as BRF pages; read back with
liblouis's back-translation, it says what the printed handout says."""

from __future__ import annotations

import re
import subprocess

import pytest

from kiosk import braille
from kiosk.braille import Piece

from .support.braille import LIBLOUIS_MISSING, back_translated, brf_pages
from .support.handout import VISIT_DATE

STARRED = ("What are all my choices", "What are the main risks", "How many of these do you do")
CANARY = "Canary-BR7 can I still ride my horse Philippa?"


def brf_for(app, answers, language="en", **size) -> bytes:
    with app.app_context():
        brf, _pages = braille.handout_brf(
            answers, language=language, claim_code="K7P2", created_at=VISIT_DATE, **size
        )
    return brf


# --- lines and pages (no liblouis needed) ---------------------------------------------------------

WORDS = "ABC DEFGH IJ KLMNOP QRS TUVW XY Z ,ABCD #ABC"


def laid_out(pieces, cells=40, lines=25) -> list[list[str]]:
    return brf_pages(braille.lay_out(pieces, cells=cells, lines=lines))


@pytest.mark.parametrize(("cells", "lines"), [(40, 25), (32, 28), (12, 4)])
def test_every_line_fits_the_page_and_every_page_has_its_lines_and_number(cells, lines):
    pieces = [Piece("title", "TITLE"), *(Piece(k, WORDS * 3) for k in ("heading", "paragraph", "item") * 12)]
    pages = laid_out(pieces, cells, lines)
    assert len(pages) > 1
    for number, page in enumerate(pages, 1):
        assert len(page) == lines
        assert all(len(line) <= cells for line in page)
        assert page[-1] == braille.braille_number(number).rjust(cells)
        assert all(not line.endswith(" ") for line in page)


def test_pages_are_separated_by_form_feeds_and_lines_end_in_cr_lf():
    brf = braille.lay_out([Piece("paragraph", WORDS * 30)], cells=40, lines=25)
    pages = brf.split(b"\f")
    assert len(pages) == len(brf_pages(brf)) > 1
    assert all(page.endswith(b"\r\n") for page in pages)
    assert b"\n" not in brf.replace(b"\r\n", b"")
    assert set(brf) <= {*range(0x20, 0x60), 0x0D, 0x0A, 0x0C}


def test_page_numbers_are_braille_numbers():
    assert braille.braille_number(1) == "#A"
    assert braille.braille_number(10) == "#AJ"
    assert braille.braille_number(27) == "#BG"


def test_words_are_not_broken_and_a_word_longer_than_a_line_is_hyphenated():
    text = WORDS * 5
    lines = braille.wrap(text, 12, first=2)
    assert " ".join(" ".join(lines).split()) == " ".join(text.split())
    assert all(len(line) <= 12 for line in lines)
    long = braille.wrap("AB " + "X" * 30 + " CD", 12)
    assert long == ["AB", "XXXXXXXXXXX-", "XXXXXXXXXXX-", "XXXXXXXX CD"]


def test_headings_are_centred_set_apart_and_never_alone_at_the_foot_of_a_page():
    # 22 full lines: a blank line, the heading and a line after it need 3 of the 24.
    pieces = [Piece("paragraph", "WORD " * 175), Piece("heading", "HEAD"), Piece("item", "NEXT")]
    (first, second) = laid_out(pieces, cells=40, lines=25)
    body = [line for line in first[:-1] if line]
    assert len(body) == 22
    assert "HEAD" not in " ".join(first)
    assert second[0].strip() == "HEAD" and second[1].strip() == "NEXT"
    assert second[0] == "HEAD".center(40).rstrip()
    pieces = [Piece("paragraph", "WORD"), Piece("heading", "HEAD"), Piece("paragraph", "TEXT")]
    (page,) = laid_out(pieces)
    assert page[:4] == ["  WORD", "", "HEAD".center(40).rstrip(), "  TEXT"]
    assert body[0].startswith("  WORD"), "a paragraph starts in cell 3"


def test_a_list_item_runs_over_in_cell_three():
    (page,) = laid_out([Piece("item", "WORD " * 12)], cells=20, lines=10)
    assert page[0].startswith("WORD") and page[1].startswith("  WORD")


def test_a_page_too_small_to_hold_anything_is_refused():
    with pytest.raises(ValueError):
        braille.lay_out([Piece("paragraph", "A")], cells=8, lines=25)


# --- liblouis ---------------------------------------------------------------------------------------

needs_liblouis = pytest.mark.skipif(bool(LIBLOUIS_MISSING), reason=LIBLOUIS_MISSING or "")


@needs_liblouis
def test_english_is_contracted_braille_and_reads_back(app):
    with app.app_context():
        (code, question) = braille.translate(["Code K7P2", "How many of these do you do each year?"], "en")
        assert code == ",CODE ,K#G,P#B"
        assert question == ",H[ _M ( ^! D Y D EA* YE>8"
        assert braille.translate([code, question], "en", backward=True) == [
            "Code K7P2",
            "How many of these do you do each year?",
        ]


@needs_liblouis
def test_the_braille_handout_says_what_the_printed_one_says(app, sample_answers):
    brf = brf_for(app, sample_answers)
    text = back_translated(app, brf, "en")
    assert "My plan for a second opinion" in text
    assert "Code K7P2" in text
    assert "Get help right away if you have:" in text
    assert "New trouble with your bladder: you cannot pass urine, or it leaks" in text
    for number, question in enumerate(STARRED, 1):
        assert f"{number}. Most important: {question}" in text
    assert "4. How long will it take to get better?" in text
    assert "Most important: How long" not in text
    # The records to ask for, and who is coming.
    for record in ("MRI scan", "X-rays", "Notes from the doctor"):
        assert record in text
    assert "A family member is coming with me." in text


@needs_liblouis
def test_the_spanish_handout_is_in_spanish_braille(app, sample_answers):
    brf = brf_for(app, sample_answers, "es")
    text = back_translated(app, brf, "es")
    assert "Código K7P2" in text
    # Read back, Spanish braille's punctuation comes out as other signs: compare the words.
    assert words("Mi plan para una segunda opinión") in words(text)
    for question in ("¿Cuáles son todas mis opciones", "¿Cuántas veces al año hace esto?"):
        assert words(f"Más importante: {question}") in words(text)
    assert "Most important" not in text


def words(text: str) -> str:
    return " ".join(re.sub(r"[\W\d_]+", " ", text).split())


@needs_liblouis
def test_the_patients_own_words_come_through_whatever_they_typed(app, sample_answers):
    words = "Why\\x41 not \\ now?\nNext line\x07 😀 " + CANARY
    brf = brf_for(app, {**sample_answers, "own_question_1": words, "top_questions": ["own_question_1"]})
    text = back_translated(app, brf, "en")
    assert "1. Most important: In my words:" in text
    assert "Canary-BR7 can I still ride my horse Philippa?" in text
    assert "not \\ now? Next line" in text
    assert all(len(line) <= 40 for page in brf_pages(brf) for line in page)


@needs_liblouis
def test_the_patients_words_never_go_on_a_command_line(app, sample_answers, monkeypatch):
    commands = []
    run = subprocess.run

    def spy(args, *rest, **options):
        commands.append(" ".join(args))
        return run(args, *rest, **options)

    monkeypatch.setattr(braille.subprocess, "run", spy)
    brf_for(app, {**sample_answers, "own_question_1": CANARY})
    assert commands and not any("Canary" in command for command in commands)


@needs_liblouis
def test_the_page_size_is_the_clinics_setting(app, sample_answers):
    app.config.update(BRAILLE_CELLS=32, BRAILLE_LINES=20)
    pages = brf_pages(brf_for(app, sample_answers))
    assert all(len(page) == 20 and all(len(line) <= 32 for line in page) for page in pages)
    assert max(len(line) for page in pages for line in page) > 28


def test_a_language_without_a_braille_table_is_refused_with_a_reason(app, sample_answers):
    app.config["LANGUAGES"] = {**app.config["LANGUAGES"], "fr": "Français"}
    with app.app_context():
        assert braille.unavailable("fr") == "There is no braille table for handouts in Français."
        with pytest.raises(braille.BrailleUnavailable, match="no braille table"):
            braille.handout_brf(sample_answers, language="fr", claim_code="K7P2", created_at=VISIT_DATE)


def test_a_missing_liblouis_is_said_plainly(app, monkeypatch):
    monkeypatch.setattr(braille, "LOU_TRANSLATE", "/nonexistent/lou_translate")
    monkeypatch.setattr(braille, "table_for", lambda language: "en-ueb-g2.ctb")
    with app.app_context(), pytest.raises(braille.BrailleUnavailable, match="liblouis-bin"):
        braille.translate(["A"], "en")


@needs_liblouis
def test_the_sample_braille_command_writes_a_brf(runner, tmp_path):
    out = tmp_path / "sample.brf"
    result = runner.invoke(args=["kiosk", "sample-braille", str(out), "--lang", "es", "--cells", "32"])
    assert result.exit_code == 0, result.output
    pages = brf_pages(out.read_bytes())
    assert f"Wrote {out} ({len(pages)} braille pages" in result.output
    assert all(len(line) <= 32 for page in pages for line in page)
    assert pages[0][0].strip() == ".MI PLAN PARA UNA SEGUNDA", "the title, centred on 32 cells"


def test_the_sample_braille_command_refuses_a_language_without_braille(runner, tmp_path):
    out = tmp_path / "sample.brf"
    result = runner.invoke(args=["kiosk", "sample-braille", str(out), "--lang", "xx"])
    assert result.exit_code == 1
    assert "There is no braille table for handouts in xx." in result.output
    assert not out.exists()


def test_a_table_that_is_not_installed_is_said_plainly(app, monkeypatch, tmp_path):
    monkeypatch.setattr(braille, "TABLE_FOLDERS", (str(tmp_path),))
    monkeypatch.delenv("LOUIS_TABLEPATH", raising=False)
    with app.app_context():
        assert braille.unavailable("en") == "", "the desk leaves what is installed to the worker"
        with pytest.raises(
            braille.BrailleUnavailable, match=r"\(en-ueb-g2.ctb\) is not installed.*liblouis-data"
        ):
            braille.table_for("en")


# --- words for braille, not for paper -------------------------------------------------------------

PAPER_WORDS = ("Write the answers on the lines", "this page", "This page", "write the good and bad points")


@needs_liblouis
def test_the_braille_handout_never_speaks_of_paper(app, sample_answers):
    text = back_translated(app, brf_for(app, {**sample_answers, "records_letter": "yes"}), "en")
    assert not [words for words in PAPER_WORDS if words in text]
    assert "This handout helps you get ready for your visit. It is not medical advice." in text
    assert "Take these pages to your visit and ask these questions." in text
    assert "Ask someone to write down the answers, or ask if you can record them." in text
    # The printed handout's last part, less its worksheet, and the letter it cannot carry.
    assert "If the two doctors do not agree You can get a third opinion." in text
    assert "Ask the front desk for the printed letter." in text


@needs_liblouis
def test_the_spanish_braille_handout_never_speaks_of_paper(app, sample_answers):
    text = words(back_translated(app, brf_for(app, {**sample_answers, "records_letter": "yes"}, "es"), "es"))
    assert words("Escriba las respuestas en las líneas") not in text
    assert words("Esta hoja") not in text
    assert words("Lleve estas hojas a su cita y haga estas preguntas.") in text
    assert words("Pida a alguien que anote las respuestas, o pregunte si puede grabarlas.") in text
    assert words("Si los dos médicos no están de acuerdo Puede pedir una tercera opinión.") in text


def test_the_braille_handouts_own_words_read_at_grade_six_or_below(app):
    import textstat

    from kiosk.cli import SAMPLE_ANSWERS

    answers = {**SAMPLE_ANSWERS, "warning_signs": ["fever"], "advocate_help": "yes", "records_letter": "yes"}
    with app.app_context():
        printed = braille.pieces(answers, language="en", claim_code="K7P2", created_at=VISIT_DATE)
    text = " ".join(p.text if p.text[-1] in ".?!" else p.text.rstrip(":") + "." for p in printed[2:])
    textstat.set_lang("en")
    assert textstat.flesch_kincaid_grade(text) <= 6.0


# --- the claim code, letter by letter ---------------------------------------------------------------

# Codes a contracted reading would get wrong: "CD" is the shortform for
# "could", "YRFS" for "yourselves", "ST", "AR", "CH", "ED" are contractions,
# "JUST" and "HAVE" whole-word signs; and letters A to J after a digit.
HARD_CODES = ("K7P2", "2K7P", "2A3B", "9J2C", "CDAS", "YRFS", "STAR", "CHED", "JUST", "HAVE", "ZED3")


def code_cells(brf: bytes) -> str:
    """The claim code's cells, from the first page's "Code …" line."""
    (line,) = [line for line in brf_pages(brf)[0] if line.strip().startswith((",CODE ", ".C+DIGO "))]
    return line.split()[-1]


def spelled_out(code: str, cells: str) -> bool:
    """One cell for each letter and digit (a digit is a letter after the
    number sign), and besides only number, capitals and grade 1 signs: no
    contraction."""
    return set(cells) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ#,.;") and sum(c.isalpha() for c in cells) == len(
        code
    )


def read_codes(app, cells: list[str], language: str) -> list[str]:
    """Codes as a braille reader reads them: after a grade 1 word indicator
    (";;"), uncontracted; otherwise in the handout's braille."""
    uncontracted = [c for c in cells if c.startswith(braille.GRADE_1_WORD)]
    with app.app_context():
        read = iter(braille.translate([c for c in cells if c not in uncontracted], language, backward=True))
        read_uncontracted = iter(
            braille.translate(
                [c.removeprefix(braille.GRADE_1_WORD) for c in uncontracted],
                language,
                backward=True,
                table=braille.CODE_TABLES[language],
            )
        )
    return [next(read_uncontracted) if c in uncontracted else next(read) for c in cells]


@needs_liblouis
@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("code", HARD_CODES)
def test_the_claim_code_is_spelled_letter_by_letter_in_the_handout(app, sample_answers, language, code):
    with app.app_context():
        brf, _pages = braille.handout_brf(
            sample_answers, language=language, claim_code=code, created_at=VISIT_DATE
        )
    cells = code_cells(brf)
    assert spelled_out(code, cells), cells
    assert read_codes(app, [cells], language) == [code]


@needs_liblouis
@pytest.mark.parametrize("language", ["en", "es"])
def test_any_claim_code_reads_back_exactly(app, language):
    import random

    from kiosk.visits import CLAIM_CODE_ALPHABET, CLAIM_CODE_LENGTH

    chosen = random.Random(20)
    codes = [
        "".join(chosen.choice(CLAIM_CODE_ALPHABET) for _ in range(CLAIM_CODE_LENGTH)) for _ in range(2000)
    ]
    # Every pair of characters of the alphabet, so that each follows each.
    codes += [a + b + b + a for a in CLAIM_CODE_ALPHABET for b in CLAIM_CODE_ALPHABET]
    with app.app_context():
        spelled = braille.codes_in_braille(codes, language)
    read = read_codes(app, spelled, language)
    unread = [
        (code, cells, back)
        for code, cells, back in zip(codes, spelled, read, strict=True)
        if back != code or not spelled_out(code, cells)
    ]
    assert unread == []
