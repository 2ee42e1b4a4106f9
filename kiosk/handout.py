"""The take-home handout: answers → HTML → PDF.

Two ways in, both from one visit's stored answers: ``handout_html`` (the
whole handout as one HTML string, paper size included: what WeasyPrint is
given) and ``handout_pdf`` (the PDF and its page count). Everything else
here is a step of those two: ``_context`` turns the answers into what the
page shows, ``_from_template`` fills the template, ``_laid_out`` has
WeasyPrint lay the HTML out in pages and ``_pdf_from_html`` writes the PDF.
They need an application context (for templates and translations) but no
request, so the worker, the CLI, the benchmark (``kiosk/bench.py``) and the
tests call them directly.

Speed (``make bench``): nearly all the time is WeasyPrint's, mostly layout, so
the stylesheet avoids flex, grid and CSS columns; the stylesheet is parsed
once and one font configuration is kept for the process; and fonts are subset
with HarfBuzz when ``libharfbuzz-subset`` is installed (``log_font_subsetter``
says which, once at start-up).
"""

from __future__ import annotations

import atexit
import gc
import logging
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import current_app, render_template
from flask_babel import force_locale, format_date, get_locale
from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import content, languages
from . import questionnaire as qn
from .clock import clinic_time
from .content import Clinic, gettext
from .extensions import text_direction
from .handout_fonts import HandoutFonts
from .languages import babel_locale

log = logging.getLogger(__name__)


class _KeepPatientTextOutOfLogs(logging.Filter):
    """WeasyPrint warns once for every character no font can draw, quoting it.

    For a patient who writes in a script we have no font for, that would put
    their words in the log one character at a time; logs never hold answers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(".notdef glyph")


logging.getLogger("weasyprint").addFilter(_KeepPatientTextOutOfLogs())

PAPER_SIZES = ("letter", "a4")
"""Paper the handout can be set for (``HANDOUT_PAPER``); the stylesheet sizes each."""

# PDF/UA-1: a tagged PDF (structure tree, reading order, /MarkInfo) with the
# document title shown and the language set from <html lang>.
PDF_OPTIONS: dict[str, Any] = {"pdf_variant": "pdf/ua-1"}


class StaticFilesOnly(URLFetcher):
    """Lets WeasyPrint read the app's own static files and nothing else.

    The handout template only links to files under ``static/``. Anything else
    (a ``file:`` path outside it, ``http:``, ``data:``) is refused, so even if a
    patient's words ever reached the HTML unescaped, the PDF could not pull in
    a file from the server or call out to the network.
    """

    def __init__(self, static_root: str | Path, also: dict[Path, bytes] | None = None) -> None:
        super().__init__(allowed_protocols=("file",))
        self.root = Path(static_root).resolve()
        # Files outside it that may be read too, as they were checked: the clinic's logo.
        self.also = {path.resolve(): data for path, data in (also or {}).items()}

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"handout may not fetch {parts.scheme or 'relative'}: URLs")
        path = Path(url2pathname(parts.path)).resolve()
        mime, _ = mimetypes.guess_type(path.name)
        if path in self.also:
            return URLFetcherResponse(
                url, body=self.also[path], headers={"Content-Type": mime or "image/png"}
            )
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ValueError("handout may only fetch the app's static files")
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": mime or "application/octet-stream"}
        )


SHORT_OWN_QUESTION = 120
"""Characters: a question of the patient's own up to this long sits two to a row
like the ready-made ones (about three lines in half the width); a longer one runs
across the page."""


@dataclass(frozen=True)
class HandoutQuestion:
    text: str
    # True when the patient wrote it: the handout shows it as their own words.
    own: bool
    top: bool

    @property
    def across(self) -> bool:
        """Too long for half the page's width: the handout gives it a row of its own."""
        return self.own and len(self.text) > SHORT_OWN_QUESTION


@dataclass(frozen=True)
class Block:
    """One answer as the handout prints it (``qn.HandoutLayout``), already translated."""

    style: str
    lead_in: str = ""
    items: tuple[str, ...] = ()
    words: str = ""
    questions: tuple[HandoutQuestion, ...] = ()
    blanks: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandoutSection:
    id: str
    heading: str
    intro: str
    blocks: tuple[Block, ...]
    braille_intro: str = ""  # the intro in braille, where the paper's speaks of paper


def _block(definition: qn.Definition, question: qn.Question, answers: dict[str, Any]) -> Block | None:
    """How one question's answer reads on the handout, or None for nothing."""
    reads = question.handout
    style = reads.style or question.kind_of.handout_style
    lead_in = gettext(reads.lead_in) if reads.lead_in else ""
    blanks = tuple(gettext(b) for b in reads.blanks)
    if style == "words":
        text = answers.get(question.id)
        if not text or not isinstance(text, str):
            return None
        return Block(style, lead_in or gettext(question.label), words=text)
    if style == "questions":
        picked = tuple(
            HandoutQuestion(q.text if q.own else gettext(q.text), own=q.own, top=q.top)
            for q in question.picked(answers)
        )
        return Block(style, questions=picked) if picked else None
    chosen = question.chosen(answers)
    if not chosen and (fallback := question.choice(reads.unanswered)) is not None:
        chosen = [fallback]
    shown = [c for c in chosen if c.id not in reads.skip]
    if style == "ticks":
        if not shown and reads.every_if_none:
            shown = [c for c in question.all_choices() if c.id not in reads.skip]
        return Block(style, lead_in, tuple(gettext(c.label) for c in shown), blanks=blanks)
    if style == "phrase":
        phrases = tuple(gettext(c.phrase) for c in shown if c.phrase)
        return Block(style, items=phrases, blanks=blanks) if phrases or blanks else None
    if not chosen:
        return None
    if style == "sentence":
        sentence = ", ".join(gettext(c.phrase or c.label) for c in shown)
        then = definition.question(reads.then) if reads.then else None
        ending = [gettext(c.phrase or c.label) for c in then.chosen(answers)] if then else []
        if ending:
            sentence += f" {gettext(reads.joiner)} {ending[0]}" if reads.joiner else f" {ending[0]}"
        return Block(style, lead_in, (sentence,))
    if style == "list":
        # A list with only its skipped choices ("Something else") still leads
        # in to the follow-up that answers it ("In my words: …").
        followed = any(q.depends_on == question.id and answers.get(q.id) for q in definition.fields())
        if not shown and not followed:
            return None
        return Block(
            style, lead_in or gettext(question.label), tuple(gettext(c.phrase or c.label) for c in shown)
        )
    return Block("answer", lead_in or gettext(question.label), tuple(gettext(c.label) for c in shown))


def _letter_asked(definition: qn.Definition, answers: dict[str, Any]) -> qn.Question | None:
    """The question read as ``letter`` if the patient answered it yes."""
    return next(
        (q for q in definition.fields() if q.handout.style == "letter" and answers.get(q.id) == "yes"), None
    )


def asks_for_letter(answers: dict[str, Any]) -> bool:
    """Whether the patient asked for the records-request letter."""
    return _letter_asked(content.definition(), answers) is not None


def letter_records(answers: dict[str, Any]) -> list[str] | None:
    """The records the patient's letter asks for (translated), or None if they
    did not ask for a letter."""
    definition = content.definition()
    question = _letter_asked(definition, answers)
    if question is None:
        return None
    listed = definition.question(question.handout.then)
    block = _block(definition, listed, answers) if listed else None
    return list(block.items) if block else []


def _sections(definition: qn.Definition, answers: dict[str, Any]) -> list[HandoutSection]:
    """The answers' sections in the definition's order, each with its blocks
    in its questions' order; a section with nothing to show is left out."""
    found: dict[str, list[tuple[int, Block]]] = {s.id: [] for s in definition.sections}
    for step in definition.steps:
        for question in step.questions:
            if question.handout.style in ("none", "letter"):
                continue
            if (block := _block(definition, question, answers)) is not None:
                found[question.handout.section or step.section].append((question.handout.order, block))
    return [
        HandoutSection(
            s.id,
            gettext(s.heading),
            gettext(s.intro) if s.intro else "",
            tuple(block for _, block in sorted(found[s.id], key=lambda pair: pair[0])),
            gettext(s.braille_intro) if s.braille_intro else "",
        )
        for s in definition.sections
        if found[s.id]
    ]


def _two_columns(items: list[str]) -> tuple[list[str], list[str]]:
    """Split a list, in order, into two columns of about the same length of text."""
    total = sum(len(item) for item in items)
    best, best_split, running = total, 0, 0
    for split in range(len(items) + 1):
        if abs(total - 2 * running) < best:
            best, best_split = abs(total - 2 * running), split
        if split < len(items):
            running += len(items[split])
    return items[:best_split], items[best_split:]


def _footer(clinic: Clinic, date: str, claim_code: str) -> str:
    """Clinic, phone, date and claim code, for the foot of every page.

    Spaces inside each part are non-breaking, so a long clinic name wraps the
    footer between parts, never inside a date or the code. On a right-to-left
    page each part, and the code within its own, is isolated (FSI or LRI ...
    PDI; margin text has no element to carry a dir): a phone number, a date or
    the code keeps its order, and the parts read right to left.
    """
    code = gettext("Code")  # outside the f-string, where Babel finds it
    rtl = text_direction() == "rtl"
    claim = f"\u2066{claim_code}\u2069" if rtl else claim_code
    parts = [clinic.name, clinic.phone, date, f"{code} {claim}"]
    parts = [part.replace(" ", "\u00a0") for part in parts if part]
    return " · ".join(f"\u2068{part}\u2069" if rtl else part for part in parts)


def _context(
    answers: dict[str, Any], *, claim_code: str, created_at: datetime, clinic: Clinic
) -> dict[str, Any]:
    """Everything the handout template shows, from the stored answers."""
    definition = content.definition()
    signs = definition.signs_question
    # rebase=False: Flask-Babel would otherwise turn it back into UTC.
    local = clinic_time(created_at)
    date = languages.long_date(local.date(), languages.tag_of(get_locale())) or format_date(
        local, format="long", rebase=False
    )
    return {
        "claim_code": claim_code,
        "clinic": clinic,
        "date": date,
        "footer": _footer(clinic, date, claim_code),
        "warning_columns": _two_columns([gettext(flag.warning) for flag in signs.choices]),
        "reported_red_flags": bool(definition.red_flags_reported(answers)),
        "sections": _sections(definition, answers),
        "letter": letter_records(answers),
    }


def _from_template(
    context: dict[str, Any], language: str, *, paper: str = "letter", letter_only: bool = False
) -> str:
    """The handout as one HTML string; the paper size is a class on ``<html>``.

    The stylesheet is not linked from it but given to WeasyPrint ready parsed
    (``_render_options``).
    """
    paper = paper.lower()
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; use one of {', '.join(PAPER_SIZES)}")
    with force_locale(babel_locale(language)):
        return render_template(
            "handout/handout.html", language=language, paper=paper, letter_only=letter_only, **context
        )


@cache
def _font_config() -> HandoutFonts:
    """One font configuration for the process: the bundled fonts and the one
    named fallback, never the machine's others (``kiosk/handout_fonts.py``).

    Each keeps the ``@font-face`` files it has loaded, so reusing it saves
    that work on every handout.
    """
    return HandoutFonts()


@atexit.register
def _release_cached_weasyprint_objects() -> None:
    """Free the cached FontConfiguration and stylesheet while the process is whole.

    Left to the interpreter's final clean-up, their Pango and GLib objects can be
    freed after the libraries behind them, and the process ends in a
    segmentation fault (seen with WeasyPrint 70 on Debian 12).
    """
    _parsed_stylesheet.cache_clear()
    _font_config.cache_clear()
    gc.collect()


def _static_root() -> Path:
    return Path(current_app.static_folder or "static").resolve()


def _stylesheet() -> CSS:
    """``static/css/handout.css`` with the ``fonts.css`` it imports, parsed once
    (and again only if either file changes)."""
    path = _static_root() / "css" / "handout.css"
    changed = tuple(p.stat().st_mtime_ns for p in (path, path.with_name("fonts.css")))
    return _parsed_stylesheet(path, changed)


@cache
def _parsed_stylesheet(path: Path, changed: tuple[int, ...]) -> CSS:
    # Parsing it, with its @font-face rules, is a tenth of a render; a CSS
    # object is only read while rendering, so one can serve every handout.
    return CSS(
        filename=str(path), url_fetcher=StaticFilesOnly(path.parent.parent), font_config=_font_config()
    )


def _weasyprint_html(html: str) -> HTML:
    """WeasyPrint's view of the handout HTML, reading only our static files."""
    root = _static_root()
    clinic = content.clinic()
    fetcher = StaticFilesOnly(root, also={clinic.logo: clinic.logo_data} if clinic.logo else None)
    return HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=fetcher)


def _render_options() -> dict[str, Any]:
    """Everything WeasyPrint is given besides the HTML."""
    return {"stylesheets": [_stylesheet()], "font_config": _font_config(), **PDF_OPTIONS}


def _laid_out(html: str) -> Document:
    """Lay out the handout: pages and boxes, before the PDF is written."""
    return _weasyprint_html(html).render(**_render_options())


def _pdf_from_html(html: str) -> tuple[bytes, int]:
    """WeasyPrint the handout HTML; returns the PDF and its page count."""
    document = _laid_out(html)
    return document.write_pdf(**PDF_OPTIONS), len(document.pages)


def handout_content(
    answers: dict[str, Any], *, language: str, claim_code: str, created_at: datetime
) -> dict[str, Any]:
    """What the handout shows, in `language`, as data: the page's sections and
    blocks, the warning signs, the claim code, the clinic, the date. The
    printed handout and the braille one (``kiosk.braille``) are made from it."""
    with force_locale(babel_locale(language)):
        return _context(answers, claim_code=claim_code, created_at=created_at, clinic=content.clinic())


def handout_html(
    answers: dict[str, Any],
    *,
    language: str,
    claim_code: str,
    created_at: datetime,
    paper: str | None = None,
    letter_only: bool = False,
) -> str:
    """The final HTML for one set of answers: what WeasyPrint is given.
    ``letter_only``: just the records-request letter, to print it alone."""
    context = handout_content(answers, language=language, claim_code=claim_code, created_at=created_at)
    paper = paper or current_app.config["HANDOUT_PAPER"]
    return _from_template(context, language, paper=paper, letter_only=letter_only)


def handout_pdf(answers: dict[str, Any], **options: Any) -> tuple[bytes, int]:
    """The handout PDF for one set of answers (or its letter alone), and its
    page count; ``options`` as for ``handout_html``. The one way to a handout PDF."""
    return _pdf_from_html(handout_html(answers, **options))


def font_subsetter() -> str:
    """Which library WeasyPrint will subset embedded fonts with.

    WeasyPrint 70 uses HarfBuzz's subsetter when ``libharfbuzz-subset`` (4.1 or
    newer) loads, and otherwise falls back to fontTools, which makes a handout
    several times slower to render (see ``weasyprint/pdf/fonts.py``).
    """
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return "harfbuzz"
    return "fonttools"


def log_font_subsetter() -> str:
    """Log which font subsetter the handouts will use; ``create_app`` calls it once."""
    subsetter = font_subsetter()
    if subsetter == "harfbuzz":
        log.info("handout fonts are subset with HarfBuzz (libharfbuzz-subset)")
    else:
        log.warning(
            "handout fonts are subset with fontTools: handouts render several times slower; "
            "install libharfbuzz-subset0 (apt-get install libharfbuzz-subset0)"
        )
    return subsetter
