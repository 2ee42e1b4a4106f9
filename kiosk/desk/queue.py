"""The live queue: finished handouts and urgent alerts, polled every two
seconds; look-up by claim code; acknowledging an alert."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for

from ..clock import clinic_now
from ..extensions import db
from ..models import Alert
from . import bp, service
from .forms import LookupForm
from .sign_in import staff_name


def _fingerprint() -> str:
    return service.queue_fingerprint(today=clinic_now().date())


@bp.get("/")
def queue():
    return render_template(
        "desk/queue.html",
        title="Front desk",
        etag=_fingerprint(),
        lookup=LookupForm(request.args),
        queue=service.queue(),
    )


def _queue_fragment():
    """The queue fragment, or 304 with no body when nothing it shows has changed.
    Reads rows only: an urgent alert never waits on a print server."""
    etag = _fingerprint()
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = make_response(render_template("desk/_queue.html", queue=service.queue()))
    response.set_etag(etag)
    return response


@bp.get("/queue")
def queue_fragment():
    return _queue_fragment()


@bp.get("/lookup")
def lookup():
    form = LookupForm(request.args)
    code = service.normalise_code(form.code.data or "") if form.validate() else None
    if code is None:
        flash("A claim code is 4 letters and digits, like K7P2.")
    elif (handout := service.find_by_code(code, staff=staff_name())) is not None:
        return redirect(url_for("desk.handout", handout_id=handout.id))
    else:
        flash(f"No handout has the code {code}. Check the code with the patient.")
    return redirect(url_for("desk.queue"))


@bp.post("/alerts/<id:alert_id>/acknowledge")
def acknowledge_alert(alert_id: int):
    alert = db.session.get(Alert, alert_id) or abort(404)
    service.acknowledge(alert, staff=staff_name())
    if request.htmx:
        return _queue_fragment()
    return redirect(url_for("desk.queue"))
