"""The handout in braille: the printed handout's content, translated with
liblouis and laid out as a BRF (braille-ready format) for an embosser.

``handout_brf`` is the one way in: from one visit's stored answers (the same
data the printed handout is made from, ``handout.handout_content``) to the
BRF's bytes. Its steps are plain functions: ``pieces`` (what the page says,
in the handout's language), ``translate`` (liblouis) and ``lay_out`` (lines
and pages). The render lane calls it once an embosser job asks for it
(``handout_jobs.render_braille``); printing only sends the bytes.

What is left out, because it is for writing on by hand: the name line, the
blanks for dates, the worksheet for comparing two plans, and the records
letter (a form for the first office to read; it prints from the PDF, and the
braille says to ask the desk for it). Where the paper's words speak of paper
("Write the answers on the lines"), the braille has words of its own.

The claim code is spelled letter by letter, uncontracted (``CODE_TABLES``),
so that a reader reads what the desk types: in contracted braille "CD" is
"could" and "ST" one cell. Where the letters would read otherwise in
contracted braille, the code starts with the grade 1 word indicator. A digit
is a letter A to J after the number sign; a capital letter after a digit
carries the capital sign, which ends the number.

BRF is ASCII braille (North American Braille ASCII, one character a cell,
upper case), CR LF at the end of each line and a form feed between pages.
Each page is ``BRAILLE_LINES`` lines of at most ``BRAILLE_CELLS`` cells; its
last line carries the braille page number at the right margin. Headings are
centred with a blank line before them and never left alone at the foot of a
page; paragraphs start in cell 3, list items in cell 1 with their runovers in
cell 3; words are broken only when one is longer than a line, with a hyphen.

liblouis runs as ``lou_translate`` (Debian: liblouis-bin, its tables in
liblouis-data), every line of the handout in one run, the text on its stdin:
a patient's words never appear on a command line, where ``ps`` shows them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale

from .config import MIN_BRAILLE_CELLS, MIN_BRAILLE_LINES
from .content import gettext
from .handout import Block, handout_content

log = logging.getLogger(__name__)

# liblouis's tables for each handout language. English: Unified English
# Braille, contracted (grade 2), what braille readers in the US (since 2016),
# the UK, Canada and Australia are taught. Spanish: the Spanish table
# (uncontracted, as Spanish braille is read).
TABLES = {"en": "en-ueb-g2.ctb", "es": "es-g1.ctb"}
# The claim code's tables: uncontracted, one cell a letter.
CODE_TABLES = {"en": "en-ueb-g1.ctb", "es": "es-g1.ctb"}
# UEB's grade 1 word indicator (dots 56, 56): the next word is uncontracted.
GRADE_1_WORD = ";;"
# liblouis's display table for North American Braille ASCII, which BRF files
# and embossers use whatever the language.
DISPLAY = "en-us-brf.dis"
TABLE_FOLDERS = ("/usr/share/liblouis/tables", "/usr/local/share/liblouis/tables")
LOU_TRANSLATE = "lou_translate"
TRANSLATE_TIMEOUT = 30.0  # seconds; a whole handout takes 4 to 20 ms

# Braille ASCII: one character a cell, from space to underscore.
_BRAILLE_ASCII = {chr(code) for code in range(0x20, 0x60)}
# Braille digits are the letters a to j after the number sign.
_DIGITS = dict(zip("1234567890", "ABCDEFGHIJ", strict=True))

PARAGRAPH_INDENT = 2  # cells before a paragraph's first line
RUNOVER_INDENT = 2  # cells before the second and later lines of a list item


class BrailleUnavailable(Exception):
    """No braille can be made for this handout here; ``.reason`` says why, for
    staff (no patient text in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Piece:
    """One piece of the braille handout, in print or (after ``translate``) in braille."""

    kind: str  # "title" | "heading" | "paragraph" | "item"
    text: str
    code: str = ""  # a claim code at its end, spelled letter by letter (``codes_in_braille``)


# --- what the braille handout says --------------------------------------------------


def _questions(block: Block) -> list[str]:
    """Numbered as on the printed handout: the starred ones first."""
    questions = block.questions
    ordered = (
        [q for q in questions if q.top]
        + [q for q in questions if not q.top and not q.across]
        + [q for q in questions if not q.top and q.across]
    )
    lines = []
    for number, question in enumerate(ordered, 1):
        text = f"{gettext('In my words:')} “{question.text}”" if question.own else question.text
        star = f"{gettext('Most important:')} " if question.top else ""
        lines.append(f"{number}. {star}{text}")
    return lines


def _block(block: Block) -> list[Piece]:
    """One answer, as ``templates/handout/handout.html`` prints it, less its blanks."""
    if block.style == "sentence":
        return [Piece("paragraph", f"{block.lead_in} {block.items[0]}.")]
    if block.style == "phrase":
        return [Piece("paragraph", phrase) for phrase in block.items]
    if block.style == "answer":
        return [Piece("paragraph", f"{block.lead_in} {', '.join(block.items)}")]
    if block.style == "words":
        return [Piece("paragraph", f"{block.lead_in} “{block.words}”")]
    if block.style == "questions":
        return [Piece("item", line) for line in _questions(block)]
    lead = [Piece("paragraph", block.lead_in)] if block.lead_in else []
    return lead + [Piece("item", item) for item in block.items]  # "list" and "ticks"


def pieces(answers: dict[str, Any], *, language: str, claim_code: str, created_at: datetime) -> list[Piece]:
    """What the braille handout says, in print, in the handout's language:
    the printed handout's data (``handout_content``) and its headings."""
    context = handout_content(answers, language=language, claim_code=claim_code, created_at=created_at)
    clinic = context["clinic"]
    with force_locale(language):
        found = [
            Piece("title", gettext("My plan for a second opinion")),
            Piece("paragraph", gettext("Code"), code=claim_code),
            Piece("paragraph", ", ".join(p for p in (clinic.name, clinic.phone, context["date"]) if p)),
            Piece(
                "paragraph",
                gettext("This handout helps you get ready for your visit. It is not medical advice."),
            ),
            Piece("heading", gettext("Get help right away if you have:")),
        ]
        if context["reported_red_flags"]:
            found.append(
                Piece(
                    "paragraph",
                    gettext(
                        "Today you told us about one of these signs. If you have not yet, tell the front desk now."
                    ),
                )
            )
        found += [Piece("item", warning) for column in context["warning_columns"] for warning in column]
        found += [
            Piece(
                "paragraph",
                gettext(
                    "Do not wait for a second opinion. Tell your doctor or the front desk now. "
                    "If you are not at the clinic, call the emergency number where you are."
                ),
            ),
            Piece("heading", gettext("This is your right")),
            Piece(
                "paragraph",
                gettext(
                    "It is normal to want a second opinion. Spine problems often have more than one good "
                    "treatment. If you are not sure about the plan, a second opinion is a wise next step. "
                    "You can trust your doctor and still ask. A good doctor supports second opinions. "
                    "If a doctor pushes back or gets angry, that itself is a warning sign."
                ),
            ),
        ]
        letter = (
            [
                Piece(
                    "paragraph",
                    gettext(
                        "You asked for a letter that asks the first office to send your records. "
                        "It is a form to fill in by hand, so it is not in braille. "
                        "Ask the front desk for the printed letter."
                    ),
                )
            ]
            if context["letter"] is not None
            else []
        )
        for section in context["sections"]:
            found.append(Piece("heading", section.heading))
            if intro := section.braille_intro or section.intro:
                found.append(Piece("paragraph", intro))
            for block in section.blocks:
                found += _block(block)
            if section.id == "records":
                found, letter = found + letter, []
        found += letter  # no records section: at the end
        found += [
            Piece("heading", gettext("If the two doctors do not agree")),
            Piece(
                "paragraph",
                gettext(
                    "You can get a third opinion. Or list the good and bad points of each plan, and compare them."
                ),
            ),
        ]
    return [replace(p, text=_one_line(p.text)) for p in found if _one_line(p.text)]


def _one_line(text: str) -> str:
    """The text on one line, without control characters: liblouis translates
    line by line, and a patient's words may hold anything."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(kept.split())


# --- liblouis -----------------------------------------------------------------------


def _table_folders() -> list[Path]:
    extra = [p for p in os.environ.get("LOUIS_TABLEPATH", "").split(",") if p]
    return [Path(p) for p in (*extra, *TABLE_FOLDERS)]


def _no_table(language: str) -> str:
    name = current_app.config["LANGUAGES"].get(language, language)
    return f"There is no braille table for handouts in {name}."


def table_for(language: str, tables: dict[str, str] = TABLES) -> str:
    """The liblouis table for a handout language (from ``tables``: the text's,
    or ``CODE_TABLES``). Raises BrailleUnavailable when there is none, or it
    is not installed."""
    table = tables.get(language)
    name = current_app.config["LANGUAGES"].get(language, language)
    if table is None:
        raise BrailleUnavailable(_no_table(language))
    if not any((folder / table).is_file() for folder in _table_folders()):
        raise BrailleUnavailable(
            f"The braille table for {name} ({table}) is not installed. Ask IT to install liblouis-data."
        )
    return table


def unavailable(language: str) -> str:
    """Why no braille can be made for a handout in `language`, or "". What is
    installed is the worker's to find (it may run on another machine than
    the desk): a job it cannot make fails with the reason."""
    return "" if language in TABLES else _no_table(language)


def translate(texts: list[str], language: str, *, backward: bool = False, table: str = "") -> list[str]:
    """Each text (one line each) in braille ASCII with the language's table
    (or `table`), in one run of lou_translate; ``backward``: braille back to print."""
    table = table or table_for(language)
    direction = "--backward" if backward else "--forward"
    # lou_translate reads backslash escapes ("\x0041") in its input, and
    # leaves a line with a bad one empty: a backslash is given as "\\".
    feed = "".join(text.replace("\\", "\\\\") + "\n" for text in texts).encode()
    try:
        done = subprocess.run(
            [LOU_TRANSLATE, direction, f"{DISPLAY},{table}"],
            input=feed,
            capture_output=True,
            timeout=TRANSLATE_TIMEOUT,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
            check=False,
        )
    except FileNotFoundError:
        raise BrailleUnavailable(
            "liblouis is not installed on the worker's computer. Ask IT to install liblouis-bin and liblouis-data."
        ) from None
    except subprocess.TimeoutExpired:
        raise BrailleUnavailable("Translating the handout into braille took too long. Tap Retry.") from None
    lines = done.stdout.decode("utf-8", "replace").split("\n")[: len(texts)]
    if done.returncode != 0 or len(lines) != len(texts):
        # Its messages name tables, never the text; still, only the status is logged.
        log.error("lou_translate failed (status %s) with table %s", done.returncode, table)
        raise BrailleUnavailable("liblouis could not translate the handout into braille. Ask IT to check it.")
    if backward:
        return lines
    return ["".join(c for c in line.upper() if c in _BRAILLE_ASCII) for line in lines]


def codes_in_braille(codes: list[str], language: str) -> list[str]:
    """Claim codes in braille ASCII, spelled letter by letter (uncontracted);
    in contracted braille, after the grade 1 word indicator where a reader
    would otherwise read a contraction ("CDAS": "couldas")."""
    if not codes:
        return []
    spelled = translate(codes, language, table=table_for(language, CODE_TABLES))
    if CODE_TABLES[language] == table_for(language):
        return spelled  # the handout is uncontracted already
    read = translate(spelled, language, backward=True)
    return [
        cells if back == code else GRADE_1_WORD + cells
        for code, cells, back in zip(codes, spelled, read, strict=True)
    ]


# --- lines and pages ----------------------------------------------------------------


def braille_number(number: int) -> str:
    """A page number in braille ASCII: the number sign, then a to j for the digits."""
    return "#" + "".join(_DIGITS[d] for d in str(number))


def wrap(text: str, cells: int, *, first: int = 0, rest: int = 0) -> list[str]:
    """Braille text in lines of at most `cells`, broken between words; a word
    longer than a line is broken with a hyphen. `first`, `rest`: cells left
    blank before the first line and before the others."""
    lines: list[str] = []
    indent, current = first, ""
    for word in text.split():
        while True:
            width = cells - indent
            if not current and len(word) > width:
                lines.append(" " * indent + word[: width - 1] + "-")
                word, indent = word[width - 1 :], rest
                continue
            if not current:
                current = word
            elif len(current) + 1 + len(word) <= width:
                current += " " + word
            else:
                lines.append(" " * indent + current)
                current, indent = "", rest
                continue
            break
    if current:
        lines.append(" " * indent + current)
    return lines


def lay_out(translated: list[Piece], *, cells: int, lines: int) -> bytes:
    """Braille pieces as BRF pages of `lines` lines of at most `cells` cells."""
    # The smallest page that holds a page number and a few words a line.
    if cells < MIN_BRAILLE_CELLS or lines < MIN_BRAILLE_LINES:
        raise ValueError(
            f"a braille page needs at least {MIN_BRAILLE_CELLS} cells and {MIN_BRAILLE_LINES} lines"
        )
    body = lines - 1  # the last line carries the page number
    pages: list[list[str]] = [[]]

    def room() -> int:
        return body - len(pages[-1])

    def put(line: str) -> None:
        if not room():
            pages.append([])
        pages[-1].append(line)

    def blank() -> None:
        # Never at the top of a page, never two together.
        if pages[-1] and pages[-1][-1] and room():
            pages[-1].append("")

    for piece in translated:
        if piece.kind in ("title", "heading"):
            heading = [line.strip().center(cells).rstrip() for line in wrap(piece.text, cells)]
            # A blank line before it (unless at the top), and a line of what follows after it.
            if room() < len(heading) + 2 and pages[-1] and len(heading) + 1 <= body:
                pages.append([])
            blank()
            for line in heading:
                put(line)
            if piece.kind == "title":
                blank()
        elif piece.kind == "paragraph":
            for line in wrap(piece.text, cells, first=PARAGRAPH_INDENT):
                put(line)
        else:
            for line in wrap(piece.text, cells, rest=RUNOVER_INDENT):
                put(line)
    formatted = []
    for number, page in enumerate(pages, 1):
        page = page + [""] * (body - len(page)) + [braille_number(number).rjust(cells)]
        formatted.append("".join(f"{line}\r\n" for line in page))
    return "\f".join(formatted).encode("ascii")


def handout_brf(
    answers: dict[str, Any],
    *,
    language: str,
    claim_code: str,
    created_at: datetime,
    cells: int | None = None,
    lines: int | None = None,
) -> tuple[bytes, int]:
    """The braille handout for one set of answers, as BRF bytes, and its page
    count. Page size: BRAILLE_CELLS × BRAILLE_LINES unless given. Raises
    BrailleUnavailable when it cannot be made here (no table for the language,
    liblouis missing)."""
    table_for(language)  # refused before anything is made
    table_for(language, CODE_TABLES)
    config = current_app.config
    cells = cells or config["BRAILLE_CELLS"]
    lines = lines or config["BRAILLE_LINES"]
    printed = pieces(answers, language=language, claim_code=claim_code, created_at=created_at)
    braille = translate([p.text for p in printed], language)
    codes = iter(codes_in_braille([p.code for p in printed if p.code], language))
    braille = [f"{b} {next(codes)}" if p.code else b for p, b in zip(printed, braille, strict=True)]
    brf = lay_out([Piece(p.kind, b) for p, b in zip(printed, braille, strict=True)], cells=cells, lines=lines)
    return brf, brf.count(b"\f") + 1
