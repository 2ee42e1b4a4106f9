"""Signing in and out of the desk, changing one's own password, and the rule
that every other desk URL needs a signed-in staff member who was recently
active."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import auth
from ..extensions import login_manager
from ..models import Staff
from . import bp
from .forms import ChangePasswordForm, SignInForm

OPEN_ENDPOINTS = {"desk.sign_in"}
# The queue's own polls are not activity: an open desk page must still time out.
PASSIVE_ENDPOINTS = {"desk.queue_fragment", "desk.jobs_fragment", "desk.handout_panel"}
SAFE_NEXT = re.compile(r"/desk(/[A-Za-z0-9_\-/]*)?")

CANNOT_SAVE = (
    "The server cannot save anything just now: its disk may be full, or its database is read-only. "
    "Signing in has to be saved, so it is not possible until that is fixed. Please call IT. "
    "Staff who are signed in already can still see the queue."
)
CANNOT_SAVE_PASSWORD = (
    "The server cannot save anything just now: its disk may be full, or its database is read-only. "
    "Your password is unchanged. Please call IT."
)
ACCOUNT_HELD = (
    "Someone has tried many wrong passwords for this name. Please wait {wait} and try again, or ask an "
    "administrator to clear the failed sign-ins on the Staff page. On a computer where you have signed "
    "in before, this does not hold you up."
)


@login_manager.user_loader
def load_staff(token: str) -> Staff | None:
    """The staff member whose desk session this is, while it is still open."""
    config = current_app.config
    found = auth.load_session(
        token,
        idle=timedelta(hours=config["STAFF_SESSION_HOURS"]),
        lifetime=timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]),
    )
    g.desk_session = found
    return found.staff


@bp.before_request
def require_staff():
    """Every desk URL needs a signed-in, active staff member whose session is
    still open; the polls of an open page do not count as activity. When that
    activity cannot be saved (a full disk), they read on, and are told."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        if request.endpoint not in PASSIVE_ENDPOINTS and not auth.touch(g.desk_session.row):
            g.cannot_save = True
        return None
    ended = getattr(g, "desk_session", None)
    if ended is not None and ended.ended_because in ("idle", "expired"):
        session.clear()
        flash("You were signed out after a period without activity. Please sign in again.")
    if request.htmx:
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("desk.sign_in")
        return response
    return redirect(url_for("desk.sign_in", next=request.path if request.method == "GET" else None))


@bp.context_processor
def storage_state() -> dict:
    return {"cannot_save": getattr(g, "cannot_save", False)}


def staff_name() -> str:
    return current_user.username


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a plain desk path, or the queue."""
    if target and SAFE_NEXT.fullmatch(target):
        return target
    return url_for("desk.queue")


def _known_browser() -> auth.KnownBrowser | None:
    return auth.read_known_browser(request.cookies.get(auth.KNOWN_BROWSER_COOKIE))


def _remember_browser(response, staff: Staff, known: auth.KnownBrowser | None):
    """The browser is now known to `staff`: strangers' failures do not hold it up."""
    response.set_cookie(
        auth.KNOWN_BROWSER_COOKIE,
        auth.remember_browser(known, staff),
        max_age=int(timedelta(days=auth.KNOWN_BROWSER_DAYS).total_seconds()),
        path=url_for("desk.queue"),
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )
    return response


def _held_message(retry_after: int, held_by: str) -> str:
    if held_by == "account":
        return ACCOUNT_HELD.format(wait=_duration(retry_after))
    return f"Too many attempts. Please wait {_duration(retry_after)} and try again."


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    status = 200
    retry_after = 0
    if form.validate_on_submit():
        known = _known_browser()
        result = auth.sign_in(form.username.data, form.password.data, request.remote_addr or "", known)
        if result.staff is not None:
            session.clear()  # nothing from before signing in carries over
            login_user(result.staff)
            session.permanent = True
            response = redirect(_safe_next(request.args.get("next")))
            return _remember_browser(response, result.staff, known)
        if result.cannot_save:
            form.form_errors.append(CANNOT_SAVE)
            status = 503
        elif result.retry_after:
            retry_after = result.retry_after
            form.form_errors.append(_held_message(retry_after, result.held_by))
            status = 429
        else:
            form.form_errors.append("That name and password do not match an active account.")
            status = 401
    elif request.method == "POST":
        status = 400
    response = make_response(render_template("desk/sign_in.html", form=form, title="Sign in"), status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    """A staff member changes their own password: the current one, then the
    new one twice. Their other sessions end; this one goes on."""
    form = ChangePasswordForm()
    status = 200
    retry_after = 0
    if form.validate_on_submit():
        known = _known_browser()
        result = auth.change_own_password(
            current_user,
            form.current_password.data,
            form.new_password.data,
            remote_addr=request.remote_addr or "",
            known=known,
            keep_token=current_user.session_token,
        )
        if result.done:
            flash("Your password is changed. You are signed out everywhere else.")
            response = redirect(url_for("desk.queue"), 303)
            return _remember_browser(response, current_user, known)
        if result.cannot_save:
            form.form_errors.append(CANNOT_SAVE_PASSWORD)
            status = 503
        elif result.retry_after:
            retry_after = result.retry_after
            form.form_errors.append(_held_message(retry_after, result.held_by))
            status = 429
        else:
            form.form_errors.append(result.error)
            status = 400
    elif request.method == "POST":
        status = 400
    page = render_template(
        "desk/password.html", form=form, title="Change your password", min_length=auth.MIN_PASSWORD_LENGTH
    )
    response = make_response(page, status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.post("/sign-out")
def sign_out():
    auth.record_sign_out(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("desk.sign_in"))
