"""The take-home handout: answers → HTML → PDF.

``handout_context`` turns stored answers into what the page shows,
``render_handout_html`` fills the template, ``render_pdf`` runs WeasyPrint. All
three need an application context (for templates and translations) but no
request, so the CLI and tests call them directly.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import current_app, render_template
from flask_babel import force_locale, format_date, gettext
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import questionnaire as qn

log = logging.getLogger(__name__)

PAPER_SIZES = {"letter": "letter", "a4": "A4"}


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


@dataclass(frozen=True)
class HandoutQuestion:
    text: str
    # True when the patient wrote it: the handout shows it as their own words.
    own: bool
    top: bool


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
    local_time = created_at.replace(tzinfo=UTC).astimezone()
    return {
        "claim_code": claim_code,
        "clinic": clinic,
        "date": format_date(local_time, format="long"),
        "warnings": [gettext(q.warning) for q in qn.RED_FLAGS],
        "reported_red_flags": bool([q for q in qn.RED_FLAGS if answers.get(q.id) == "yes"]),
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


def render_handout_html(context: dict[str, Any], language: str) -> str:
    with force_locale(language):
        return render_template("handout/handout.html", language=language, **context)


@cache
def _font_config() -> FontConfiguration:
    # One FontConfiguration for the process: building it scans fonts each time.
    return FontConfiguration()


def _stylesheets(paper: str) -> list[CSS]:
    size = PAPER_SIZES.get(paper, "letter")
    return [CSS(string=f"@page {{ size: {size}; }}", font_config=_font_config())]


def render_pdf(html: str, *, paper: str = "letter") -> tuple[bytes, int]:
    """WeasyPrint the handout HTML; returns the PDF and its page count."""
    static_root = Path(current_app.static_folder or "static")
    document = HTML(
        string=html, base_url=static_root.resolve().as_uri() + "/", url_fetcher=StaticFilesOnly(static_root)
    ).render(stylesheets=_stylesheets(paper), font_config=_font_config())
    return document.write_pdf(), len(document.pages)


def render_handout(
    answers: dict[str, Any], *, language: str, claim_code: str, created_at: datetime, paper: str | None = None
) -> tuple[bytes, int]:
    """The handout PDF for one set of answers, and its page count."""
    with force_locale(language):
        context = handout_context(
            answers, claim_code=claim_code, created_at=created_at, clinic=Clinic.from_config()
        )
    html = render_handout_html(context, language)
    return render_pdf(html, paper=paper or current_app.config["HANDOUT_PAPER"])
