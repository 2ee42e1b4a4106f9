"""The front desk's face: sign-in, the live queue, handouts and printing,
staff accounts.

Every URL here requires a signed-in staff member, except the sign-in page
(``sign_in.py``); while nothing can be saved, a read-only sign-in opens the
queue alone. The routes are thin: the queries and writes they call live
in ``kiosk.desk.service``, ``kiosk.print_jobs`` and ``kiosk.handout_jobs``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import errors, print_jobs
from ..clock import clinic_now, clinic_time
from ..content import definition
from ..models import utcnow

bp = Blueprint("desk", __name__, url_prefix="/desk")
log = logging.getLogger(__name__)


@bp.context_processor
def desk_labels() -> dict:
    """Words for ids the desk templates show: red-flag signs and print states."""
    return {"sign_labels": sign_labels(), "job_label": print_jobs.label}


def sign_labels() -> dict[str, str]:
    """Each red flag as staff read it on an urgent alert (the patient's wording is for the patient)."""
    return {flag.id: flag.staff_label for flag in definition().reportable_signs}


@bp.app_template_filter("desk_time")
def desk_time(value) -> str:
    """Stored UTC in the clinic's time: "14:05", or "Nov 27 14:05" on other days."""
    if value is None:
        return ""
    local = clinic_time(value)
    if local.date() == clinic_now().date():
        return local.strftime("%H:%M")
    return local.strftime("%b %d %H:%M")


@bp.app_template_filter("seconds_ago")
def seconds_ago(value) -> int:
    """How long ago a stored time was, in whole seconds, by the server's clock."""
    return max(0, int((utcnow() - value).total_seconds()))


@bp.app_template_filter("language_name")
def language_name(code: str) -> str:
    return current_app.config["LANGUAGES"].get(code, code)


# --- errors: staff see what failed and a way back ---------------------------------


ERROR_MESSAGES = {
    403: "This page is for administrators.",
    404: "That page or handout does not exist. It may have been deleted.",
    413: "That was too much to send.",
}


DATABASE_AWAY = (
    "The database cannot be reached, so the desk cannot show or save anything just now. "
    "Nothing is lost: this page will come back by itself when the database is back. "
    "If it stays like this for more than a few minutes, tell IT."
)
OUR_FAULT = "Something went wrong on the server. Please try again; if it keeps happening, tell IT."


def _problem(message: str, status: int, *, unexpected: bool = False, recovers: bool = False):
    """The desk's error page. After an unexpected error it asks nothing of the
    database (no signed-in staff member in the header: looking them up would
    fail again). ``recovers``: desk.js opens the page again by itself once it
    answers (the database is back)."""
    if request.headers.get("HX-Request"):
        # A poll or a tap: only the message, swapped into the queue in place; the poll goes on.
        return render_template("desk/_error.html", message=message), status
    retry_url = request.url if request.method == "GET" else url_for("desk.queue")
    return render_template(
        "desk/error.html",
        title="Problem",
        message=message,
        error_page=unexpected,
        retry_url=retry_url if recovers else None,
    ), status


@bp.errorhandler(CSRFError)
def csrf_error(_error: CSRFError):
    return _problem("The page had been open too long. Go back, reload it and try again.", 400)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    message = ERROR_MESSAGES.get(error.code or 400, "That request could not be handled. Please try again.")
    return _problem(message, error.code or 400)


@errors.page_for(bp.name)
def problem_page(status: int, trouble: errors.Trouble):
    away = trouble is errors.Trouble.DATABASE
    return _problem(DATABASE_AWAY if away else OUR_FAULT, status, unexpected=True, recovers=away)


from . import admin, handouts, queue, sign_in  # noqa: E402,F401  (registers the routes)
