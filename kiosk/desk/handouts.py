"""One handout on the desk: its preview, printing and print jobs, retry,
handed over, delete. Printing only stores a job; the worker sends it and the
page shows its state as the worker learns it."""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for

from .. import braille, handout_jobs, print_jobs
from ..extensions import db
from ..handout import asks_for_letter
from ..models import Handout, PrintJob
from . import bp, service
from .forms import EmbossForm, PrintForm
from .sign_in import staff_name


def _handout(handout_id: int) -> Handout:
    return db.session.get(Handout, handout_id) or abort(404)


def _printers():
    config = current_app.config
    return service.printers(
        configured={config["DEFAULT_PRINTER"], config["AUTO_PRINT_PRINTER"]},
        embossers=print_jobs.braille_printers(),
    )


def _print_form() -> PrintForm:
    """Printing the PDF: every printer but the braille embossers."""
    form = PrintForm()
    config = current_app.config
    printers = [p for p in _printers() if not p.embosser]
    form.printer.choices = [(p.name, p.label) for p in printers]
    if not form.is_submitted():
        names = [p.name for p in printers]
        form.printer.data = config["DEFAULT_PRINTER"] if config["DEFAULT_PRINTER"] in names else names[0]
    form.printers = printers  # for showing each printer's state
    return form


def _emboss_form(handout: Handout) -> EmbossForm:
    """Embossing the handout in braille: the braille embossers only (none: not offered)."""
    form = EmbossForm()
    form.embossers = [p for p in _printers() if p.embosser]
    form.embosser.choices = [(p.name, p.label) for p in form.embossers]
    form.unavailable = braille.unavailable(handout.language)
    return form


@bp.app_template_global()
def has_records_letter(handout: Handout) -> bool:
    """Whether the patient asked for the records-request letter (the handout's last page)."""
    return asks_for_letter(handout.visit.answers or {})


def _handout_panel(handout: Handout):
    """The preview and Print, or "Preparing…" (polling) until the worker has made the PDF."""
    return render_template(
        "desk/_handout_panel.html", handout=handout, form=_print_form(), emboss=_emboss_form(handout)
    )


def _jobs(handout: Handout):
    return render_template("desk/_jobs.html", handout=handout)


@bp.get("/handouts/<id:handout_id>")
def handout(handout_id: int):
    handout = _handout(handout_id)
    service.record_view(handout, staff=staff_name())
    return render_template(
        "desk/handout.html",
        title=f"Handout {handout.claim_code}",
        handout=handout,
        form=_print_form(),
        emboss=_emboss_form(handout),
    )


@bp.get("/handouts/<id:handout_id>/panel")
def handout_panel(handout_id: int):
    return _handout_panel(_handout(handout_id))


@bp.get("/handouts/<id:handout_id>/jobs")
def jobs_fragment(handout_id: int):
    return _jobs(_handout(handout_id))


@bp.get("/handouts/<id:handout_id>/pdf")
def handout_pdf(handout_id: int):
    handout = _handout(handout_id)
    if not handout.ready:
        abort(404)
    service.record_preview(handout, staff=staff_name())
    response = make_response(handout.pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="handout-{handout.claim_code}.pdf"'
    # The desk page shows the PDF in a frame of its own origin.
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/handouts/<id:handout_id>/print")
def print_handout(handout_id: int):
    handout = _handout(handout_id)
    form = _print_form()
    part = request.form.get("part") or print_jobs.HANDOUT
    if not handout.ready:
        flash("This handout is still being prepared. Print it once its preview shows.")
    elif part not in (print_jobs.HANDOUT, print_jobs.LETTER) or (
        part == print_jobs.LETTER and not has_records_letter(handout)
    ):
        flash("This handout has no records letter to print: the patient did not ask for one.")
    elif form.validate_on_submit():
        print_jobs.request_print(handout, form.printer.data, staff=staff_name(), part=part)
    else:
        flash("Please choose one of the printers listed.")
    if request.htmx:
        return _jobs(handout)
    return redirect(url_for("desk.handout", handout_id=handout.id))


@bp.post("/handouts/<id:handout_id>/emboss")
def emboss_handout(handout_id: int):
    """Ask for the handout in braille on an embosser; the worker makes the BRF and sends it."""
    handout = _handout(handout_id)
    form = _emboss_form(handout)
    if not handout.ready:
        flash("This handout is still being prepared. Emboss it once its preview shows.")
    elif form.unavailable:
        flash(form.unavailable)
    elif form.validate_on_submit():
        print_jobs.request_print(handout, form.embosser.data, staff=staff_name(), part=print_jobs.BRAILLE)
    else:
        flash("Please choose one of the braille embossers listed.")
    if request.htmx:
        return _jobs(handout)
    return redirect(url_for("desk.handout", handout_id=handout.id))


@bp.post("/jobs/<id:job_id>/retry")
def retry_job(job_id: int):
    job = db.session.get(PrintJob, job_id) or abort(404)
    print_jobs.retry(job, staff=staff_name())
    if request.htmx:
        return _jobs(job.handout)
    return redirect(url_for("desk.handout", handout_id=job.handout_id))


@bp.post("/handouts/<id:handout_id>/retry")
def retry_handout(handout_id: int):
    handout = _handout(handout_id)
    handout_jobs.retry(handout, staff=staff_name())
    if request.htmx:
        return _handout_panel(handout)
    return redirect(url_for("desk.handout", handout_id=handout.id))


@bp.post("/handouts/<id:handout_id>/handed-over")
def hand_over(handout_id: int):
    handout = _handout(handout_id)
    service.hand_over(handout, staff=staff_name())
    return redirect(url_for("desk.handout", handout_id=handout.id))


@bp.get("/handouts/<id:handout_id>/delete")
def confirm_delete(handout_id: int):
    handout = _handout(handout_id)
    return render_template("desk/confirm_delete.html", title="Delete handout", handout=handout)


@bp.post("/handouts/<id:handout_id>/delete")
def delete_handout(handout_id: int):
    """Delete the handout and the answers it was made from."""
    code = service.delete_handout(_handout(handout_id), staff=staff_name())
    flash(f"Handout {code}, its answers and any copy saved by the directory printer were deleted.")
    return redirect(url_for("desk.queue"))
