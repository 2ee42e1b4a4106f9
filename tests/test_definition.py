"""The definition is the one source: a question added to it is asked on the
kiosk, checked, shown on review, printed on the handout and exported to FHIR,
with no change anywhere else."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk.extensions import db
from kiosk.models import Handout, Visit

from .conftest import SAMPLE_ANSWERS, Kiosk, definition_in_force, form_for, run_worker
from .support.handout import pdf_text

WHERE = qn.Question(
    "pain_where",
    "multi",
    "Where do you feel it most?",
    hint="Tap all that apply.",
    choices=(qn.Choice("arm", "In my arm"), qn.Choice("leg", "In my leg", "My leg hurts most.")),
)
WALK = qn.Question(
    "walk_minutes",
    "single",
    "How long can you walk?",
    choices=(qn.Choice("few", "A few minutes"), qn.Choice("long", "As long as I like")),
)
WORK = qn.Question("work", "text", "What work do you do?", required=False)


@pytest.fixture
def extended(app):
    """The app asking three more questions on the situation step."""
    situation = dataclasses.replace(qn.SITUATION, questions=(*qn.SITUATION.questions, WHERE, WALK, WORK))
    with definition_in_force(app, qn.Definition(steps=(qn.SAFETY, situation, *qn.STEPS[2:]))):
        yield app


def test_a_new_question_is_asked_checked_reviewed_printed_and_exported(extended):
    app = extended
    kiosk = Kiosk(app.test_client())
    kiosk.start()
    kiosk.answer("safety")
    page = kiosk.get("/visit/situation").get_data(as_text=True)
    for text in (WHERE.label, WHERE.hint, "In my leg", WALK.label, "As long as I like", WORK.label):
        assert text in page

    # Required, like the built-in ones: left out, it is asked for calmly.
    missing = kiosk.post("/visit/situation", form_for("situation", SAMPLE_ANSWERS))
    assert missing.status_code == 422
    assert "Please tap at least one." in missing.get_data(as_text=True)
    not_on_list = kiosk.post(
        "/visit/situation",
        {**form_for("situation", SAMPLE_ANSWERS), "pain_where": ["tail"], "walk_minutes": "few"},
    )
    assert "That answer is not on the list." in not_on_list.get_data(as_text=True)

    answers = {"pain_where": ["arm", "leg"], "walk_minutes": "few", "work": "I drive a bus"}
    saved = kiosk.post("/visit/situation", {**form_for("situation", SAMPLE_ANSWERS), **answers})
    assert saved.status_code == 303
    for step in qn.STEPS[2:]:
        assert kiosk.answer(step.id).status_code == 303
    review = kiosk.get("/visit/review").get_data(as_text=True)
    for text in (WHERE.label, "In my arm", WALK.label, "A few minutes", "I drive a bus"):
        assert text in review
    assert kiosk.post("/visit/finish").status_code == 303
    run_worker(app)

    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert {k: handout.visit.answers[k] for k in answers} == answers
        text = pdf_text(handout.pdf)
    # Read by kind: the choices under the question, the chosen answer after
    # it, and typed words as the patient's own.
    assert "Where do you feel it most?" in text and "My leg hurts most." in text and "In my arm" in text
    assert "How long can you walk? A few minutes" in text
    assert "What work do you do? “I drive a bus”" in text

    with app.test_request_context():
        from kiosk import fhir

        items = {item["linkId"]: item for group in fhir.questionnaire()["item"] for item in group["item"]}
        assert items["pain_where"]["repeats"] and items["walk_minutes"]["type"] == "choice"
        assert items["work"]["type"] == "text"
        response = fhir.questionnaire_response(handout_again(app))
    answered = {item["linkId"]: item for group in response["item"] for item in group["item"]}
    assert [a["valueCoding"]["code"] for a in answered["pain_where"]["answer"]] == ["arm", "leg"]
    assert answered["work"]["answer"] == [{"valueString": "I drive a bus"}]


def handout_again(app) -> Handout:
    return db.session.scalar(select(Handout))


def test_a_new_question_on_its_own_handout_section(app):
    """A question may say where on the handout it goes and how it reads."""
    extra = dataclasses.replace(
        WALK, handout=qn.HandoutLayout(section="support", style="list", lead_in="How far I can walk:")
    )
    records = dataclasses.replace(qn.RECORDS, questions=(*qn.RECORDS.questions, extra))
    from kiosk.handout import handout_html

    from .support.handout import VISIT_DATE

    definition = qn.Definition(steps=(*qn.STEPS[:3], records, qn.STEPS[4]))
    with definition_in_force(app, definition), app.app_context():
        html = handout_html(
            {**SAMPLE_ANSWERS, "walk_minutes": "long"},
            language="en",
            claim_code="K7P2",
            created_at=VISIT_DATE,
        )
    support = html[html.index('id="support-title"') :]
    assert "How far I can walk:" in support and "As long as I like" in support


def test_ids_must_be_unique_across_the_definition():
    clash = dataclasses.replace(WORK, id="own_question_1")
    situation = dataclasses.replace(qn.SITUATION, questions=(*qn.SITUATION.questions, clash))
    with pytest.raises(ValueError, match="own_question_1"):
        qn.Definition(steps=(qn.SAFETY, situation, *qn.STEPS[2:]))


def test_the_bank_says_how_many_stars_and_own_questions():
    bank = dataclasses.replace(qn.BANK, stars=1, own=qn.BANK.own[:1])
    step = dataclasses.replace(qn.QUESTIONS, questions=(bank,))
    two = step.validate(
        Form(questions=["q_options_all", "q_risks_main"], top_questions=["q_options_all", "q_risks_main"])
    )
    assert two.errors[bank.stars_id].text == qn.MSG_TOO_MANY_TOP
    one = step.validate(Form(top_questions=["q_risks_main"], own_question_2="Not asked here"))
    assert one.ok and one.values["questions"] == ["q_risks_main"] and "own_question_2" not in one.values
    assert [q.id for q in step.fields()] == ["questions", "top_questions", "own_question_1"]


class Form(dict):
    def getlist(self, key):
        value = self.get(key)
        return [] if value is None else value if isinstance(value, list) else [value]


def test_a_visit_stores_only_the_definitions_answers(app, kiosk):
    kiosk.answer_all()
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        assert set(visit.answers) == {q.id for q in qn.BUILT_IN.fields()}


def test_review_shows_typed_words_and_leaves_out_what_is_no_longer_offered(app, kiosk):
    kiosk.answer_all(
        {
            "reasons": ["risks", "other"],
            "reasons_other": "My sister had it",
            "own_question_1": "Can I swim?",
            "top_questions": ["own_question_1"],
        }
    )
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        visit.answers = {**visit.answers, "records_exist": ["mri", "retired_kind"]}
        db.session.commit()
    review = kiosk.get("/visit/review").get_data(as_text=True)
    assert "My sister had it" in review and "★ Can I swim?" in review
    assert "MRI scan" in review and "retired_kind" not in review
