"""One handout on the desk: its preview, printing and print jobs, retry,
handed over, delete. Printing only stores a job; the worker sends it and the
page shows its state as the worker learns it."""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for

from .. import front_desk, handout_jobs, print_jobs
from ..extensions import db
from ..models import PrintJob, Submission
from . import bp
from .forms import PrintForm
from .session import staff_name


def _submission(submission_id: int) -> Submission:
    return db.session.get(Submission, submission_id) or abort(404)


def _print_form() -> PrintForm:
    form = PrintForm()
    config = current_app.config
    printers = front_desk.printers(configured={config["DEFAULT_PRINTER"], config["AUTO_PRINT_PRINTER"]})
    form.printer.choices = [(p.name, p.label) for p in printers]
    if not form.is_submitted():
        names = [p.name for p in printers]
        form.printer.data = config["DEFAULT_PRINTER"] if config["DEFAULT_PRINTER"] in names else names[0]
    form.printers = printers  # for showing each printer's state
    return form


def _handout_panel(submission: Submission):
    """The preview and Print, or "Preparing…" (polling) until the worker has made the PDF."""
    return render_template("desk/_handout_panel.html", submission=submission, form=_print_form())


def _jobs(submission: Submission):
    return render_template("desk/_jobs.html", submission=submission)


@bp.get("/handouts/<id:submission_id>")
def handout(submission_id: int):
    submission = _submission(submission_id)
    front_desk.record_view(submission, staff=staff_name())
    return render_template(
        "desk/handout.html",
        title=f"Handout {submission.claim_code}",
        submission=submission,
        form=_print_form(),
    )


@bp.get("/handouts/<id:submission_id>/panel")
def handout_panel(submission_id: int):
    return _handout_panel(_submission(submission_id))


@bp.get("/handouts/<id:submission_id>/jobs")
def jobs_fragment(submission_id: int):
    return _jobs(_submission(submission_id))


@bp.get("/handouts/<id:submission_id>/pdf")
def handout_pdf(submission_id: int):
    submission = _submission(submission_id)
    if not submission.ready:
        abort(404)
    front_desk.record_preview(submission, staff=staff_name())
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
    if not submission.ready:
        flash("This handout is still being prepared. Print it once its preview shows.")
    elif form.validate_on_submit():
        print_jobs.request_print(submission, form.printer.data, staff=staff_name())
    else:
        flash("Please choose one of the printers listed.")
    if request.htmx:
        return _jobs(submission)
    return redirect(url_for("desk.handout", submission_id=submission.id))


@bp.post("/jobs/<id:job_id>/retry")
def retry_job(job_id: int):
    job = db.session.get(PrintJob, job_id) or abort(404)
    print_jobs.retry(job, staff=staff_name())
    if request.htmx:
        return _jobs(job.submission)
    return redirect(url_for("desk.handout", submission_id=job.submission_id))


@bp.post("/handouts/<id:submission_id>/retry")
def retry_handout(submission_id: int):
    submission = _submission(submission_id)
    handout_jobs.retry(submission, staff=staff_name())
    if request.htmx:
        return _handout_panel(submission)
    return redirect(url_for("desk.handout", submission_id=submission.id))


@bp.post("/handouts/<id:submission_id>/handed-over")
def hand_over(submission_id: int):
    submission = _submission(submission_id)
    front_desk.hand_over(submission, staff=staff_name())
    return redirect(url_for("desk.handout", submission_id=submission.id))


@bp.get("/handouts/<id:submission_id>/delete")
def confirm_delete(submission_id: int):
    submission = _submission(submission_id)
    return render_template("desk/confirm_delete.html", title="Delete handout", submission=submission)


@bp.post("/handouts/<id:submission_id>/delete")
def delete_handout(submission_id: int):
    """Delete the handout and the answers it was made from."""
    code = front_desk.delete_handout(_submission(submission_id), staff=staff_name())
    flash(f"Handout {code}, its answers and any copy saved by the directory printer were deleted.")
    return redirect(url_for("desk.queue"))
