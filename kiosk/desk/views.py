"""Desk routes: sign-in, the live queue, a handout's page, printing, alerts."""

from __future__ import annotations

import hashlib
import re
import time

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import auth, print_jobs, printing
from ..auth import audit
from ..clock import clinic_now, clinic_time
from ..extensions import db, login_manager
from ..models import MAX_ROW_ID, Alert, PrintJob, Staff, Submission, utcnow
from ..questionnaire import RED_FLAGS
from ..visits import CLAIM_CODE_ALPHABET, CLAIM_CODE_LENGTH
from . import bp
from .forms import LookupForm, PrintForm, SignInForm

OPEN_ENDPOINTS = {"desk.sign_in"}
# The queue's own poll is not activity: an open desk page must still time out.
PASSIVE_ENDPOINTS = {"desk.queue_fragment", "desk.jobs_fragment", "desk.refresh_print_status"}
QUEUE_LENGTH = 100
SIGN_LABELS = {q.id: q.warning for q in RED_FLAGS}


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


@bp.context_processor
def desk_labels() -> dict:
    """Words for ids the desk templates show: red-flag signs and print states."""
    return {"sign_labels": SIGN_LABELS, "job_label": print_jobs.label}


def _staff_name() -> str:
    return current_user.username


SAFE_NEXT = re.compile(r"/desk(/[A-Za-z0-9_\-/]*)?")


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a plain desk path, or the queue."""
    if target and SAFE_NEXT.fullmatch(target):
        return target
    return url_for("desk.queue")


# --- signing in and out ---------------------------------------------------------


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
            audit(result.staff.username, "sign-in")
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
    audit(_staff_name(), "sign-out")
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("desk.sign_in"))


# --- the queue ----------------------------------------------------------------


OPEN_ALERT = Alert.acknowledged_at.is_(None)


def _latest(*columns):
    """The handouts the queue shows: the newest QUEUE_LENGTH."""
    return select(*columns).order_by(Submission.created_at.desc(), Submission.id.desc()).limit(QUEUE_LENGTH)


def _queue_context() -> dict:
    alerts = db.session.scalars(select(Alert).where(OPEN_ALERT).order_by(Alert.created_at.desc())).all()
    submissions = db.session.scalars(_latest(Submission).options(selectinload(Submission.print_jobs))).all()
    return {"alerts": alerts, "submissions": submissions}


def _queue_etag() -> str:
    """A fingerprint of the rows the queue shows (open alerts, the latest
    handouts and their print jobs), each by id and last change: if none has
    changed, the poll answers 304 with no body.

    Every row shown is in it, not just the latest change, so two changes
    committed out of order (by two app processes) are both seen."""
    alerts = db.session.execute(select(Alert.id, Alert.updated_at).where(OPEN_ALERT).order_by(Alert.id)).all()
    submissions = db.session.execute(_latest(Submission.id, Submission.updated_at)).all()
    jobs = db.session.execute(
        select(PrintJob.id, PrintJob.updated_at)
        .where(PrintJob.submission_id.in_([row.id for row in submissions]))
        .order_by(PrintJob.id)
    ).all()
    fingerprint = repr((alerts, submissions, jobs)).encode()
    return hashlib.sha256(fingerprint).hexdigest()[:32]


@bp.get("/")
def queue():
    return render_template(
        "desk/queue.html",
        title="Front desk",
        etag=_queue_etag(),
        lookup=LookupForm(request.args),
        **_queue_context(),
    )


@bp.get("/queue")
def queue_fragment():
    # Never waits on CUPS: an urgent alert must not queue behind a slow print
    # server. Print states are refreshed by refresh_print_status, separately.
    etag = _queue_etag()
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = make_response(render_template("desk/_queue.html", **_queue_context()))
    response.set_etag(etag)
    return response


@bp.post("/print-status")
def refresh_print_status():
    """Ask CUPS about jobs still on their way. The queue page calls this every
    few seconds in a request of its own; changes show at the next poll.
    Jobs that wait for the print server are sent once it is back."""
    print_jobs.resend_waiting_jobs()
    print_jobs.refresh_active_jobs()
    return "", 204


@bp.get("/lookup")
def lookup():
    form = LookupForm(request.args)
    code = "".join((form.code.data or "").split()).upper()
    if form.validate() and len(code) == CLAIM_CODE_LENGTH and set(code) <= set(CLAIM_CODE_ALPHABET):
        submission = db.session.scalar(select(Submission).where(Submission.claim_code == code))
        if submission is not None:
            return redirect(url_for("desk.handout", submission_id=submission.id))
        flash(f"No handout has the code {code}. Check the code with the patient.")
    else:
        flash("A claim code is 4 letters and digits, like K7P2.")
    return redirect(url_for("desk.queue"))


@bp.post("/alerts/<id:alert_id>/acknowledge")
def acknowledge_alert(alert_id: int):
    alert = db.session.get(Alert, alert_id) or abort(404)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = _staff_name()
        db.session.commit()
        audit(_staff_name(), "acknowledge-alert", f"alert {alert.id}")
    if request.htmx:
        return queue_fragment()
    return redirect(url_for("desk.queue"))


# --- one handout --------------------------------------------------------------


def _submission(submission_id: int) -> Submission:
    return db.session.get(Submission, submission_id) or abort(404)


def _printers() -> list[printing.Printer]:
    """The printers CUPS lists now, plus those configured or used before.

    When the print server is down it lists none; staff can still choose the
    usual printer, and the job is stored and shown as failed with the reason,
    ready to retry, instead of being impossible to ask for.
    """
    printers = printing.list_printers()
    listed = {p.name for p in printers}
    known = set(db.session.scalars(select(PrintJob.printer).distinct()).all())
    known |= {current_app.config.get("DEFAULT_PRINTER"), current_app.config.get("AUTO_PRINT_PRINTER")}
    for name in sorted(n for n in known if n and n not in listed):
        printers.insert(
            -1,
            printing.Printer(
                name, name, is_directory=False, state="unknown", reason="not listed by CUPS now"
            ),
        )
    return printers


def _print_form() -> PrintForm:
    form = PrintForm()
    printers = _printers()
    form.printer.choices = [(p.name, p.label) for p in printers]
    default = current_app.config.get("DEFAULT_PRINTER")
    if not form.is_submitted():
        names = [p.name for p in printers]
        form.printer.data = default if default in names else names[0]
    form.printers = printers  # for showing each printer's state
    return form


@bp.get("/handouts/<id:submission_id>")
def handout(submission_id: int):
    submission = _submission(submission_id)
    print_jobs.refresh_jobs(submission.print_jobs)
    return render_template(
        "desk/handout.html",
        title=f"Handout {submission.claim_code}",
        submission=submission,
        form=_print_form(),
    )


@bp.get("/handouts/<id:submission_id>/jobs")
def jobs_fragment(submission_id: int):
    submission = _submission(submission_id)
    print_jobs.refresh_jobs(submission.print_jobs)
    return render_template("desk/_jobs.html", submission=submission)


@bp.get("/handouts/<id:submission_id>/pdf")
def handout_pdf(submission_id: int):
    submission = _submission(submission_id)
    audit(_staff_name(), "preview", f"handout {submission.claim_code}")
    response = make_response(submission.pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="handout-{submission.claim_code}.pdf"'
    # The desk page shows the PDF in a frame of its own origin.
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/handouts/<id:submission_id>/print")
def print_handout(submission_id: int):
    submission = _submission(submission_id)
    form = _print_form()
    if form.validate_on_submit():
        job = print_jobs.print_submission(submission, form.printer.data, requested_by=_staff_name())
        action = "reprint" if len(submission.print_jobs) > 1 else "print"
        audit(_staff_name(), action, f"handout {submission.claim_code} to {job.printer}")
    else:
        flash("Please choose one of the printers listed.")
    if request.htmx:
        return jobs_fragment(submission_id)
    return redirect(url_for("desk.handout", submission_id=submission.id))


@bp.post("/jobs/<id:job_id>/retry")
def retry_job(job_id: int):
    job = db.session.get(PrintJob, job_id) or abort(404)
    if job.state == "failed":
        print_jobs.retry(job)
        audit(_staff_name(), "retry-print", f"handout {job.submission.claim_code} to {job.printer}")
    if request.htmx:
        return jobs_fragment(job.submission_id)
    return redirect(url_for("desk.handout", submission_id=job.submission_id))


@bp.post("/handouts/<id:submission_id>/handed-over")
def hand_over(submission_id: int):
    submission = _submission(submission_id)
    if submission.handed_over_at is None:
        submission.handed_over_at = utcnow()
        submission.handed_over_by = _staff_name()
        db.session.commit()
        audit(_staff_name(), "hand-over", f"handout {submission.claim_code}")
    return redirect(url_for("desk.handout", submission_id=submission.id))


@bp.get("/handouts/<id:submission_id>/delete")
def confirm_delete(submission_id: int):
    submission = _submission(submission_id)
    return render_template("desk/confirm_delete.html", title="Delete handout", submission=submission)


@bp.post("/handouts/<id:submission_id>/delete")
def delete_handout(submission_id: int):
    """Delete the handout and the answers it was made from."""
    submission = _submission(submission_id)
    code = submission.claim_code
    print_jobs.remove_saved_copies(submission)
    db.session.delete(submission.visit)
    db.session.commit()
    audit(_staff_name(), "delete", f"handout {code}")
    flash(f"Handout {code}, its answers and any copy saved by the directory printer were deleted.")
    return redirect(url_for("desk.queue"))


# --- template filters -----------------------------------------------------------


@bp.app_template_filter("desk_time")
def desk_time(value) -> str:
    """Stored UTC in the clinic's time: "14:05", or "Nov 27 14:05" on other days."""
    if value is None:
        return ""
    local = clinic_time(value)
    if local.date() == clinic_now().date():
        return local.strftime("%H:%M")
    return local.strftime("%b %d %H:%M")


@bp.app_template_filter("language_name")
def language_name(code: str) -> str:
    return current_app.config["LANGUAGES"].get(code, code)
