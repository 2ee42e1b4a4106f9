"""A new kind of question is one class and one macro: written beside the
tests (``tests/kinds/``), with nothing else changed, it is asked on the kiosk,
checked, said on review, printed on the handout and exported to FHIR."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk.extensions import db
from kiosk.models import Handout

from .conftest import SAMPLE_ANSWERS, Kiosk, definition_in_force, form_for, run_worker
from .kinds import rating

KINDS = Path(__file__).resolve().parent / "kinds"
PAIN = qn.Question("pain_now", rating.Rating.name, "How bad is your pain right now?")


@pytest.fixture
def rated(app):
    """The app asking for a pain rating on the situation step, its macro found beside the kind."""
    app.jinja_env.loader = ChoiceLoader([app.jinja_env.loader, FileSystemLoader(KINDS)])
    situation = dataclasses.replace(qn.SITUATION, questions=(*qn.SITUATION.questions, PAIN))
    steps = tuple(situation if s.id == situation.id else s for s in qn.BUILT_IN.steps)
    with definition_in_force(app, qn.Definition(steps=steps)):
        yield app


def test_a_new_kind_is_drawn_checked_reviewed_printed_and_exported(rated):
    app = rated
    kiosk = Kiosk(app.test_client())
    kiosk.start()
    kiosk.answer("safety")
    page = kiosk.get("/visit/situation").get_data(as_text=True)
    assert PAIN.label in page
    assert 'class="choices rating-scale"' in page
    for n in range(11):
        assert f'name="pain_now" value="{n}"' in page

    # Read and checked as the kind says: required, and only 0 to 10.
    situation = form_for("situation", SAMPLE_ANSWERS)
    missing = kiosk.post("/visit/situation", situation)
    assert missing.status_code == 422 and "Please choose an answer." in missing.get_data(as_text=True)
    too_high = kiosk.post("/visit/situation", {**situation, "pain_now": "11"})
    assert too_high.status_code == 422
    assert "That answer is not on the list." in too_high.get_data(as_text=True)
    assert kiosk.post("/visit/situation", {**situation, "pain_now": "7"}).status_code == 303

    for step in qn.BUILT_IN.steps[2:]:
        assert kiosk.answer(step.id).status_code == 303
    review = kiosk.get("/visit/review").get_data(as_text=True)
    assert PAIN.label in review and "7 out of 10" in review
    assert kiosk.post("/visit/finish").status_code == 303
    run_worker(app)

    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert handout.visit.answers["pain_now"] == "7"
        printed = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=handout.pdf, capture_output=True, check=True
        ).stdout.decode()
    assert "How bad is your pain right now? 7" in " ".join(printed.split())

    from kiosk import fhir

    with app.test_request_context():
        questionnaire = fhir.questionnaire()
        with app.app_context():
            response = fhir.questionnaire_response(db.session.scalar(select(Handout)))
    Questionnaire.model_validate(questionnaire)
    QuestionnaireResponse.model_validate(response)
    items = {i["linkId"]: i for group in questionnaire["item"] for i in group["item"]}
    assert items["pain_now"]["type"] == "integer"
    assert {e["valueInteger"] for e in items["pain_now"]["extension"]} == {0, 10}
    answered = {i["linkId"]: i for group in response["item"] for i in group["item"]}
    assert answered["pain_now"]["answer"] == [{"valueInteger": 7}]


def test_a_kind_is_known_by_its_name_once():
    with pytest.raises(ValueError, match="a name of its own"):
        qn.register(rating.Rating)
    with pytest.raises(ValueError, match="unknown kind"):
        qn.Definition(steps=(dataclasses.replace(qn.SAFETY, questions=(qn.Question("x", "dial", "X"),)),))
