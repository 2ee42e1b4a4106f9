"""FHIR R4: the questionnaire as a Questionnaire, each handout's answers as a
QuestionnaireResponse.

Both come from the one definition (``kiosk.questionnaire``): each step is a
group ("step-<id>"), each question an item with its stable id as ``linkId``. The
Questionnaire's version is a digest of the definition, so it changes when the
definition does, and a response names the exact version it answers. Other
languages' text travels in the standard translation extension.

The Questionnaire holds no patient data and is open; a response is for
signed-in staff only, and every export is audited.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from flask import Blueprint, abort, g, jsonify, url_for
from flask_babel import force_locale
from flask_login import current_user

from . import audit, auth, content, errors
from . import questionnaire as qn
from .content import gettext
from .extensions import db
from .languages import babel_locale
from .models import Handout

bp = Blueprint("fhir", __name__, url_prefix="/fhir")

QUESTIONNAIRE_ID = "second-opinion-prep"
MEDIA_TYPE = "application/fhir+json"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
SOURCE_LANGUAGE = "en"


# --- the Questionnaire ------------------------------------------------------------------------------


def canonical_url() -> str:
    return url_for("fhir.questionnaire", _external=True)


def answer_system(question: qn.Question) -> str:
    """The code system of a question's answers: the choice ids, under the questionnaire's URL."""
    return f"{canonical_url()}/answers/{question.id}"


def _translations(text: str) -> dict[str, Any]:
    """``_text`` (or ``_display``): the text in every other language the kiosk has."""
    extensions = []
    for language in sorted(content.current().content.languages):
        if language == SOURCE_LANGUAGE:
            continue
        with force_locale(babel_locale(language)):
            translated = gettext(text)
        if translated != text:
            extensions.append(
                {
                    "url": TRANSLATION,
                    "extension": [
                        {"url": "lang", "valueCode": language},
                        {"url": "content", "valueString": translated},
                    ],
                }
            )
    return {"extension": extensions} if extensions else {}


def _text(field: str, text: str) -> dict[str, Any]:
    translated = _translations(text)
    return {field: text, **({f"_{field}": translated} if translated else {})}


def _question_item(question: qn.Question) -> dict[str, Any]:
    kind = question.kind_of
    item: dict[str, Any] = {
        "linkId": question.id,
        **_text("text", question.label),
        "type": kind.fhir_type,
        "required": question.required,
        # Its kind says the rest: repeats, choices, a length.
        **kind.fhir_item(question, answer_system(question), _text),
    }
    if question.depends_on:
        depends_on = content.definition().question(question.depends_on)
        assert depends_on is not None
        item["enableWhen"] = [
            {
                "question": depends_on.id,
                "operator": "=",
                "answerCoding": {"system": answer_system(depends_on), "code": question.depends_value},
            }
        ]
    if question.hint:
        item["item"] = [{"linkId": f"{question.id}.hint", **_text("text", question.hint), "type": "display"}]
    return item


def group_link_id(step: qn.Step) -> str:
    """A step's group: linkIds are unique in a Questionnaire, and a step may
    share its id with one of its questions ("reasons")."""
    return f"step-{step.id}"


def _items() -> list[dict[str, Any]]:
    groups = []
    for step in content.definition().steps:
        group: dict[str, Any] = {"linkId": group_link_id(step), **_text("text", step.title), "type": "group"}
        group["item"] = [_question_item(q) for q in step.fields()]
        groups.append(group)
    return groups


def _version(items: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256(json.dumps(items, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return digest[:12]


def definition_version() -> str:
    """A digest of the definition as the Questionnaire carries it: a new
    question, choice or wording is a new version."""
    return _version(_items())


def questionnaire() -> dict[str, Any]:
    items = _items()
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": canonical_url(),
        "version": _version(items),
        "name": "SecondOpinionPrep",
        "title": "Getting ready for a second opinion (spine)",
        "status": "active",
        "language": SOURCE_LANGUAGE,
        "subjectType": ["Patient"],
        "publisher": content.clinic().name,
        "description": "What a patient tells the waiting-room kiosk while preparing for a second opinion.",
        "item": items,
    }


# --- a QuestionnaireResponse ------------------------------------------------------------------------


def _answers(question: qn.Question, value: Any) -> list[dict[str, Any]]:
    return question.kind_of.fhir_answers(question, value, answer_system(question), gettext)


def questionnaire_response(handout: Handout) -> dict[str, Any]:
    """The handout's answers, by linkId, in the language the patient used."""
    answers = handout.visit.answers or {}
    groups = []
    with force_locale(babel_locale(handout.language)):
        for step in content.definition().steps:
            items = []
            for question in step.fields():
                if found := _answers(question, answers.get(question.id)):
                    items.append({"linkId": question.id, "text": gettext(question.label), "answer": found})
            if items:
                groups.append({"linkId": group_link_id(step), "text": gettext(step.title), "item": items})
    authored = handout.created_at.replace(tzinfo=UTC).isoformat(timespec="seconds")
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(handout.id),
        "identifier": {"system": f"{canonical_url()}/claim-code", "value": handout.claim_code},
        "questionnaire": f"{canonical_url()}|{definition_version()}",
        "status": "completed",
        "authored": authored,
        "language": handout.language,
        "item": groups,
    }


# --- the routes --------------------------------------------------------------------------------------


def _fhir(resource: dict[str, Any], status: int = 200):
    response = jsonify(resource)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    return response


def _outcome(status: int, code: str, text: str):
    return _fhir(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}],
        },
        status,
    )


@bp.get(f"/Questionnaire/{QUESTIONNAIRE_ID}", endpoint="questionnaire")
def questionnaire_view():
    return _fhir(questionnaire())


@bp.get("/QuestionnaireResponse/<id:handout_id>")
def questionnaire_response_view(handout_id: int):
    """A handout's answers, for signed-in staff (the desk's own session)."""
    if not current_user.is_authenticated:
        return _outcome(401, "login", "Sign in to the front desk first.")
    auth.touch(g.desk_sign_in.row)
    handout = db.session.get(Handout, handout_id) or abort(404)
    resource = questionnaire_response(handout)
    audit.record(current_user.username, "fhir-export", f"handout {handout.claim_code}")
    db.session.commit()
    return _fhir(resource)


@bp.errorhandler(404)
def not_found(_error):
    return _outcome(404, "not-found", "There is no such resource (handouts are deleted after a day).")


@errors.page_for(bp.name)
def problem(status: int, trouble: errors.Trouble):
    if trouble is errors.Trouble.DATABASE:
        return _outcome(status, "transient", "The database cannot be reached. Try again in a few seconds.")
    return _outcome(status, "exception", "Something went wrong on the server.")
