"""Calm error pages: nothing a patient can send ends in a bare 500."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        # A form from a page that sat too long, or a forged post. The step
        # blueprint answers for its own steps (keeping what was tapped);
        # anywhere else gets a page with a way back.
        from .patient import views

        handled = views.csrf_failed_on_step()
        if handled is not None:
            return handled
        return _error_screen(400, _("Something went wrong with that tap. Please try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 403:
            message = _("This page is for administrators.")
        elif error.code == 404:
            message = _("We could not find that page.")
        elif error.code == 413:
            message = _("That was too much text to send. Please make it shorter.")
        else:
            message = _("Something went wrong with that tap. Please try again.")
        return _error_screen(error.code or 400, message)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unexpected error on %s %s", request.method, request.path)
        db.session.rollback()
        return _error_screen(
            InternalServerError.code, _("Sorry, something went wrong on our side. Please try again.")
        )


FALLBACK_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Sorry</title>"
    "<h1>Sorry</h1><p>Something went wrong. Please ask the front desk for help.</p>"
    '<p><a href="/">Go to the start</a></p></html>'
)


def _error_screen(status: int, message: str):
    from .patient.views import render_screen

    try:
        if request.blueprint == "desk":
            return render_template("desk/error.html", title="Problem", message=message), status
        return render_screen("patient/_problem.html", _("Sorry"), status=status, message=message)
    except Exception:  # the error page itself failed: answer plainly, never a traceback
        log.exception("error page failed to render")
        return FALLBACK_PAGE, status
