"""A kind of question a newcomer adds: a pain rating from 0 to 10.

All of it is here and in ``rating.html`` beside it: how it is drawn, read and
checked, said on review, printed on the handout and exported to FHIR.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk import questionnaire as qn

MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
TOP = 10


@qn.register
class Rating(qn.Kind):
    """A number from 0 (none) to 10 (the worst there is), one tap."""

    name = "rating"
    screen = ("rating.html", "rating")
    handout_style = "answer"
    fhir_type = "integer"

    def choices(self, question: qn.Question) -> tuple[qn.Choice, ...]:
        return tuple(qn.Choice(str(n), str(n)) for n in range(TOP + 1))

    def review(self, question: qn.Question, answers: Mapping[str, Any], translate: qn.Translate) -> list[str]:
        return [f"{c.label} out of {TOP}" for c in self.chosen(question, answers)]

    def fhir_item(self, question: qn.Question, system: str, text: qn.Texts) -> dict[str, Any]:
        return {
            "extension": [
                {"url": MIN_VALUE, "valueInteger": 0},
                {"url": MAX_VALUE, "valueInteger": TOP},
            ]
        }

    def fhir_answers(
        self, question: qn.Question, value: Any, system: str, translate: qn.Translate
    ) -> list[dict]:
        return [{"valueInteger": int(value)}] if value in {c.id for c in self.choices(question)} else []
