"""Signing in and out of the desk, and the rule that every other desk URL
needs a signed-in staff member who was recently active."""

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
from .forms import SignInForm

OPEN_ENDPOINTS = {"desk.sign_in"}
# The queue's own polls are not activity: an open desk page must still time out.
PASSIVE_ENDPOINTS = {"desk.queue_fragment", "desk.jobs_fragment", "desk.handout_panel"}
SAFE_NEXT = re.compile(r"/desk(/[A-Za-z0-9_\-/]*)?")


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
    still open; the polls of an open page do not count as activity."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        if request.endpoint not in PASSIVE_ENDPOINTS:
            auth.touch(g.desk_session.row)
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


def staff_name() -> str:
    return current_user.username


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a plain desk path, or the queue."""
    if target and SAFE_NEXT.fullmatch(target):
        return target
    return url_for("desk.queue")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        result = auth.sign_in(form.username.data, form.password.data, request.remote_addr or "")
        if result.staff is not None:
            session.clear()  # nothing from before signing in carries over
            login_user(result.staff)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        if result.retry_after:
            form.form_errors.append(
                f"Too many attempts. Please wait {_duration(result.retry_after)} and try again."
            )
            status = 429
        else:
            form.form_errors.append("That name and password do not match an active account.")
            status = 401
    elif request.method == "POST":
        status = 400
    response = make_response(render_template("desk/sign_in.html", form=form, title="Sign in"), status)
    if status == 429:
        response.headers["Retry-After"] = str(result.retry_after)
    return response


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@bp.post("/sign-out")
def sign_out():
    auth.record_sign_out(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("desk.sign_in"))
