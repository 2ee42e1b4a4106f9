"""A visit's life: start, save a step, raise an alert, finish once, discard.

Plain functions over the database; nothing here touches the request, so the
routes, the CLI and the tests all call the same code.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import questionnaire as qn
from . import statistics
from .extensions import db
from .models import Alert, Handout, Visit, utcnow
from .questionnaire import N_

log = logging.getLogger(__name__)

# No 0/O, no 1/I/L: a code read aloud or copied by hand cannot be misread.
CLAIM_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CLAIM_CODE_LENGTH = 4


class FormData(Protocol):
    def getlist(self, key: str) -> list[str]: ...


# Messages are marked here and translated where they are shown.
MSG_CHOOSE_ONE = N_("Please choose an answer.")
MSG_CHOOSE_SOME = N_("Please tap at least one.")
MSG_NOT_ON_LIST = N_("That answer is not on the list. Please choose again.")
MSG_TOO_LONG = N_(
    "This is too long: it has %(length)s letters, and the limit is %(limit)s. Please make it shorter."
)
MSG_TOO_MANY_TOP = N_("Please star up to three questions.")
MSG_PICK_A_QUESTION = N_("Please tap at least one question, or write your own.")
MSG_SIGNS_ANSWER = N_("Please tap one of the two big buttons.")
MSG_SIGNS_CONFLICT = N_(
    "You tapped a sign, and then \u201cI have none of these\u201d. "
    "If you have the sign, tap \u201cI have one or more of these\u201d. If not, tap the sign again to clear it."
)

# Bidirectional embedding, override and isolate controls: typed into a field,
# they could make the handout show text in another order than it was typed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class Problem:
    """A calm message for one field, translated where it is shown (with its numbers)."""

    text: str
    length: int = 0
    limit: int = 0


@dataclass
class StepResult:
    """The outcome of posting one step: what was kept, and what to fix."""

    values: dict[str, Any]
    errors: dict[str, Problem] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class VisitError(Exception):
    """A visit cannot do what was asked; ``step_id`` is where to send the patient."""

    def __init__(self, step_id: str) -> None:
        super().__init__(step_id)
        self.step_id = step_id


# --- validation ---------------------------------------------------------------


def clean_text(raw: str) -> str:
    """What the patient typed, as typed: trimmed, without control characters
    (other than line breaks and tabs) or bidirectional controls. Joiners,
    variation selectors and other format characters stay: emoji sequences
    and scripts such as Persian need them."""
    kept = (
        ch
        for ch in raw
        if ch in "\n\t" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in BIDI_CONTROLS)
    )
    return "".join(kept).strip()


def validate_step(step: qn.Step, form: FormData) -> StepResult:
    """Check one step's posted fields against the questionnaire.

    Returns every value the patient sent (so a screen with a mistake shows
    their answers again) and a calm message for each field to fix.
    """
    values: dict[str, Any] = {}
    errors: dict[str, Problem] = {}
    for question in step.questions:
        raw = [v for v in form.getlist(question.id) if isinstance(v, str)]
        if question.kind == "text":
            text = clean_text(raw[0]) if raw else ""
            values[question.id] = text
            if len(text) > question.max_length:
                errors[question.id] = Problem(MSG_TOO_LONG, length=len(text), limit=question.max_length)
        elif question.kind == "signs":
            values[question.id], problem = _signs(question, raw)
            if problem:
                errors[question.id] = Problem(problem)
        elif question.kind in ("yesno", "single", "scale"):
            chosen = raw[0] if raw else ""
            values[question.id] = chosen
            if len(set(raw)) > 1 or (chosen and chosen not in question.choice_ids()):
                errors[question.id] = Problem(MSG_NOT_ON_LIST)
                values[question.id] = ""
            elif not chosen and question.required:
                errors[question.id] = Problem(MSG_CHOOSE_ONE)
        else:
            allowed = question.choice_ids()
            chosen_ids = list(dict.fromkeys(raw))
            values[question.id] = [c for c in chosen_ids if c in allowed]
            if any(c not in allowed for c in chosen_ids):
                errors[question.id] = Problem(MSG_NOT_ON_LIST)
            elif not chosen_ids and question.required:
                errors[question.id] = Problem(MSG_CHOOSE_SOME)

    for question in step.questions:
        # A follow-up text ("your other reason") belongs to its choice: the
        # screen shows it only while that choice is ticked; untick it and the
        # text goes too.
        if question.depends_on and question.depends_value not in values.get(question.depends_on, []):
            values[question.id] = ""
            errors.pop(question.id, None)

    if step.id == qn.QUESTIONS.id:
        _check_question_picks(values, errors)
    return StepResult(values=values, errors=errors)


def _signs(question: qn.Question, raw: list[str]) -> tuple[list[str], str]:
    """The safety list: the signs ticked, or "none", or "some" (not said which).

    Posted are the ticked signs plus the button tapped. A sign ticked counts
    even without its button; "none" with a sign ticked is asked again.
    """
    signs = [c.id for c in question.choices if c.id in raw]
    answers = {qn.NO_SIGNS.id, qn.SOME_SIGNS.id} & set(raw)
    if set(raw) - question.choice_ids():
        return signs, MSG_NOT_ON_LIST
    if qn.NO_SIGNS.id in answers and (signs or qn.SOME_SIGNS.id in answers):
        return signs, MSG_SIGNS_CONFLICT
    if signs:
        return signs, ""
    if answers:
        return [answers.pop()], ""
    return [], MSG_SIGNS_ANSWER


def _check_question_picks(values: dict[str, Any], errors: dict[str, str]) -> None:
    """Starring a question picks it; at most three stars; at least one question."""
    own = [qid for qid in qn.OWN_QUESTION_IDS if values.get(qid)]
    picked = values.get("questions", [])
    top = values.get("top_questions", [])
    # A star on an own question that is blank means nothing; drop it quietly.
    top = [t for t in top if t not in qn.OWN_QUESTION_IDS or t in own]
    for t in top:
        if t not in qn.OWN_QUESTION_IDS and t not in picked:
            picked.append(t)
    values["questions"] = [c.id for c in qn.BANK.all_choices() if c.id in picked]
    values["top_questions"] = top
    if len(top) > qn.MAX_TOP_QUESTIONS:
        errors["top_questions"] = Problem(MSG_TOO_MANY_TOP)
    if not picked and not own and "questions" not in errors:
        errors["questions"] = Problem(MSG_PICK_A_QUESTION)


SIGNS_QUESTION_ID = qn.SAFETY.questions[0].id


def red_flags_reported(answers: Mapping[str, Any]) -> list[str]:
    """The signs the patient reported, in the list's order: red-flag ids, or
    ``["some"]`` for "one or more" not yet said which; empty for none."""
    reported = answers.get(SIGNS_QUESTION_ID)
    if not isinstance(reported, list):
        return []
    return [flag.id for flag in qn.REPORTABLE_SIGNS if flag.id in reported]


def signs_not_said(answers: Mapping[str, Any]) -> bool:
    """One or more signs reported, and not yet which."""
    return red_flags_reported(answers) == [qn.SOME_SIGNS.id]


# --- the visit ----------------------------------------------------------------


def start_visit(kiosk: str, language: str) -> Visit:
    visit = Visit(id=secrets.token_hex(16), kiosk=kiosk, language=language, answers={}, completed_steps=[])
    db.session.add(visit)
    statistics.visit_started(kiosk)
    db.session.commit()
    return visit


def load_visit(visit_id: str | None, *, expiry_minutes: int) -> Visit | None:
    """The visit in progress, or None if there is none or it was abandoned."""
    if not visit_id or not isinstance(visit_id, str):
        return None
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        return None
    if visit.finished_at is None and utcnow() - visit.updated_at > timedelta(minutes=expiry_minutes):
        discard_visit(visit.id)
        return None
    return visit


def first_open_step(visit: Visit) -> str:
    """The first step still to answer, or review when all are done."""
    done = set(visit.completed_steps or [])
    return next((s.id for s in qn.STEPS if s.id not in done), qn.REVIEW_STEP_ID)


def can_open(visit: Visit, step_id: str) -> bool:
    """A step opens once every step before it has been answered."""
    return qn.FLOW.index(step_id) <= qn.FLOW.index(first_open_step(visit))


def save_step(visit: Visit, step: qn.Step, form: FormData) -> StepResult:
    """Validate and store one step. All of it is saved, or none of it."""
    if visit.finished_at is not None:
        raise VisitError("done")
    if not can_open(visit, step.id):
        raise VisitError(first_open_step(visit))
    result = validate_step(step, form)
    if not result.ok:
        return result
    visit.answers = {**(visit.answers or {}), **result.values}
    visit.draft = None
    if step.id not in (visit.completed_steps or []):
        visit.completed_steps = [*(visit.completed_steps or []), step.id]
    if step.id == qn.SAFETY.id:
        _record_alert(visit, red_flags_reported(result.values))
    db.session.commit()
    return result


def change_language(
    visit: Visit, language: str, step: qn.Step | None = None, form: FormData | None = None
) -> None:
    """The patient switched language: the handout follows. What was on the
    step's screen, not yet saved, is kept as a draft to show again."""
    if visit.finished_at is not None:
        return  # its handout is made already, in the language it was made in
    visit.language = language
    if step is not None and form is not None:
        visit.draft = {"step": step.id, "values": validate_step(step, form).values}
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


def _record_alert(visit: Visit, signs: list[str]) -> None:
    """Raise, or update, the desk alert for this visit's red flags.

    Answering the safety check again (after Back) updates the open alert
    instead of raising a second one; once the desk has acknowledged it, new
    signs raise a new alert.
    """
    if not signs:
        return
    open_alert = db.session.scalar(
        select(Alert).where(Alert.visit_id == visit.id, Alert.acknowledged_at.is_(None))
    )
    if open_alert is not None:
        if set(signs) - set(open_alert.signs):
            merged = set(open_alert.signs) | set(signs)
            if merged != {qn.SOME_SIGNS.id}:
                merged.discard(qn.SOME_SIGNS.id)  # now the desk knows which
            open_alert.signs = sorted(merged, key=_red_flag_order)
        return
    acknowledged = db.session.scalars(select(Alert.signs).where(Alert.visit_id == visit.id)).all()
    already_seen = {sign for signs_seen in acknowledged for sign in signs_seen}
    if already_seen and not set(signs) - already_seen:
        return
    db.session.add(Alert(visit_id=visit.id, kiosk=visit.kiosk, signs=signs))
    statistics.alert_raised(visit.kiosk)
    log.warning("urgent alert raised at kiosk %r (%d signs)", visit.kiosk, len(signs))


def _red_flag_order(sign: str) -> int:
    ids = [q.id for q in qn.REPORTABLE_SIGNS]
    return ids.index(sign) if sign in ids else len(ids)


def check_complete(visit: Visit) -> None:
    """Raise VisitError at the first step whose stored answers do not validate."""
    answers = visit.answers or {}
    for step in qn.STEPS:
        if step.id not in (visit.completed_steps or []):
            raise VisitError(step.id)
        if not validate_step(step, _StoredAnswers(answers)).ok:
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


def discard_visit(visit_id: str | None) -> None:
    """Delete an unfinished visit and its answers. Alerts stay for the desk."""
    if not visit_id:
        return
    visit = db.session.get(Visit, visit_id)
    if visit is not None and visit.finished_at is None:
        db.session.execute(Alert.__table__.update().where(Alert.visit_id == visit.id).values(visit_id=None))
        statistics.visit_abandoned(visit.kiosk, visit.completed_steps)
        db.session.delete(visit)
        db.session.commit()
