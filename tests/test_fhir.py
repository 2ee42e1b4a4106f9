"""FHIR R4: the definition as a Questionnaire, a handout as a QuestionnaireResponse.

Both are checked with the fhir.resources models (R4B, which R4 readers
accept for these two resources), and every answer in a response must name an
item of the Questionnaire, with an answer of the item's type.
"""

from __future__ import annotations

import dataclasses

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import select

from kiosk import fhir
from kiosk import questionnaire as qn
from kiosk.extensions import db
from kiosk.models import AuditEvent, Handout

from .conftest import definition_in_force

QUESTIONNAIRE_URL = "/fhir/Questionnaire/second-opinion-prep"
VALUE_FOR_TYPE = {"boolean": "valueBoolean", "choice": "valueCoding", "text": "valueString"}


def items_by_link_id(items, found=None) -> dict:
    found = {} if found is None else found
    for item in items or []:
        found[item["linkId"]] = item
        items_by_link_id(item.get("item"), found)
    return found


@pytest.fixture
def questionnaire(client):
    response = client.get(QUESTIONNAIRE_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    return response.get_json()


@pytest.fixture
def finished(app, kiosk):
    """A finished visit with a red flag, a follow-up text, stars and an own question."""
    kiosk.answer_all(
        {
            "warning_signs": ["fever"],
            "reasons": ["other", "risks"],
            "reasons_other": "My neighbour had the same operation 🙂",
            "own_question_1": "Can I still garden?",
            "top_questions": ["q_options_all", "own_question_1"],
            "advocate_help": "yes",
        }
    )
    kiosk.finish()
    with app.app_context():
        return db.session.scalar(select(Handout.id))


def test_the_questionnaire_is_valid_fhir(questionnaire):
    parsed = Questionnaire.model_validate(questionnaire)
    assert parsed.status == "active"
    assert parsed.url.endswith(QUESTIONNAIRE_URL)
    assert parsed.version


def test_every_question_and_choice_is_there_with_its_stable_id(questionnaire):
    items = items_by_link_id(questionnaire["item"])
    assert [i["linkId"] for i in questionnaire["item"]] == [f"step-{s.id}" for s in qn.STEPS]
    for question in qn.BUILT_IN.fields():
        item = items[question.id]
        assert item["type"] == {"yesno": "boolean", "text": "text"}.get(question.kind, "choice")
        assert item["required"] is question.required
        if item["type"] == "choice":
            codes = {o["valueCoding"]["code"] for o in item["answerOption"]}
            assert {c.id for c in question.all_choices()} <= codes
    assert items["reasons"]["repeats"] is True
    assert items["warning_signs"]["repeats"] is True
    assert items["spine_region"].get("repeats") is not True
    assert items["reasons_other"]["enableWhen"] == [
        {
            "question": "reasons",
            "operator": "=",
            "answerCoding": {
                "system": items["reasons_other"]["enableWhen"][0]["answerCoding"]["system"],
                "code": "other",
            },
        }
    ]
    assert items["top_questions"]["extension"][0]["valueInteger"] == qn.MAX_TOP_QUESTIONS


def test_link_ids_are_unique(questionnaire):
    def link_ids(items):
        for item in items or []:
            yield item["linkId"]
            yield from link_ids(item.get("item"))

    ids = list(link_ids(questionnaire["item"]))
    assert len(ids) == len(set(ids))


def test_other_languages_travel_in_the_translation_extension(questionnaire):
    safety = questionnaire["item"][0]
    assert safety["text"] == qn.SAFETY.title
    (translation,) = safety["_text"]["extension"]
    assert translation["url"] == fhir.TRANSLATION
    parts = {e["url"]: e.get("valueCode") or e.get("valueString") for e in translation["extension"]}
    assert parts["lang"] == "es" and parts["content"] and parts["content"] != qn.SAFETY.title


def test_the_version_changes_when_the_definition_changes(app, monkeypatch):
    with app.test_request_context():
        before = fhir.definition_version()
        assert fhir.definition_version() == before, "the same definition, the same version"
        changed = dataclasses.replace(qn.SITUATION, title="Your situation, told differently")
        with definition_in_force(app, qn.Definition(steps=(qn.SAFETY, changed, *qn.STEPS[2:]))):
            assert fhir.definition_version() != before


def test_a_handout_exports_as_a_valid_response_for_signed_in_staff(app, desk, finished, questionnaire):
    response = desk.get(f"/fhir/QuestionnaireResponse/{finished}")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    data = response.get_json()
    parsed = QuestionnaireResponse.model_validate(data)
    assert parsed.status == "completed"
    assert data["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
    assert data["language"] == "en"
    assert data["authored"].endswith("+00:00")
    answered = items_by_link_id(data["item"])
    assert {a["valueCoding"]["code"] for a in answered["reasons"]["answer"]} == {"risks", "other"}
    assert answered["warning_signs"]["answer"][0]["valueCoding"]["code"] == "fever"
    assert answered["reasons_other"]["answer"] == [{"valueString": "My neighbour had the same operation 🙂"}]
    assert answered["advocate_help"]["answer"] == [{"valueBoolean": True}]
    with app.app_context():
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "fhir-export")).all()
        assert [a.subject for a in audit] == [f"handout {db.session.get(Handout, finished).claim_code}"]


def test_every_answer_names_an_item_of_the_questionnaire_with_a_compatible_type(
    desk, finished, questionnaire
):
    items = items_by_link_id(questionnaire["item"])
    data = desk.get(f"/fhir/QuestionnaireResponse/{finished}").get_json()
    answered = [i for i in items_by_link_id(data["item"]).values() if "answer" in i]
    assert len(answered) > 10
    for item in answered:
        defined = items.get(item["linkId"])
        assert defined is not None, item["linkId"]
        value_key = VALUE_FOR_TYPE[defined["type"]]
        assert len(item["answer"]) == 1 or defined.get("repeats"), item["linkId"]
        for answer in item["answer"]:
            assert list(answer) == [value_key], (item["linkId"], answer)
            if value_key == "valueCoding":
                options = {
                    (o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in defined["answerOption"]
                }
                assert (answer["valueCoding"]["system"], answer["valueCoding"]["code"]) in options
    for group in data["item"]:
        assert items[group["linkId"]]["type"] == "group"


def test_a_response_is_for_signed_in_staff_only(client, finished):
    response = client.get(f"/fhir/QuestionnaireResponse/{finished}")
    assert response.status_code == 401
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert "neighbour" not in response.get_data(as_text=True)


def test_a_spanish_visit_exports_in_spanish(app, kiosk, desk):
    kiosk.start()
    kiosk.post("/preferences", {"lang": "es", "next": "/visit/safety"})
    for step in qn.STEPS:
        kiosk.answer(step.id)
    kiosk.finish()
    with app.app_context():
        handout_id = db.session.scalar(select(Handout.id))
    data = desk.get(f"/fhir/QuestionnaireResponse/{handout_id}").get_json()
    QuestionnaireResponse.model_validate(data)
    assert data["language"] == "es"
    assert data["item"][0]["text"] != qn.SAFETY.title


def test_an_unknown_handout_is_a_calm_fhir_404(desk):
    response = desk.get("/fhir/QuestionnaireResponse/999999")
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_the_desk_links_the_export(app, desk, finished):
    page = desk.get(f"/desk/handouts/{finished}").get_data(as_text=True)
    assert f'href="/fhir/QuestionnaireResponse/{finished}"' in page
