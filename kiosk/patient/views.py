"""Routes of the patient flow. Thin: read the request, call ``visits``, render.

Every screen has its own URL. Loaded directly it is a full page; reached by a
tap (an htmx request) it is the fragment that replaces ``#screen``, with
``HX-Push-Url`` so the address bar and the Back button follow along.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlsplit

from flask import (
    abort,
    current_app,
    g,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from .. import content, enrolled_kiosks, errors, statistics, visits
from .. import questionnaire as qn
from ..content import definition
from ..content import gettext as _
from ..extensions import csrf, page_language
from ..models import Visit
from ..questionnaire import N_
from . import bp, display, spelling

log = logging.getLogger(__name__)

RETURN_TO_REVIEW = "review"
# A step shown again to fix: answers to check (422), a step to answer first
# (409), a tap whose form had gone stale (400).
ANSWERS_TO_FIX = {400, 409, 422}
# Characters a URL path and query keep as they are when quoted for a header.
URL_SAFE = "/?&=%:@!$'()*+,;~"


# --- rendering ----------------------------------------------------------------


def render_screen(
    template: str, title: str, *, status: int = 200, push_url: str | None = None, **context: Any
):
    """The full page for a direct load, the ``#screen`` fragment for htmx."""
    if request.htmx and not request.htmx.history_restore_request:
        html = f"<title>{escape(title)}</title>" + render_template(template, **context)
        response = make_response(html, status)
        # The path as typed may hold anything (a line break, say): quoted, it
        # is always a valid header and a valid URL.
        response.headers["HX-Push-Url"] = push_url or quote(request.full_path.rstrip("?"), safe=URL_SAFE)
    else:
        response = make_response(
            render_template("patient/page.html", screen_template=template, title=title, **context), status
        )
    response.headers["Vary"] = "HX-Request"
    return response


def _shown_again(status: int) -> int:
    """The status of a screen shown again after a tap (``ANSWERS_TO_FIX``): a
    step to fix, or the urgent screen for a stale tap that reported a sign.
    To htmx it is the answer to the tap, not a failure (200): as a 4xx it
    would only make the kiosk's browser log an error. A post without htmx
    still gets the 4xx."""
    return 200 if request.htmx and status in ANSWERS_TO_FIX else status


def _progress(step_id: str) -> dict[str, int]:
    flow = definition().flow
    return {"number": flow.index(step_id) + 1, "total": len(flow)}


def _back_url(step_id: str) -> str:
    before = definition().step_before(step_id)
    if before is None:
        return url_for("patient.welcome")
    return url_for("patient.step", step=before)


def _step_screen(
    visit: Visit,
    step: qn.Step,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
    return_to: str = "",
    asking_which: bool = False,
):
    return render_screen(
        "patient/_step.html",
        _(step.title),
        status=_shown_again(status),
        push_url=url_for("patient.step", step=step.id),
        step=step,
        values=values if values is not None else (visit.answers or {}),
        errors=errors or {},
        notice=notice,
        progress=_progress(step.id),
        back_url=url_for("patient.review") if return_to else _back_url(step.id),
        return_to=return_to,
        asking_which=asking_which,
    )


def _go(endpoint: str, **values: Any):
    """After a post: 303 to the next screen. htmx follows it and swaps the result."""
    return redirect(url_for(endpoint, **values), 303)


def _current_visit() -> Visit | None:
    """This browser's visit, looked up once per request."""
    if "visit" not in g:
        g.visit = visits.load_visit(
            session.get("visit"),
            expiry_minutes=current_app.config["VISIT_EXPIRY_MINUTES"],
            done_max_seconds=current_app.config["DONE_MAX_SECONDS"],
        )
    return g.visit


def _visit_ended():
    """No visit in this browser (never started, wiped, expired or tampered)."""
    session.pop("visit", None)
    return _go("patient.welcome", ended=1)


def with_visit(*, open_only: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Pass the view this browser's visit, or send the patient to Welcome if
    there is none. ``open_only``: a finished visit goes to Done instead."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            visit = _current_visit()
            if visit is None:
                return _visit_ended()
            if open_only and visit.finished_at is not None:
                return _go("patient.done")
            return view(visit, *args, **kwargs)

        return wrapper

    return decorate


def _return_to() -> str:
    value = request.values.get("return_to", "")
    return RETURN_TO_REVIEW if value == RETURN_TO_REVIEW else ""


# --- enrolled kiosks --------------------------------------------------------------

# Pages any device may open: the enrollment link itself.
OPEN_ENDPOINTS = {"patient.enroll_page", "patient.enroll", "patient.enroll_old_link"}


@bp.before_request
def require_enrolled_kiosk():
    """With enrollment on, only an enrolled kiosk can use the patient pages;
    any other device is told, calmly, to ask the front desk."""
    g.kiosk = None
    if not current_app.config["KIOSK_ENROLLMENT"] or request.endpoint in OPEN_ENDPOINTS:
        return None
    g.kiosk = enrolled_kiosks.recognise(
        request.cookies.get(enrolled_kiosks.COOKIE), current_app.config["SECRET_KEY"]
    )
    if g.kiosk is None:
        return render_screen("patient/_not_enrolled.html", _("Please ask the front desk"), status=403)
    return None


def _kiosk_name() -> str:
    return g.kiosk.name if g.kiosk is not None else current_app.config["KIOSK_NAME"]


def _enroll_screen(status: int = 200, **context: Any):
    context.setdefault("kiosk", None)
    return render_screen("patient/_enroll.html", _("Set up this kiosk"), status=status, **context)


@bp.get("/enroll")
def enroll_page():
    """Where an enrollment link lands: the page posts the code from the
    link's fragment (kiosk.js) to learn which kiosk this screen becomes."""
    return _enroll_screen(checking=True)


@bp.get("/enroll/<code>")
def enroll_old_link(code: str):
    """A link made before the code moved after "#": sent on to the page
    that reads it there. This request alone logs its code, spent at the tap."""
    if enrolled_kiosks.for_link(code) is None:
        return _enroll_screen(status=404)
    return redirect(url_for("patient.enroll_page") + "#" + quote(code, safe=""), 303)


@bp.post("/enroll")
def enroll():
    """Asks first, naming the kiosk (a link previewer that runs the page's
    script learns a name and spends nothing); enrolls the device on the tap."""
    code = request.form.get("code", "")
    kiosk = enrolled_kiosks.for_link(code)
    if kiosk is None:
        return _enroll_screen(status=404)
    if request.form.get("confirm") != "1":
        return _enroll_screen(kiosk=kiosk, code=code)
    enrolled = enrolled_kiosks.enroll(code, current_app.config["SECRET_KEY"])
    if enrolled is None:
        return _enroll_screen(status=404)
    session.clear()
    response = _go("patient.welcome")
    response.set_cookie(
        enrolled_kiosks.COOKIE,
        enrolled[1],
        max_age=enrolled_kiosks.COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return response


@bp.get("/kiosk/ping")
def ping():
    """A kiosk's sign of life while it waits on Welcome (the desk shows its last contact)."""
    return "", 204


@bp.get("/clinic/logo")
def clinic_logo():
    """The clinic's logo from its content file: an image, never a page (an
    SVG opened on its own can run nothing)."""
    clinic = content.clinic()
    if clinic.logo is None:
        abort(404)
    response = make_response(clinic.logo_data)
    response.mimetype = clinic.logo_type
    response.cache_control.max_age = 300
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


# --- welcome and preferences ---------------------------------------------------


@bp.get("/")
def welcome():
    if request.args.get("audio") == "1":
        # A kiosk set up with headphones opens here: audio mode from the
        # start, until the reset that ends the visit.
        _audio_mode_on()
    visit = _current_visit()
    return render_screen(
        "patient/_welcome.html",
        _("Welcome"),
        push_url=url_for("patient.welcome"),
        visit_in_progress=visit is not None and visit.finished_at is None,
        continue_url=url_for("patient.step", step=visits.first_open_step(visit)) if visit else "",
        ended=request.args.get("ended") == "1",
    )


def _available_languages() -> dict[str, str]:
    """The languages the clinic offers (its content file checked each one's catalog)."""
    return content.languages()


@bp.app_context_processor
def display_settings() -> dict[str, Any]:
    """For the kiosk's page layout, wherever it is drawn (app-level error
    pages too). Not for the handout, which the worker renders without a request."""
    if not has_request_context():
        return {}
    return {
        "display": display.Display.from_session(session),
        "text_sizes": display.TEXT_SIZES,
        "languages": _available_languages(),
        "current_language": page_language(),
        "definition": definition(),
        "audio_keys": content.current().content.audio.keys,
    }


@bp.post("/preferences")
def preferences():
    """Language, text size, contrast and reading aloud, for this visit.

    A tap through htmx changes the screen in place (204 and an event for
    kiosk.js), so answers not yet saved stay on screen; without script, or
    for a new language, the page comes back in full.
    """
    lang = request.form.get("lang")
    if lang in _available_languages():
        session["lang"] = lang
        visit = _current_visit()
        if visit is not None:
            # kiosk.js sends the step's fields along: what was tapped stays.
            visits.change_language(
                visit, lang, definition().step(request.form.get("draft_step", "")), request.form
            )
    if request.form.get("audio") == display.ON:
        _audio_mode_on()
    settings = display.update(session, request.form)
    if request.htmx and not lang:
        response = make_response("", 204)
        response.headers["HX-Trigger"] = json.dumps({"kiosk:display": settings.as_event()})
        return response
    return redirect(_local_path(request.form.get("next", "")), 303)


def _audio_mode_on() -> None:
    """Audio mode for the rest of this visit (the screen blank if the clinic
    says so); the visit, if there is one, notes it for the desk."""
    display.update(
        session, {"audio": display.ON}, blank_by_default=content.current().content.audio.blank_screen
    )
    try:
        visit = _current_visit()
        if visit is not None and visit.finished_at is None:
            visits.note_audio(visit)
    except SQLAlchemyError:
        # The database is away: audio mode goes on; only the desk's note is lost.
        errors.rollback()
        log.warning("audio mode could not be noted on its visit")


def _local_path(path: str) -> str:
    """A path on this site to go back to, or Welcome for anything else."""
    try:
        parts = urlsplit(path)
    except ValueError:  # "//[": not a URL at all
        return url_for("patient.welcome")
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return url_for("patient.welcome")
    return quote(path, safe=URL_SAFE)


@bp.post("/start")
def start():
    visits.leave_visit(session.get("visit"))
    lang = session.get("lang", "en")
    visit = visits.start_visit(
        kiosk=_kiosk_name(), language=lang, used_audio=display.Display.from_session(session).audio
    )
    session["visit"] = visit.id
    return _go("patient.step", step=definition().steps[0].id)


@bp.post("/reset")
@csrf.exempt
def reset():
    """Wipe the visit in progress and everything about it in this browser.

    The idle wipe and the end of Done post here too. A finished visit is
    closed on the server, not only forgotten by this browser: a copy of the
    cookie taken before shows nothing of it.

    Exempt from CSRF on purpose: the idle timer must always be able to wipe
    the screen, and a forged reset can do no more than that.
    """
    visit_id = session.get("visit")
    session.clear()  # first: whatever else fails, the next patient sees nothing of this one
    try:
        visits.leave_visit(visit_id)
    except SQLAlchemyError:
        # The database is away: the visit is left to expire (retention removes it).
        errors.rollback()
        log.warning("a reset could not end its visit now; it will expire")
    return _go("patient.welcome")


@bp.post("/kiosk/alert")
def deliver_alert():
    """A red-flag report the kiosk page kept because it may not have been
    stored (kiosk.js sends it after every report, and again until this
    answers 204). The page's key for it stores it once, however often it
    comes: on the safety step's own post, an earlier try, or this one.

    422 for a report that can never be stored (the page then drops it).
    """
    key = request.form.get("key", "")
    signs = visits.red_flags_reported(definition().safety_step.validate(request.form).values)
    if not visits.REPORT_KEY.fullmatch(key) or not signs:
        return "", 422
    visit = _current_visit()
    visits.report_signs(
        _kiosk_name(),
        signs,
        key,
        visit if visit is not None and visit.finished_at is None else None,
        # The page says whether it was in audio mode when the report was made:
        # the session that knew may be gone (a reset) by the time it arrives.
        used_audio=request.form.get("audio") == "1",
    )
    return "", 204


# --- the steps ----------------------------------------------------------------


@bp.get("/visit/<step:step>")
@with_visit(open_only=True)
def step(visit: Visit, step: qn.Step):
    if not visits.can_open(visit, step.id):
        return _go("patient.step", step=visits.first_open_step(visit))
    asking_which = request.args.get("which") == "1" and visits.signs_not_said(visit.answers or {})
    if asking_which:
        notice = _("The front desk has been told. Which signs do you have? Tap each one, then tap Next.")
        return _step_screen(visit, step, return_to=_return_to(), asking_which=True, notice=notice)
    draft = visits.take_draft(visit, step)
    values = {**(visit.answers or {}), **draft} if draft else None
    return _step_screen(visit, step, values=values, return_to=_return_to())


@bp.post("/visit/<step:step>")
@with_visit()
def save(visit: Visit, step: qn.Step):
    return_to = _return_to()
    try:
        result = visits.save_step(visit, step, request.form)
    except visits.VisitError as error:
        if error.step_id == "done":
            return _go("patient.done")
        open_step = definition().step(error.step_id)
        if open_step is None:
            return _go("patient.review")
        return _step_screen(visit, open_step, notice=_("Please answer this part first."), status=409)
    if not result.ok:
        return _step_screen(
            visit,
            step,
            values=result.values,
            errors=result.errors,
            notice=_("Please check the answers marked below."),
            status=422,
            return_to=return_to,
        )
    after = visits.next_screen(
        visit, step, result, asked_which=request.form.get("which") == "1", from_review=bool(return_to)
    )
    return_to_review = RETURN_TO_REVIEW if after.return_to_review else None
    if after.screen == visits.URGENT:
        return _go("patient.urgent", return_to=return_to_review)
    if after.screen == definition().review_id:
        return _go("patient.review")
    if after.which:
        return _go("patient.step", step=after.screen, which=1, return_to=return_to_review)
    return _go("patient.step", step=after.screen)


@bp.get("/visit/urgent")
@with_visit()
def urgent(visit: Visit):
    signs = visits.red_flags_reported(visit.answers or {})
    if not signs:
        return _go("patient.step", step=visits.first_open_step(visit))
    return_to = _return_to()
    back_to_review = return_to and visits.first_open_step(visit) == definition().review_id
    return _urgent_screen(
        signs,
        push_url=url_for("patient.urgent", return_to=return_to or None),
        continue_url=url_for("patient.review") if back_to_review else None,
    )


def _urgent_screen(
    signs: list[str],
    *,
    push_url: str,
    continue_url: str | None = None,
    status: int = 200,
    stored: bool = True,
):
    """The screen that sends the patient to the desk, naming the signs they
    reported. Continue goes on to the step after the safety check unless
    told otherwise. Needs no database."""
    defined = definition()
    safety = defined.safety_step.id
    return render_screen(
        "patient/_urgent.html",
        _("Please tell the front desk now"),
        status=status,
        push_url=push_url,
        signs=[flag for flag in defined.reportable_signs if flag.id in signs],
        back_url=url_for("patient.step", step=safety),
        continue_url=continue_url or url_for("patient.step", step=defined.step_after(safety)),
        stored=stored,
    )


@bp.get("/visit/review")
@with_visit(open_only=True)
def review(visit: Visit):
    if not visits.can_open(visit, definition().review_id):
        return _go("patient.step", step=visits.first_open_step(visit))
    return _review_screen(visit)


def _review_screen(visit: Visit, *, notice: str = "", status: int = 200):
    return render_screen(
        "patient/_review.html",
        _(definition().review_title),
        status=status,
        push_url=url_for("patient.review"),
        steps=definition().steps,
        rows={s.id: review_rows(s, visit.answers or {}) for s in definition().steps},
        notice=notice,
        progress=_progress(definition().review_id),
        back_url=_back_url(definition().review_id),
    )


def review_rows(step: qn.Step, answers: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each answered question of a step as (question, [answers]) in plain words;
    the bank's questions with a star on those that matter most."""
    rows = []
    for question in step.questions:
        # Each kind says its answer (``qn.Kind.review``); a choice no longer offered is left out.
        items = question.review(answers, _)
        if items:
            rows.append((_(question.label), items))
    return rows


@bp.post("/visit/finish")
@with_visit()
def finish(visit: Visit):
    # Idempotent: a visit finished already goes to Done with the same code.
    # The taps the kiosk counted are for the statistics; anything odd is ignored.
    try:
        visits.finish_visit(visit, taps=statistics.parse_taps(request.form.get("taps")))
    except visits.VisitError as error:
        return _go("patient.step", step=error.step_id)
    return _go("patient.done")


@bp.get("/visit/done")
@with_visit()
def done(visit: Visit):
    if visit.handout is None:
        return _go("patient.step", step=visits.first_open_step(visit))
    return render_screen(
        "patient/_done.html",
        _("You are all set"),
        push_url=url_for("patient.done"),
        claim_code=visit.handout.claim_code,
        spelled_code=spelling.spelled(visit.handout.claim_code),
    )


# --- errors: a calm sentence and a way forward -------------------------------------


ERROR_MESSAGES = {
    404: N_("We could not find that page."),
    413: N_("That was too much text to send. Please make it shorter."),
}
TRY_AGAIN = N_("Something went wrong with that tap. Please try again.")


def _problem(status: int, message: str):
    return render_screen("patient/_problem.html", _("Sorry"), status=status, message=message)


def _signs_posted() -> list[str]:
    """The signs a post to the safety check reports, read from the form alone
    (no database): a patient who reported one is sent to the desk whatever
    else failed. Empty for any other request."""
    step = _posted_step()
    if step is None or step.id != definition().safety_step.id:
        return []
    try:
        return visits.red_flags_reported(step.validate(request.form).values)
    except Exception:  # noqa: BLE001  (reading the form failed too: anything but "none" is a sign)
        return definition().signs_posted_unread(request.form)


def _urgent_not_stored(signs: list[str], status: int):
    """The urgent screen when the report may not have been stored: the same
    words, and the patient is asked to tell the desk themselves. kiosk.js
    keeps the report and sends it until it is stored. Needs no database."""
    push_url = url_for("patient.step", step=definition().safety_step.id)
    return _urgent_screen(signs, push_url=push_url, status=_shown_again(status), stored=False)


@bp.errorhandler(CSRFError)
def csrf_error(_error: CSRFError):
    """A form from a page that sat too long, or a forged post. A step is shown
    again with what was tapped, unsaved; anything else gets a way back."""
    signs = _signs_posted()
    if signs:
        return _urgent_not_stored(signs, 400)
    return _step_without_token() or _problem(400, _(TRY_AGAIN))


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return _problem(error.code or 400, _(ERROR_MESSAGES.get(error.code or 400, TRY_AGAIN)))


OUR_FAULT = N_("Sorry, something went wrong on our side. Please try again.")
CANNOT_SAVE = N_(
    "Sorry, something went wrong: this kiosk cannot save right now. Please ask the front desk for help."
)


@errors.page_for(bp.name, default=True)
def problem_page(status: int, trouble: errors.Trouble):
    """Whatever failed, a patient who has just reported a sign is sent to the
    desk; anyone else gets a calm sentence. Needs no database."""
    signs = _signs_posted()
    if signs:
        return _urgent_not_stored(signs, status)
    return _problem(status, _(CANNOT_SAVE if trouble is errors.Trouble.DATABASE else OUR_FAULT))


def _step_without_token():
    """A step posted without a valid CSRF token: show it again with what was
    tapped, unsaved, and ask for one more tap. None for other URLs."""
    step = _posted_step()
    visit = _current_visit() if step is not None else None
    if step is None or visit is None:
        return None
    result = step.validate(request.form)
    return _step_screen(
        visit,
        step,
        values=result.values,
        notice=_("Sorry, that tap did not go through. Please check your answers and tap Next again."),
        status=400,
        return_to=_return_to(),
    )


def _posted_step() -> qn.Step | None:
    """The step this request posts to, for an error handler; None for any other request."""
    if request.method != "POST" or not request.view_args:
        return None
    step = request.view_args.get("step")
    return step if isinstance(step, qn.Step) else None
