"""The app's last word on errors, for URLs no blueprint answers for (an
unknown address, ``/healthz``): the kiosk's calm "Sorry" screen, since a
kiosk is what most often lands there. The patient and desk blueprints
handle their own errors, each in its own words; nothing a patient can send
ends in a bare 500.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

log = logging.getLogger(__name__)

FALLBACK_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Sorry</title>"
    "<h1>Sorry</h1><p>Something went wrong. Please ask the front desk for help.</p>"
    '<p><a href="/">Go to the start</a></p></html>'
)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 404:
            return error_page(404, _("We could not find that page."))
        return error_page(error.code or 400, _("Something went wrong with that tap. Please try again."))

    @app.errorhandler(Exception)
    def unexpected_error(_error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_page(
            InternalServerError.code, _("Sorry, something went wrong on our side. Please try again.")
        )


def error_page(status: int, message: str):
    """A calm page with a way back to the start; plain HTML if even that fails."""
    try:
        page = render_template(
            "patient/page.html", screen_template="patient/_problem.html", title=_("Sorry"), message=message
        )
        return page, status
    except Exception:  # the error page itself failed: answer plainly, never a traceback
        log.exception("error page failed to render")
        return FALLBACK_PAGE, status
