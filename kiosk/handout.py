"""The take-home handout: answers → HTML → PDF.

``handout_context`` turns stored answers into what the page shows,
``render_handout_html`` fills the template (paper size included, so the HTML
is the whole handout), ``render_pdf`` runs WeasyPrint; ``render_handout`` does
all three. They need an application context (for templates and translations)
but no request, so the CLI, the benchmark (``kiosk/bench.py``) and the tests
call them directly.

Speed (``make bench``): nearly all the time is WeasyPrint's, mostly layout, so
the stylesheet avoids flex, grid and CSS columns; the stylesheet is parsed
once and one FontConfiguration is kept for the process; and fonts are subset
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
from flask_babel import force_locale, format_date, gettext
from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import questionnaire as qn
from .clock import clinic_time
from .visits import red_flags_reported

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

    def __init__(self, static_root: str | Path) -> None:
        super().__init__(allowed_protocols=("file",))
        self.root = Path(static_root).resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"handout may not fetch {parts.scheme or 'relative'}: URLs")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ValueError("handout may only fetch the app's static files")
        mime, _ = mimetypes.guess_type(path.name)
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": mime or "application/octet-stream"}
        )


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str = ""

    @classmethod
    def from_config(cls) -> Clinic:
        return cls(name=current_app.config["CLINIC_NAME"], phone=current_app.config["CLINIC_PHONE"])


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


def _labels(question_id: str, ids: list[str], attribute: str = "label") -> list[str]:
    question = qn.question(question_id)
    assert question is not None
    chosen = []
    for choice_id in ids:
        choice = question.choice(choice_id)
        if choice is not None:
            chosen.append(gettext(getattr(choice, attribute) or choice.label))
    return chosen


def _questions(answers: dict[str, Any]) -> list[HandoutQuestion]:
    """The patient's questions, starred ones first, in the order they starred them."""
    top = list(answers.get("top_questions") or [])
    picked = list(answers.get("questions") or [])
    own = [qid for qid in qn.OWN_QUESTION_IDS if answers.get(qid)]
    ordered = top + [q for q in picked if q not in top] + [q for q in own if q not in top]
    result = []
    for qid in ordered:
        if qid in qn.OWN_QUESTION_IDS:
            result.append(HandoutQuestion(answers[qid], own=True, top=qid in top))
        elif (bank := qn.bank_question(qid)) is not None:
            result.append(HandoutQuestion(gettext(bank.label), own=False, top=qid in top))
    return result


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
    footer between parts, never inside a date or the code.
    """
    code = gettext("Code")  # outside the f-string, where Babel finds it
    parts = [clinic.name, clinic.phone, date, f"{code} {claim_code}"]
    return " · ".join(part.replace(" ", "\u00a0") for part in parts if part)


def handout_context(
    answers: dict[str, Any], *, claim_code: str, created_at: datetime, clinic: Clinic
) -> dict[str, Any]:
    """Everything the handout template shows, from the stored answers."""
    confidence = _labels("confidence", [answers["confidence"]], "phrase") if answers.get("confidence") else []
    region = (
        _labels("spine_region", [answers["spine_region"]], "phrase") if answers.get("spine_region") else []
    )
    records_question = qn.question("records_exist")
    assert records_question is not None
    have = [r for r in answers.get("records_exist") or [] if r != "unsure"]
    # Unsure, or nothing ticked: list every kind, so the patient can ask for all.
    record_ids = have or [c.id for c in records_question.choices if c.id != "unsure"]
    companion = answers.get("companion")
    # rebase=False: Flask-Babel would otherwise turn it back into UTC.
    date = format_date(clinic_time(created_at), format="long", rebase=False)
    return {
        "claim_code": claim_code,
        "clinic": clinic,
        "date": date,
        "footer": _footer(clinic, date, claim_code),
        "warning_columns": _two_columns([gettext(q.warning) for q in qn.RED_FLAGS]),
        "reported_red_flags": bool(red_flags_reported(answers)),
        "region": region[0] if region else "",
        "recommendations": _labels(
            "first_recommendation", answers.get("first_recommendation") or [], "phrase"
        ),
        "confidence": confidence[0] if confidence else "",
        "reasons": _labels("reasons", [r for r in answers.get("reasons") or [] if r != "other"], "phrase"),
        "reason_in_own_words": answers.get("reasons_other") or "",
        "records": _labels("records_exist", record_ids),
        "records_requested": answers.get("records_requested") or "",
        "questions": _questions(answers),
        "companion": _labels("companion", [companion], "phrase")[0] if companion else "",
        "wants_advocate_help": answers.get("advocate_help") == "yes",
    }


def render_handout_html(context: dict[str, Any], language: str, *, paper: str = "letter") -> str:
    """The handout as one HTML string; the paper size is a class on ``<html>``.

    The stylesheet is not linked from it but given to WeasyPrint ready parsed
    (``render_options``).
    """
    paper = paper.lower()
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; use one of {', '.join(PAPER_SIZES)}")
    with force_locale(language):
        return render_template("handout/handout.html", language=language, paper=paper, **context)


@cache
def font_config() -> FontConfiguration:
    """One FontConfiguration for the process.

    Building one scans the system's fonts, and each keeps the ``@font-face``
    files it has loaded, so reusing it saves that work on every handout.
    """
    return FontConfiguration()


@atexit.register
def _release_cached_weasyprint_objects() -> None:
    """Free the cached FontConfiguration and stylesheet while the process is whole.

    Left to the interpreter's final clean-up, their Pango and GLib objects can be
    freed after the libraries behind them, and the process ends in a
    segmentation fault (seen with WeasyPrint 70 on Debian 12).
    """
    _parsed_stylesheet.cache_clear()
    font_config.cache_clear()
    gc.collect()


def static_root() -> Path:
    return Path(current_app.static_folder or "static").resolve()


def stylesheet() -> CSS:
    """``static/css/handout.css``, parsed once (and again only if the file changes)."""
    path = static_root() / "css" / "handout.css"
    return _parsed_stylesheet(path, path.stat().st_mtime_ns)


@cache
def _parsed_stylesheet(path: Path, mtime_ns: int) -> CSS:
    # Parsing it, with its @font-face rules, is a tenth of a render; a CSS
    # object is only read while rendering, so one can serve every handout.
    return CSS(filename=str(path), url_fetcher=StaticFilesOnly(path.parent.parent), font_config=font_config())


def html_document(html: str) -> HTML:
    """WeasyPrint's view of the handout HTML, reading only our static files."""
    root = static_root()
    return HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=StaticFilesOnly(root))


def render_options() -> dict[str, Any]:
    """Everything WeasyPrint is given besides the HTML (the benchmark uses them too)."""
    return {"stylesheets": [stylesheet()], "font_config": font_config(), **PDF_OPTIONS}


def render_document(html: str) -> Document:
    """Lay out the handout: pages and boxes, before the PDF is written."""
    return html_document(html).render(**render_options())


def render_pdf(html: str) -> tuple[bytes, int]:
    """WeasyPrint the handout HTML; returns the PDF and its page count."""
    document = render_document(html)
    return document.write_pdf(**PDF_OPTIONS), len(document.pages)


def handout_html(
    answers: dict[str, Any], *, language: str, claim_code: str, created_at: datetime, paper: str | None = None
) -> str:
    """The final HTML for one set of answers: what WeasyPrint is given."""
    with force_locale(language):
        context = handout_context(
            answers, claim_code=claim_code, created_at=created_at, clinic=Clinic.from_config()
        )
    return render_handout_html(context, language, paper=paper or current_app.config["HANDOUT_PAPER"])


def render_handout(
    answers: dict[str, Any], *, language: str, claim_code: str, created_at: datetime, paper: str | None = None
) -> tuple[bytes, int]:
    """The handout PDF for one set of answers, and its page count."""
    return render_pdf(
        handout_html(answers, language=language, claim_code=claim_code, created_at=created_at, paper=paper)
    )


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
