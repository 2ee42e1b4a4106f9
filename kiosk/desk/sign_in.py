"""Signing in and out of the desk, changing one's own password, and the rule
that every other desk URL needs a signed-in staff member who was recently
active.

When nothing can be saved (a full disk, a read-only database), a right
password signs in *to read only* (``auth.read_only_cookie``): only the
pages in READ_ONLY_ENDPOINTS open, which write nothing; every other one
answers calmly that it needs to save. It ends as soon as the server can
save again, and the user signs in anew."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import auth, health
from ..extensions import login_manager
from ..models import Staff
from . import _problem, bp
from .forms import ChangePasswordForm, SignInForm

OPEN_ENDPOINTS = {"desk.sign_in"}
# What a read-only sign-in opens: the queue and its poll, which write nothing.
# A look-up, a handout, the admin pages are audited, so they need a write.
READ_ONLY_ENDPOINTS = {"desk.queue", "desk.queue_fragment", "desk.sign_out"}
# The queue's own polls are not activity: an open desk page must still time out.
PASSIVE_ENDPOINTS = {"desk.queue_fragment", "desk.jobs_fragment", "desk.handout_panel"}
SAFE_NEXT = re.compile(r"/desk(/[A-Za-z0-9_\-/]*)?")

CANNOT_SAVE_PASSWORD = (
    "The server cannot save anything just now: its disk may be full, or its database is read-only. "
    "Your password is unchanged. Please call IT."
)
READ_ONLY_CLOSED = (
    "You are signed in to read only, so this cannot be opened: it has to record something (in the audit "
    "log, at least), and the server cannot save anything just now. The queue and its alerts can still be "
    "seen. Please call IT."
)
SAVING_AGAIN = (
    "Everything can be saved again, so the read-only sign-in has ended. "
    "Please sign in again to acknowledge alerts, look up codes and print."
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
    found = auth.load_sign_in(
        token,
        idle=timedelta(hours=config["STAFF_SESSION_HOURS"]),
        lifetime=timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]),
    )
    g.desk_sign_in = found
    return found.staff


@bp.before_request
def require_staff():
    """Every desk URL needs a signed-in, active staff member whose session is
    still open; the polls of an open page do not count as activity. When that
    activity cannot be saved (a full disk), they read on, and are told."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        if request.endpoint not in PASSIVE_ENDPOINTS and not auth.touch(g.desk_sign_in.row):
            g.cannot_save = True
        return None
    if request.cookies.get(auth.READ_ONLY_COOKIE) is not None:
        return _read_only()
    ended = getattr(g, "desk_sign_in", None)
    if ended is not None and ended.ended_because in ("idle", "expired"):
        session.clear()
        flash("You were signed out after a period without activity. Please sign in again.")
    return _to_sign_in()


def _to_sign_in():
    if request.htmx:
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("desk.sign_in")
        return response
    return redirect(url_for("desk.sign_in", next=request.path if request.method == "GET" else None))


def _read_only():
    """A request with a read-only sign-in's cookie: read on while nothing can
    be saved; once it can, the read-only sign-in ends (never silently made a
    full one: see auth's note) and the user signs in anew."""
    config = current_app.config
    found = auth.load_read_only(
        request.cookies.get(auth.READ_ONLY_COOKIE),
        idle=timedelta(hours=config["STAFF_SESSION_HOURS"]),
        lifetime=timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]),
    )
    g.read_only = None  # ended, unless it holds
    if found is None:
        return _to_sign_in()
    refused = health.writes_refused()
    if refused is None:
        flash(SAVING_AGAIN)
        return _to_sign_in()
    g.read_only, g.refused = found, refused
    if request.endpoint in READ_ONLY_ENDPOINTS:
        return None
    return _problem(READ_ONLY_CLOSED, 503)


def _desk_cookie(response, name: str, value: str | None, *, max_age: int = 0):
    """Set a cookie of the desk's own, or delete it (`value` None): sent to
    desk pages only, never to scripts, and Secure behind HTTPS (a deleted
    one too: there every cookie, even one being deleted, is)."""
    attributes = {
        "path": url_for("desk.queue"),
        "secure": bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        "httponly": True,
        "samesite": "Lax",
    }
    if value is None:
        response.delete_cookie(name, **attributes)
    else:
        response.set_cookie(name, value, max_age=max_age, **attributes)
    return response


@bp.after_request
def keep_read_only(response):
    """Renew the read-only sign-in's cookie while it holds (``g.read_only``)
    and delete it once it has ended (None). A request that did not look at
    it (no ``g.read_only``: the sign-in page, say) leaves it as it is."""
    if "read_only" not in g:
        return response
    if g.read_only is None:
        return _desk_cookie(response, auth.READ_ONLY_COOKIE, None)
    value = auth.read_only_cookie(g.read_only, active=request.endpoint not in PASSIVE_ENDPOINTS)
    return _desk_cookie(response, auth.READ_ONLY_COOKIE, value, max_age=auth.READ_ONLY_MINUTES * 60)


@bp.context_processor
def storage_state() -> dict:
    return {
        "cannot_save": getattr(g, "cannot_save", False),
        "read_only": getattr(g, "read_only", None),
        "refused": getattr(g, "refused", None),
    }


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
    value = auth.remember_browser(known, staff)
    max_age = int(timedelta(days=auth.KNOWN_BROWSER_DAYS).total_seconds())
    return _desk_cookie(response, auth.KNOWN_BROWSER_COOKIE, value, max_age=max_age)


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
        if result.read_only and result.staff is not None:
            session.clear()
            g.read_only = auth.ReadOnly.begin(result.staff)
            return redirect(url_for("desk.queue"))
        if result.staff is not None:
            session.clear()  # nothing from before signing in carries over
            login_user(result.staff)
            session.permanent = True
            g.read_only = None  # a read-only sign-in on this browser ends
            response = redirect(_safe_next(request.args.get("next")))
            return _remember_browser(response, result.staff, known)
        if result.retry_after:
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
    if getattr(g, "read_only", None) is not None:
        # Nothing to end on the server: the cookie goes; a copy would hold until it expires.
        g.read_only = None
        session.clear()
        flash("You are signed out.")
        return redirect(url_for("desk.sign_in"))
    auth.record_sign_out(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("desk.sign_in"))
