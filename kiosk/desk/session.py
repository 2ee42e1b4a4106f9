"""Signing in and out of the desk, and the rule that every other desk URL
needs a signed-in staff member who was recently active."""

from __future__ import annotations

import re
import time

from flask import current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import auth
from ..extensions import db, login_manager
from ..models import MAX_ROW_ID, Staff
from . import bp
from .forms import SignInForm

OPEN_ENDPOINTS = {"desk.sign_in"}
# The queue's own polls are not activity: an open desk page must still time out.
PASSIVE_ENDPOINTS = {"desk.queue_fragment", "desk.jobs_fragment", "desk.handout_panel"}
SAFE_NEXT = re.compile(r"/desk(/[A-Za-z0-9_\-/]*)?")


@login_manager.user_loader
def load_staff(session_id: str) -> Staff | None:
    """The signed-in staff member, if the session's password version is current."""
    if not isinstance(session_id, str):
        return None
    staff_id, _, version = session_id.partition(":")
    if not staff_id.isdigit() or not version.isdigit() or int(staff_id) > MAX_ROW_ID:
        return None
    staff = db.session.get(Staff, int(staff_id))
    if staff is None or staff.session_version != int(version):
        return None  # the password was changed since: sign in again
    return staff


@bp.before_request
def require_staff():
    """Every desk URL needs a signed-in, active staff member who was recently active."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        idle_limit = current_app.config["STAFF_SESSION_HOURS"] * 3600
        last_seen = session.get("desk_seen")
        if isinstance(last_seen, int | float) and time.time() - last_seen <= idle_limit:
            if request.endpoint not in PASSIVE_ENDPOINTS:
                session["desk_seen"] = time.time()
            return None
        logout_user()
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
            session.clear()
            login_user(result.staff)
            session.permanent = True
            session["desk_seen"] = time.time()
            return redirect(_safe_next(request.args.get("next")))
        if result.retry_after:
            minutes = max(1, round(result.retry_after / 60))
            form.form_errors.append(f"Too many attempts. Please wait {minutes} minute(s) and try again.")
            status = 429
        else:
            form.form_errors.append("That name and password do not match an active account.")
            status = 401
    elif request.method == "POST":
        status = 400
    response = make_response(render_template("desk/sign_in.html", form=form, title="Sign in"), status)
    if status == 429:
        response.headers["Retry-After"] = "60"
    return response


@bp.post("/sign-out")
def sign_out():
    auth.record_sign_out(staff_name())
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("desk.sign_in"))
