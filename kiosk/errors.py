"""One handler for everything that goes wrong unexpectedly: a bug, or a
database that cannot be reached, is read-only or is full.

It logs (without patient data), rolls back, and asks the face the URL
belongs to for its page: the kiosk's calm "Sorry" (or, for a red flag, the
urgent screen), the desk's "Problem", FHIR's OperationOutcome. A face
registers its page with ``@errors.page_for(blueprint)``; URLs no face claims
(an unknown address, ``/healthz``) get the kiosk's page, since a kiosk is
what most often lands there (it registers itself as the default).

Every error page renders without the database: when it is the database that
failed, asking it again (for the signed-in staff member, say) would only
fail again, and the server would answer its own bare "Internal Server Error".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from . import storage
from .extensions import db, login_manager

log = logging.getLogger(__name__)

FALLBACK_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Sorry</title>"
    "<h1>Sorry</h1><p>Something went wrong. Please ask the front desk for help.</p>"
    '<p><a href="/">Go to the start</a></p></html>'
)
# How soon a client may ask again while the database is away.
RETRY_AFTER_SECONDS = 5


class Trouble(StrEnum):
    """What went wrong, as a face needs to know it to choose its words."""

    BUG = "bug"  # 500: something in our code
    DATABASE = "database"  # 503: the database cannot be reached, or it or its disk refuses writes


Page = Callable[[int, Trouble], object]
_pages: dict[str, Page] = {}
DEFAULT = ""  # the page for URLs no face claims


def page_for(blueprint: str, *, default: bool = False) -> Callable[[Page], Page]:
    """Register a face's page for unexpected errors on its URLs (and, with
    ``default``, on URLs no face claims): ``page(status, trouble)`` returns a
    response, and must not need the database."""

    def register(page: Page) -> Page:
        _pages[blueprint] = page
        if default:
            _pages[DEFAULT] = page
        return page

    return register


def database_trouble(error: BaseException) -> bool:
    """The database, not our code: unreachable, dropped, read-only, full, locked.
    A refused constraint (IntegrityError) is a bug or a race, not an outage.

    A refused write is told by ``storage.refusal``, the one reading of disk
    full and read-only the desk, ``/healthz`` and the worker use too: some of
    those are not OperationalErrors (PostgreSQL's read-only transaction is an
    InternalError)."""
    if storage.cannot_write(error):
        return True
    if isinstance(error, IntegrityError):
        return False
    if isinstance(error, OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, DisconnectionError | PendingRollbackError | PoolTimeout)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 404:
            return error_page(404, _("We could not find that page."))
        return error_page(error.code or 400, _("Something went wrong with that tap. Please try again."))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        trouble = Trouble.DATABASE if database_trouble(error) else Trouble.BUG
        if trouble is Trouble.DATABASE:
            # The driver's words only: the statement and its values stay out of the log.
            reason = getattr(error, "orig", None) or error
            first_line = str(reason).strip().splitlines()[0] if str(reason).strip() else ""
            log.error(
                "the database failed on %s %s: %s: %s",
                request.method,
                request.path,
                type(reason).__name__,
                first_line,
            )
        else:
            log.exception("unexpected error on %s %s", request.method, request.path)
        rollback()
        # Flask-Login puts the signed-in staff member in every template, looked
        # up from the database: an error page names no one instead.
        g._login_user = login_manager.anonymous_user()
        status = 503 if trouble is Trouble.DATABASE else 500
        page = _pages.get(request.blueprint or DEFAULT) or _pages.get(DEFAULT)
        try:
            response = app.make_response(page(status, trouble) if page else (FALLBACK_PAGE, status))
        except Exception:  # the error page itself failed: answer plainly, never a traceback
            log.exception("the error page failed to render")
            response = app.make_response((FALLBACK_PAGE, status))
        if trouble is Trouble.DATABASE:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def rollback() -> None:
    """Forget the failed transaction; with the database gone even that may fail."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection is dead: the pool replaces it)
        log.warning("could not roll back: the database connection is gone")


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
