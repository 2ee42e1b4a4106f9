"""A visit's life: start, save a step, raise an alert, finish once, leave.

Plain functions over the database; nothing here touches the request, so the
routes, the CLI and the tests all call the same code.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import questionnaire as qn
from . import statistics
from .content import definition
from .extensions import db
from .models import Alert, AlertReport, Handout, Visit, utcnow
from .questionnaire import FormData, StepResult

log = logging.getLogger(__name__)

# No 0/O, no 1/I/L: a code read aloud or copied by hand cannot be misread.
CLAIM_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CLAIM_CODE_LENGTH = 4


class VisitError(Exception):
    """A visit cannot do what was asked; ``step_id`` is where to send the patient."""

    def __init__(self, step_id: str) -> None:
        super().__init__(step_id)
        self.step_id = step_id


# The key a kiosk page makes for each red-flag report (kiosk.js): 128 random bits in hex.
REPORT_KEY = re.compile(r"[0-9a-f]{32}")
REPORT_KEY_FIELD = "alert_key"


def red_flags_reported(answers: Mapping[str, Any]) -> list[str]:
    """The signs the patient reported, in the list's order: red-flag ids, or
    ``["some"]`` for "one or more" not yet said which; empty for none."""
    return definition().red_flags_reported(answers)


def signs_not_said(answers: Mapping[str, Any]) -> bool:
    """One or more signs reported, and not yet which."""
    return definition().signs_not_said(answers)


# --- the visit ----------------------------------------------------------------


def start_visit(kiosk: str, language: str, *, used_audio: bool = False) -> Visit:
    visit = Visit(
        id=secrets.token_hex(16),
        kiosk=kiosk,
        language=language,
        answers={},
        completed_steps=[],
        used_audio=used_audio,
    )
    db.session.add(visit)
    statistics.visit_started(kiosk)
    db.session.commit()
    return visit


def note_audio(visit: Visit) -> None:
    """The patient turned audio mode on: the handout and any alert of this
    visit will say so, for the desk (braille, and going to them). Commits."""
    if not visit.used_audio:
        visit.used_audio = True
        db.session.commit()


# Done is cleared by the kiosk's script after at most DONE_MAX_SECONDS; the
# server stops showing it this much later, should the script never get to.
DONE_GRACE = timedelta(seconds=60)


def load_visit(visit_id: str | None, *, expiry_minutes: int, done_max_seconds: int) -> Visit | None:
    """This browser's visit: one in progress, or one just finished whose Done
    screen may still be up. None if there is none, it was abandoned, or its
    kiosk has moved on (``leave_visit``)."""
    if not visit_id or not isinstance(visit_id, str):
        return None
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        return None
    now = utcnow()
    if visit.finished_at is None and now - visit.updated_at > timedelta(minutes=expiry_minutes):
        _discard(visit)
        return None
    if visit.finished_at is not None and (
        visit.closed_at is not None
        or now - visit.finished_at > timedelta(seconds=done_max_seconds) + DONE_GRACE
    ):
        return None
    return visit


def first_open_step(visit: Visit) -> str:
    """The first step still to answer, or review when all are done."""
    return definition().first_open_step(visit.completed_steps)


def can_open(visit: Visit, step_id: str) -> bool:
    """A step opens once every step before it has been answered."""
    return definition().can_open(visit.completed_steps, step_id)


URGENT = "urgent"
"""``Next.screen`` for the screen that sends the patient to the desk."""


@dataclass(frozen=True)
class Next:
    """Where a visit goes after a step was saved: a step's id, review, or
    ``URGENT``; ``which``: the safety step again, to ask which signs;
    ``return_to_review``: the patient came from review and goes back there."""

    screen: str
    which: bool = False
    return_to_review: bool = False


def next_screen(
    visit: Visit, step: qn.Step, result: StepResult, *, asked_which: bool, from_review: bool
) -> Next:
    """Where the visit goes once ``step`` was saved (``save_step``).

    A red flag goes to the urgent screen (the desk is alerted already); one
    or more signs not said which are asked for, once, for the desk. A patient
    who came from review goes back there if every step is answered; anyone
    else goes on to the next step.
    """
    defined = definition()
    if defined.red_flags_reported(result.values):
        if defined.signs_not_said(result.values) and not asked_which:
            return Next(step.id, which=True, return_to_review=from_review)
        return Next(URGENT, return_to_review=from_review)
    if from_review and first_open_step(visit) == defined.review_id:
        return Next(defined.review_id)
    return Next(defined.step_after(step.id))


def save_step(visit: Visit, step: qn.Step, form: FormData) -> StepResult:
    """Validate and store one step. All of it is saved, or none of it."""
    if visit.finished_at is not None:
        raise VisitError("done")
    if not can_open(visit, step.id):
        raise VisitError(first_open_step(visit))
    result = step.validate(form)
    if not result.ok:
        return result
    visit.answers = {**(visit.answers or {}), **result.values}
    visit.draft = None
    if step.id not in (visit.completed_steps or []):
        visit.completed_steps = [*(visit.completed_steps or []), step.id]
    if definition().signs_question in step.questions:
        _record_alert(visit.kiosk, red_flags_reported(result.values), visit, _report_key(form))
    db.session.commit()
    return result


def _report_key(form: FormData) -> str | None:
    keys = form.getlist(REPORT_KEY_FIELD)
    return keys[0] if keys and REPORT_KEY.fullmatch(keys[0]) else None


def report_signs(
    kiosk: str, signs: list[str], key: str, visit: Visit | None = None, *, used_audio: bool = False
) -> None:
    """Store a red-flag report the kiosk page kept because it could not be
    stored when it was made (the database was away, or the answer was lost).

    The page sends it until it is stored, with the key it made for it: a
    report stored already, by the safety step or an earlier try, changes
    nothing. The visit, if it still exists, gets the alert as if the step had
    stored it. ``used_audio``: the page was in audio mode when the report was
    made. Commits.
    """
    _record_alert(kiosk, signs, visit, key, used_audio=used_audio)
    try:
        db.session.commit()
    except IntegrityError:  # the same report, stored a moment ago by a try that crossed this one
        db.session.rollback()
        if db.session.get(AlertReport, key) is None:
            raise


def change_language(
    visit: Visit, language: str, step: qn.Step | None = None, form: FormData | None = None
) -> None:
    """The patient switched language: the handout follows. What was on the
    step's screen, not yet saved, is kept as a draft to show again."""
    if visit.finished_at is not None:
        return  # its handout is made already, in the language it was made in
    visit.language = language
    if step is not None and form is not None:
        visit.draft = {"step": step.id, "values": step.validate(form).values}
    db.session.commit()


def take_draft(visit: Visit, step: qn.Step) -> dict[str, Any] | None:
    """The unsaved answers kept for this step when the language changed, once."""
    draft = visit.draft
    if not isinstance(draft, dict) or draft.get("step") != step.id:
        return None
    visit.draft = None
    db.session.commit()
    values = draft.get("values")
    return values if isinstance(values, dict) else None


def _record_alert(
    kiosk: str, signs: list[str], visit: Visit | None, key: str | None = None, *, used_audio: bool = False
) -> None:
    """Raise, or update, the desk alert for these red flags; once per report key.

    Answering the safety check again (after Back) updates the visit's open
    alert instead of raising a second one; once the desk has acknowledged it,
    new signs raise a new alert. A report whose visit is gone (the kiosk was
    reset before it could be stored) raises an alert of its own.
    """
    if not signs:
        return
    # The desk goes to a patient in audio mode knowing they may not see the screen.
    used_audio = used_audio or (visit is not None and visit.used_audio)
    report = db.session.get(AlertReport, key) if key is not None else None
    if report is not None:
        # The page sends a report again, maybe with more signs: its alert
        # takes what is new (a union: the same report twice changes nothing).
        alert = db.session.get(Alert, report.alert_id) if report.alert_id is not None else None
        if alert is not None and used_audio and alert.acknowledged_at is None:
            alert.used_audio = True
        if alert is None or not set(signs) - set(alert.signs):
            return
        if alert.acknowledged_at is None:
            _merge(alert, signs)
            return
    alert = _raise_or_update(kiosk, signs, visit)
    if alert is not None and used_audio and alert.acknowledged_at is None:
        alert.used_audio = True
    if report is not None:
        report.alert_id = alert.id if alert is not None else report.alert_id
    elif key is not None:
        db.session.add(AlertReport(key=key, alert_id=alert.id if alert is not None else None))


def _merge(alert: Alert, signs: list[str]) -> None:
    if set(signs) - set(alert.signs):
        merged = set(alert.signs) | set(signs)
        some = definition().some_signs.id
        if merged != {some}:
            merged.discard(some)  # now the desk knows which
        alert.signs = sorted(merged, key=_red_flag_order)


def _raise_or_update(kiosk: str, signs: list[str], visit: Visit | None) -> Alert | None:
    if visit is not None:
        open_alert = db.session.scalar(
            select(Alert).where(Alert.visit_id == visit.id, Alert.acknowledged_at.is_(None))
        )
        if open_alert is not None:
            _merge(open_alert, signs)
            return open_alert
        acknowledged = db.session.scalars(select(Alert.signs).where(Alert.visit_id == visit.id)).all()
        already_seen = {sign for signs_seen in acknowledged for sign in signs_seen}
        if already_seen and not set(signs) - already_seen:
            return None
    alert = Alert(visit_id=visit.id if visit is not None else None, kiosk=kiosk, signs=signs)
    db.session.add(alert)
    db.session.flush()
    statistics.alert_raised(kiosk)
    log.warning("urgent alert raised at kiosk %r (%d signs)", kiosk, len(signs))
    return alert


def _red_flag_order(sign: str) -> int:
    ids = [q.id for q in definition().reportable_signs]
    return ids.index(sign) if sign in ids else len(ids)


def check_complete(visit: Visit) -> None:
    """Raise VisitError at the first step whose stored answers do not validate."""
    answers = visit.answers or {}
    for step in definition().steps:
        if step.id not in (visit.completed_steps or []):
            raise VisitError(step.id)
        if not step.validate(_StoredAnswers(answers)).ok:
            raise VisitError(step.id)


class _StoredAnswers:
    """Stored answers seen as posted form data, to validate them again."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self._answers = answers

    def getlist(self, key: str) -> list[str]:
        value = self._answers.get(key)
        if value is None or value == "":
            return []
        return list(value) if isinstance(value, list) else [value]


def new_claim_code() -> str:
    return "".join(secrets.choice(CLAIM_CODE_ALPHABET) for _ in range(CLAIM_CODE_LENGTH))


def finish_visit(visit: Visit, attempts: int = 20, *, taps: int | None = None) -> Handout:
    """Turn a complete visit into a handout with a claim code, to be rendered
    by the worker (``handout_jobs``): the patient is not kept waiting for it.

    Idempotent: a visit that already has a handout returns it, and two
    requests racing to finish the same visit still make one row (the unique
    ``visit_id`` decides).
    """
    existing = db.session.scalar(select(Handout).where(Handout.visit_id == visit.id))
    if existing is not None:
        return existing
    check_complete(visit)
    for _ in range(attempts):
        code = new_claim_code()
        if db.session.scalar(select(Handout.id).where(Handout.claim_code == code)):
            continue
        created_at = utcnow()
        handout = Handout(
            visit_id=visit.id,
            claim_code=code,
            kiosk=visit.kiosk,
            language=visit.language,
            created_at=created_at,
            used_audio=visit.used_audio,
        )
        visit.finished_at = created_at
        db.session.add(handout)
        try:
            statistics.visit_finished(visit, taps)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            existing = db.session.scalar(select(Handout).where(Handout.visit_id == visit.id))
            if existing is not None:
                return existing
            continue  # the code was taken between our check and our insert
        log.info("visit finished at kiosk %r; handout %s to prepare", visit.kiosk, handout.id)
        return handout
    raise RuntimeError("no free claim code after several attempts")


def leave_visit(visit_id: str | None) -> None:
    """The kiosk moves on from this browser's visit: an unfinished one is
    deleted with its answers; a finished one is closed, so that its cookie,
    even a copy, shows nothing of it again. The desk keeps the handout."""
    if not visit_id or not isinstance(visit_id, str):
        return
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        return
    if visit.finished_at is None:
        _discard(visit)
    elif visit.closed_at is None:
        visit.closed_at = utcnow()
        db.session.commit()


def _discard(visit: Visit) -> None:
    """Delete an unfinished visit and its answers. Alerts stay for the desk."""
    db.session.execute(Alert.__table__.update().where(Alert.visit_id == visit.id).values(visit_id=None))
    statistics.visit_abandoned(visit.kiosk, visit.completed_steps)
    db.session.delete(visit)
    db.session.commit()
