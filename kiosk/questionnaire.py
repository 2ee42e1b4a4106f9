"""The visit-prep questionnaire: every step, question, choice and red flag,
how each kind of question is answered and checked, and how its answers read
on the handout.

This module is the single source of truth. The kiosk screens, the server-side
validation, the review, the handout and the FHIR export all read it, through
the definition in force (``kiosk.content.definition()``), so adding a question
or a choice is an edit here (or, for a clinic's own questions, in its content
file: ``kiosk.content``) and nowhere else; adding a kind of question is one
``Kind`` class and one macro. Every item has a stable id: ids are
stored with the answers and must never be renamed once a kiosk has used them.

It imports nothing of the application. Patient-facing text is wrapped in
``N_`` so Babel extracts it; it is translated where it is shown.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Protocol


def N_(text: str) -> str:
    """Mark text for translation without translating it here."""
    return text


TEXT_MAX_LENGTH = 300
"""Longest free text we accept in any field: a few sentences, enough for a question."""


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    # How the choice reads on the handout, in the patient's voice.
    phrase: str = ""
    hint: str = ""


@dataclass(frozen=True)
class RedFlag(Choice):
    """A sign that the patient should not wait for any opinion."""

    # How it reads in the handout's "get help right away" box.
    warning: str = ""
    # How it reads on the front desk's urgent alert: for staff, third person,
    # English only (the desk is not translated).
    staff_label: str = ""


@dataclass(frozen=True)
class Topic:
    """A group of ready-made questions in the question bank."""

    id: str
    label: str
    questions: tuple[Choice, ...]


# --- the handout ----------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A part of the handout that shows answers, under its heading."""

    id: str
    heading: str
    intro: str = ""
    # The intro of the handout in braille, where the paper's speaks of
    # writing on the page ("" : the same as on paper).
    braille_intro: str = ""


Style = Literal["", "none", "sentence", "phrase", "answer", "list", "ticks", "words", "questions", "letter"]


@dataclass(frozen=True)
class HandoutLayout:
    """How a question's answer is laid out on the handout.

    ``style``:

    - ``sentence``: the lead-in and the chosen phrases in one sentence, ended
      by the phrase of the question named in ``then`` (after ``joiner``);
    - ``phrase``: the chosen choice's phrase as a sentence of its own (a
      choice without a phrase prints nothing), then any ``blanks``;
    - ``answer``: the question and the chosen labels;
    - ``list``: the lead-in, then the chosen phrases two to a row;
    - ``ticks``: the chosen labels as boxes to tick, two to a row, then a
      line of ``blanks``;
    - ``words``: the patient's own words, as theirs, after the lead-in;
    - ``questions``: the bank's questions, starred first, with lines to
      write the answers on;
    - ``letter``: a yes adds the records-request letter as the handout's
      last page, asking for what the question named in ``then`` lists;
    - ``none``: not on the handout (the safety list has a box of its own);
    - ``""``: its kind's (``Kind.handout_style``).
    """

    section: str = ""  # a Section id; "" is the step's
    style: Style = ""
    lead_in: str = ""
    skip: tuple[str, ...] = ()  # choices never printed ("other", "not sure")
    every_if_none: bool = False  # nothing chosen but skipped ones: print every choice
    unanswered: str = ""  # the choice to read as when none was chosen (an older visit)
    blanks: tuple[str, ...] = ()  # labels with a line to fill in on paper
    then: str = ""
    joiner: str = ""
    order: int = 0  # place within the section (then the definition's order)


# --- questions and steps ------------------------------------------------------------


class FormData(Protocol):
    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # the name of its kind (``KINDS``): how it is answered
    label: str
    hint: str = ""
    choices: tuple[Choice, ...] = ()
    topics: tuple[Topic, ...] = ()
    required: bool = True
    max_length: int = TEXT_MAX_LENGTH
    # Shown only when this choice id is among the answers to ``depends_on``.
    depends_on: str = ""
    depends_value: str = ""
    # kind "bank": how many questions may be starred, the id the stars are
    # stored under, and the patient's own questions (kind "text").
    stars: int = 0
    stars_id: str = ""
    stars_label: str = ""
    own: tuple[Question, ...] = ()
    handout: HandoutLayout = HandoutLayout()

    def choice_ids(self) -> set[str]:
        return {c.id for c in self.all_choices()}

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.all_choices() if c.id == choice_id), None)

    @property
    def kind_of(self) -> Kind:
        """The question's kind: how it is drawn, read, reviewed, printed and exported."""
        return KINDS[self.kind]

    def all_choices(self) -> tuple[Choice, ...]:
        return self.kind_of.choices(self)

    def parts(self) -> tuple[Question, ...]:
        """Every answer this question stores, each under its own id: the
        question itself and, for the bank, its stars and the patient's own
        questions."""
        return self.kind_of.parts(self)

    def read(self, form: FormData) -> tuple[dict[str, Any], dict[str, Problem]]:
        """The posted answer(s), cleaned, and a calm message for each to fix."""
        values: dict[str, Any] = {}
        errors: dict[str, Problem] = {}
        for part in self.parts():
            raw = [v for v in form.getlist(part.id) if isinstance(v, str)]
            values[part.id], problem = part.kind_of.read(part, raw)
            if problem is not None:
                errors[part.id] = problem
        self.kind_of.check(self, values, errors)
        return values, errors

    def chosen(self, answers: Mapping[str, Any]) -> list[Choice]:
        """The choices a stored answer holds (``Kind.chosen``)."""
        return self.kind_of.chosen(self, answers)

    def review(self, answers: Mapping[str, Any], translate: Translate) -> list[str]:
        """The answer in plain words for the review screen (``Kind.review``)."""
        return self.kind_of.review(self, answers, translate)

    def picked(self, answers: Mapping[str, Any]) -> list[Picked]:
        """The bank's questions the patient chose, starred first in the order
        they were starred, then the picked ones, then their own."""
        top = [t for t in answers.get(self.stars_id) or [] if isinstance(t, str)]
        own = {q.id: answers.get(q.id) for q in self.own if answers.get(q.id)}
        ordered = list(dict.fromkeys([*top, *(answers.get(self.id) or []), *own]))
        result = []
        for item in ordered:
            if item in own:
                result.append(Picked(own[item], own=True, top=item in top))
            elif (choice := self.choice(item)) is not None:
                result.append(Picked(choice.label, own=False, top=item in top))
        return result


@dataclass(frozen=True)
class Picked:
    """A question the patient chose to ask: a bank question's label (to
    translate) or their own words."""

    text: str
    own: bool
    top: bool


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    intro: str = ""
    questions: tuple[Question, ...] = field(default_factory=tuple)
    # Screens that talk about symptoms must say the kiosk gives no medical advice.
    about_symptoms: bool = False
    # A few words of reassurance, set apart on the screen.
    note: str = ""
    # Where the step's answers go on the handout, unless a question says otherwise.
    section: str = "tell"

    def question(self, question_id: str) -> Question | None:
        """A question of this step, or one of its parts (``Question.parts``)."""
        return next((q for q in self.fields() if q.id == question_id), None)

    def fields(self) -> Iterator[Question]:
        """Every answer the step stores (``Question.parts``), in order."""
        for question in self.questions:
            yield from question.parts()

    def validate(self, form: FormData) -> StepResult:
        """Check the step's posted fields against the questionnaire.

        Returns every value the patient sent (so a screen with a mistake shows
        their answers again) and a calm message for each field to fix.
        """
        values: dict[str, Any] = {}
        errors: dict[str, Problem] = {}
        for question in self.questions:
            read, problems = question.read(form)
            values.update(read)
            errors.update(problems)
        for question in self.fields():
            # A follow-up text ("your other reason") belongs to its choice: the
            # screen shows it only while that choice is ticked; untick it and
            # the text goes too.
            chosen = values.get(question.depends_on)
            chosen = chosen if isinstance(chosen, list) else [chosen]
            if question.depends_on and question.depends_value not in chosen:
                values[question.id] = ""
                errors.pop(question.id, None)
        return StepResult(values=values, errors=errors)


# --- checking answers ---------------------------------------------------------------

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


def _read_one(question: Question, raw: list[str]) -> tuple[str, Problem | None]:
    chosen = raw[0] if raw else ""
    if len(set(raw)) > 1 or (chosen and chosen not in question.choice_ids()):
        return "", Problem(MSG_NOT_ON_LIST)
    if not chosen and question.required:
        return "", Problem(MSG_CHOOSE_ONE)
    return chosen, None


def _read_many(question: Question, raw: list[str]) -> tuple[list[str], Problem | None]:
    allowed = question.choice_ids()
    chosen = list(dict.fromkeys(raw))
    kept = [c for c in chosen if c in allowed]
    if len(kept) < len(chosen):
        return kept, Problem(MSG_NOT_ON_LIST)
    if not chosen and question.required:
        return kept, Problem(MSG_CHOOSE_SOME)
    return kept, None


def _check_picks(bank: Question, values: dict[str, Any], errors: dict[str, Problem]) -> None:
    """Starring a question picks it; at most ``stars`` stars; at least one question."""
    own = [q.id for q in bank.own if values.get(q.id)]
    own_ids = {q.id for q in bank.own}
    picked = values[bank.id]
    # A star on an own question that is blank means nothing; drop it quietly.
    top = [t for t in values[bank.stars_id] if t not in own_ids or t in own]
    picked.extend(t for t in top if t not in own_ids and t not in picked)
    values[bank.id] = [c.id for c in bank.all_choices() if c.id in picked]
    values[bank.stars_id] = top
    if len(top) > bank.stars:
        errors[bank.stars_id] = Problem(MSG_TOO_MANY_TOP)
    if not picked and not own and bank.id not in errors:
        errors[bank.id] = Problem(MSG_PICK_A_QUESTION)


# --- kinds of question ----------------------------------------------------------------

FIELDS_TEMPLATE = "patient/_fields.html"
"""Where the built-in kinds' screen macros are."""


class Kind:
    """One kind of question, whole: how the kiosk draws it, how a posted form
    reads and is checked, how the review says it, how the handout lays it out
    unless the question says otherwise, and what FHIR makes of it.

    Every part of the kiosk asks a question's kind (``Question.kind_of``);
    none of them knows the kinds by name. A new kind is a subclass, given to
    ``register``, and a Jinja macro ``(question, values, errors)`` named in
    ``screen``: nothing else changes.
    """

    name: str = ""
    raises_alerts: bool = False
    """Its choices are red flags: any one chosen alerts the desk (the safety list)."""
    screen: tuple[str, str] = (FIELDS_TEMPLATE, "choices")
    """The template and the macro that draw a question of this kind on the kiosk."""
    handout_style: Style = "answer"
    """How an answer reads on the handout when its ``HandoutLayout`` gives no style."""
    fhir_type: str = "choice"
    """The FHIR item type (``boolean``, ``choice``, ``text``, ...)."""
    several: bool = False
    """Any number of answers (a list) rather than one: FHIR ``repeats``."""

    def choices(self, question: Question) -> tuple[Choice, ...]:
        """Every choice an answer may hold."""
        return question.choices

    def parts(self, question: Question) -> tuple[Question, ...]:
        """Every answer a question of this kind stores, each under its own id."""
        return (question,)

    def read(self, question: Question, raw: list[str]) -> tuple[Any, Problem | None]:
        """One part's posted values, cleaned, and a calm message if they need fixing."""
        return _read_many(question, raw) if self.several else _read_one(question, raw)

    def check(self, question: Question, values: dict[str, Any], errors: dict[str, Problem]) -> None:
        """Check the parts' values together, once each was read (``read``)."""

    def chosen(self, question: Question, answers: Mapping[str, Any]) -> list[Choice]:
        """The choices a stored answer holds, in its order; one no longer offered is left out."""
        value = answers.get(question.id)
        ids = value if isinstance(value, list) else [value] if value else []
        return [c for c in (question.choice(i) for i in ids if isinstance(i, str)) if c is not None]

    def review(self, question: Question, answers: Mapping[str, Any], translate: Translate) -> list[str]:
        """The answer in plain words for the review screen, one item each."""
        return [translate(c.label) for c in self.chosen(question, answers)]

    def fhir_item(self, question: Question, system: str, text: Texts) -> dict[str, Any]:
        """What a FHIR Questionnaire item says of this kind beyond its linkId,
        text, type and required: ``system`` is the code system of its choices,
        ``text(field, words)`` gives words with their translations."""
        item: dict[str, Any] = {"repeats": True} if self.several else {}
        item["answerOption"] = [
            {"valueCoding": {"system": system, "code": c.id, **text("display", c.label)}}
            for c in self.choices(question)
        ]
        return item

    def fhir_answers(self, question: Question, value: Any, system: str, translate: Translate) -> list[dict]:
        """A stored answer as a QuestionnaireResponse's ``answer`` list."""
        return [
            {"valueCoding": {"system": system, "code": c.id, "display": translate(c.label)}}
            for c in self.chosen(question, {question.id: value})
        ]


Translate = Any  # (str) -> str: text in the patient's language
Texts = Any  # (field, str) -> dict: the text under ``field``, with its translations

KINDS: dict[str, Kind] = {}
"""Every kind of question, by the name a question gives (``Question.kind``)."""


def register(kind: type[Kind]) -> type[Kind]:
    """Make a kind known by its name (a class decorator)."""
    if not kind.name or kind.name in KINDS:
        raise ValueError(f"a kind needs a name of its own, not {kind.name!r}")
    KINDS[kind.name] = kind()
    return kind


@register
class Single(Kind):
    """One choice from a list."""

    name = "single"


@register
class Scale(Single):
    """One choice on a scale (its choices in order)."""

    name = "scale"


@register
class YesNo(Single):
    """Yes or no (its own words for each, if it has any)."""

    name = "yesno"
    fhir_type = "boolean"

    def choices(self, question: Question) -> tuple[Choice, ...]:
        return question.choices or YES_NO

    def fhir_item(self, question: Question, system: str, text: Texts) -> dict[str, Any]:
        return {}

    def fhir_answers(self, question: Question, value: Any, system: str, translate: Translate) -> list[dict]:
        return [{"valueBoolean": value == "yes"}] if value not in (None, "", []) else []


@register
class Multi(Kind):
    """Any number of choices."""

    name = "multi"
    several = True
    handout_style = "list"


@register
class Stars(Multi):
    """The bank's stars, stored under their own id (``Bank.parts``)."""

    name = "stars"
    handout_style = "answer"

    def fhir_item(self, question: Question, system: str, text: Texts) -> dict[str, Any]:
        return {
            "repeats": True,
            "extension": [{"url": MAX_OCCURS_EXTENSION, "valueInteger": question.stars}],
            "answerOption": super().fhir_item(question, system, text)["answerOption"],
        }


MAX_OCCURS_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs"


@register
class Text(Kind):
    """The patient's own words, up to ``max_length`` letters."""

    name = "text"
    screen = (FIELDS_TEMPLATE, "text")
    handout_style = "words"
    fhir_type = "text"

    def choices(self, question: Question) -> tuple[Choice, ...]:
        return ()

    def read(self, question: Question, raw: list[str]) -> tuple[str, Problem | None]:
        text = clean_text(raw[0]) if raw else ""
        if len(text) > question.max_length:
            return text, Problem(MSG_TOO_LONG, length=len(text), limit=question.max_length)
        return text, None

    def review(self, question: Question, answers: Mapping[str, Any], translate: Translate) -> list[str]:
        return [answers[question.id]] if answers.get(question.id) else []

    def fhir_item(self, question: Question, system: str, text: Texts) -> dict[str, Any]:
        return {"maxLength": question.max_length}

    def fhir_answers(self, question: Question, value: Any, system: str, translate: Translate) -> list[dict]:
        return [{"valueString": value}] if value not in (None, "", []) else []


@register
class Signs(Kind):
    """The safety list: its choices are red flags, answered "none of these",
    "one or more", or with the signs themselves. Any sign alerts the desk."""

    name = "signs"
    screen = (FIELDS_TEMPLATE, "signs")
    several = True
    raises_alerts = True

    def choices(self, question: Question) -> tuple[Choice, ...]:
        return (*question.choices, NO_SIGNS, SOME_SIGNS)

    def read(self, question: Question, raw: list[str]) -> tuple[list[str], Problem | None]:
        """The signs ticked, or "none", or "some" (not said which).

        Posted are the ticked signs plus the button tapped. A sign ticked counts
        even without its button; "none" with a sign ticked is asked again.
        """
        signs = [c.id for c in question.choices if c.id in raw]
        answers = {NO_SIGNS.id, SOME_SIGNS.id} & set(raw)
        if set(raw) - question.choice_ids():
            return signs, Problem(MSG_NOT_ON_LIST)
        if NO_SIGNS.id in answers and (signs or SOME_SIGNS.id in answers):
            return signs, Problem(MSG_SIGNS_CONFLICT)
        if signs:
            return signs, None
        if answers:
            return [answers.pop()], None
        return [], Problem(MSG_SIGNS_ANSWER)


@register
class Bank(Multi):
    """Ready-made questions to pick, by topic, with up to ``stars`` of them
    (or of the patient's ``own`` questions) starred as most important."""

    name = "bank"
    screen = (FIELDS_TEMPLATE, "bank")
    handout_style = "questions"

    def choices(self, question: Question) -> tuple[Choice, ...]:
        return tuple(q for topic in question.topics for q in topic.questions)

    def parts(self, question: Question) -> tuple[Question, ...]:
        """The bank itself, its stars and the patient's own questions."""
        stars = Question(
            question.stars_id,
            Stars.name,
            question.stars_label,
            # Any question picked from the bank, or one of the patient's own.
            choices=(*self.choices(question), *(Choice(q.id, q.label) for q in question.own)),
            required=False,
            stars=question.stars,
        )
        return (question, stars, *question.own)

    def check(self, question: Question, values: dict[str, Any], errors: dict[str, Problem]) -> None:
        _check_picks(question, values, errors)

    def review(self, question: Question, answers: Mapping[str, Any], translate: Translate) -> list[str]:
        """The questions picked, a star on those that matter most."""
        return [
            ("★ " if q.top else "") + (q.text if q.own else translate(q.text))
            for q in question.picked(answers)
        ]


# --- the content -----------------------------------------------------------------

YES_NO = (Choice("yes", N_("Yes")), Choice("no", N_("No")))

MAX_TOP_QUESTIONS = 3

# The handout's sections that show answers, in the order they are printed.
SECTIONS: tuple[Section, ...] = (
    Section("records", N_("Before your visit")),
    Section("tell", N_("What to tell the new doctor")),
    Section(
        "questions",
        N_("My questions"),
        N_("Bring this page to your visit. Write the answers on the lines."),
        braille_intro=N_(
            "Take these pages to your visit and ask these questions. "
            "Ask someone to write down the answers, or ask if you can record them."
        ),
    ),
    Section("support", N_("Who is coming with me")),
)

# --- Step 1: the safety check -------------------------------------------------
# Red flags from NICE NG59 (low back pain and sciatica), BMJ Best Practice
# (cauda equina syndrome), the ACP/APS 2007 low back pain guideline and NICE CKS
# (neck pain). Any sign the patient reports alerts the front desk at once.

RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "bladder",
        N_("It is newly hard to control my bladder."),
        hint=N_("I cannot pass urine, or it leaks."),
        warning=N_("New trouble with your bladder: you cannot pass urine, or it leaks"),
        staff_label="Reports new trouble controlling the bladder (cannot pass urine, or leaking)",
    ),
    RedFlag(
        "bowel",
        N_("It is newly hard to control my bowels."),
        warning=N_("New trouble controlling your bowels"),
        staff_label="Reports new trouble controlling the bowels",
    ),
    RedFlag(
        "saddle_numbness",
        N_("I feel numb between my legs."),
        hint=N_("Around my private parts or my bottom."),
        warning=N_("Numbness between your legs, around your private parts or your bottom"),
        staff_label="Reports numbness between the legs (saddle area)",
    ),
    RedFlag(
        "leg_weakness",
        N_("My legs are weak or numb, and it is new or getting worse."),
        hint=N_("Or it is hard to walk."),
        warning=N_("Leg weakness or numbness that is new or getting worse, or trouble walking"),
        staff_label="Reports new or worsening leg weakness or numbness, or trouble walking",
    ),
    RedFlag(
        "hands_or_shock",
        N_("My hands are getting clumsy or weak."),
        hint=N_("Or I feel an electric shock down my back when I bend my neck."),
        warning=N_(
            "Hands getting clumsy or weak, or an electric shock down your back when you bend your neck"
        ),
        staff_label="Reports clumsy or weak hands, or an electric-shock feeling down the back on bending the neck",
    ),
    RedFlag(
        "injury",
        N_("I hurt my back or neck in a fall or accident not long ago."),
        hint=N_("Or I have a broken bone in my spine with new, bad pain."),
        warning=N_(
            "A fall or injury to your back or neck not long ago. Or a broken bone in your spine with new, bad pain"
        ),
        staff_label="Reports a recent fall or injury to the back or neck, or a spinal fracture with new severe pain",
    ),
    RedFlag(
        "fever",
        N_("I have a fever or chills, and back pain."),
        warning=N_("Fever or chills with back pain"),
        staff_label="Reports fever or chills with back pain",
    ),
    RedFlag(
        "cancer",
        N_("I have had cancer, and now I have new back pain."),
        warning=N_("New back pain if you have had cancer"),
        staff_label="Reports new back pain with a history of cancer",
    ),
    RedFlag(
        "weight_loss",
        N_("I lost weight without trying."),
        warning=N_("Losing weight without trying"),
        staff_label="Reports unexplained weight loss",
    ),
)

# The two answers to the whole list: nothing, or one or more of the signs
# (and then, for the desk, which). "Some" alone means not said which yet: the
# desk is alerted at once all the same.
NO_SIGNS = Choice("none", N_("I have none of these"))
SOME_SIGNS = RedFlag(
    "some",
    N_("I have one or more of these"),
    warning=N_("One or more of the signs on the list"),
    staff_label="Reports one or more warning signs, and has not said which yet",
)

SAFETY = Step(
    id="safety",
    title=N_("First, a safety check"),
    intro=N_("Some signs mean you need care right away. Read the list. Do you have any of these?"),
    about_symptoms=True,
    questions=(
        Question(
            "warning_signs",
            "signs",
            N_("Signs that need care right away"),
            choices=RED_FLAGS,
            handout=HandoutLayout(style="none"),  # the handout's warning box lists every sign
        ),
    ),
)

# --- Step 2: their situation --------------------------------------------------

SITUATION = Step(
    id="situation",
    title=N_("Your situation"),
    intro=N_("Tell us a little about what the first doctor said."),
    questions=(
        Question(
            "spine_region",
            "single",
            N_("Which part of your spine is it?"),
            choices=(
                Choice("neck", N_("Neck"), N_("my neck")),
                Choice("mid_back", N_("Upper or middle back"), N_("my upper or middle back")),
                Choice("low_back", N_("Low back"), N_("my low back")),
                Choice("several", N_("More than one part"), N_("more than one part of my spine")),
                Choice("unsure", N_("I am not sure"), N_("my spine")),
            ),
            handout=HandoutLayout(style="none"),  # it ends the sentence about the first doctor's plan
        ),
        Question(
            "first_recommendation",
            "multi",
            N_("What did the first doctor suggest?"),
            hint=N_("Tap all that apply."),
            choices=(
                Choice("fusion", N_("Spinal fusion surgery"), N_("spinal fusion surgery")),
                Choice("discectomy", N_("Discectomy (taking out part of a disc)"), N_("a discectomy")),
                Choice("laminectomy", N_("Laminectomy (to make more room for nerves)"), N_("a laminectomy")),
                Choice("other_surgery", N_("Another kind of surgery"), N_("another kind of surgery")),
                Choice("injections", N_("Shots (injections)"), N_("shots (injections)")),
                Choice("physical_therapy", N_("Physical therapy"), N_("physical therapy")),
                Choice("medication", N_("Medicine"), N_("medicine")),
                Choice("not_told", N_("I am not sure"), N_("something I am not sure about")),
            ),
            handout=HandoutLayout(
                style="sentence",
                lead_in=N_("The first doctor suggested:"),
                then="spine_region",
                joiner=N_("for"),
            ),
        ),
        Question(
            "confidence",
            "scale",
            N_("How sure do you feel about that plan?"),
            choices=(
                Choice("1", N_("Not sure at all"), N_("I am not sure at all about the plan.")),
                Choice("2", N_("A little sure"), N_("I am a little sure about the plan.")),
                Choice("3", N_("Somewhat sure"), N_("I am somewhat sure about the plan.")),
                Choice("4", N_("Mostly sure"), N_("I am mostly sure about the plan.")),
                Choice("5", N_("Very sure"), N_("I am very sure about the plan.")),
            ),
            handout=HandoutLayout(style="phrase"),
        ),
    ),
)

# --- Step 3: their reasons ----------------------------------------------------

REASONS = Step(
    id="reasons",
    title=N_("Why a second opinion?"),
    intro=N_("Tap every reason that fits you. There is no wrong answer."),
    note=N_(
        "Wanting a second opinion is normal. A good doctor will support it. "
        "If a doctor pushes back or gets angry, that is a warning sign."
    ),
    questions=(
        Question(
            "reasons",
            "multi",
            N_("My reasons"),
            hint=N_("Tap all that apply."),
            choices=(
                Choice(
                    "unsure_surgery", N_("I am not sure I need surgery"), N_("I am not sure I need surgery.")
                ),
                Choice(
                    "other_options",
                    N_("I want to know my other options"),
                    N_("I want to know my other options."),
                ),
                Choice("risks", N_("I am worried about the risks"), N_("I am worried about the risks.")),
                Choice(
                    "surgeon_experience",
                    N_("I want to know how often the surgeon does this"),
                    N_("I want to know how often the surgeon does this."),
                ),
                Choice(
                    "conflicting_info",
                    N_("I got mixed messages"),
                    N_("People have told me different things."),
                ),
                Choice(
                    "insurance",
                    N_("My insurance asks for one"),
                    N_("My insurance asks me to get one."),
                ),
                Choice("peace_of_mind", N_("For peace of mind"), N_("I want peace of mind.")),
                Choice("other", N_("Something else"), N_("I have another reason.")),
            ),
            handout=HandoutLayout(style="list", lead_in=N_("Why I want a second opinion:"), skip=("other",)),
        ),
        Question(
            "reasons_other",
            "text",
            N_("Your other reason, in your own words"),
            hint=N_("You do not have to type anything."),
            required=False,
            depends_on="reasons",
            depends_value="other",
            handout=HandoutLayout(style="words", lead_in=N_("In my words:")),
        ),
    ),
)

# --- Step 4: before the visit: records, and who comes along ----------

_RECORDS_ASKED = N_(
    "You asked the first office to send your records to the new doctor. "
    "Call the new office to check that they got them. If they did not, you may have to redo tests."
)
_RECORDS_SOME_ASKED = N_(
    "You asked the first office for some of your records. Ask them to send the rest to the new doctor. "
    "Then call the new office to check that they got them all. If they did not, you may have to redo tests."
)
_RECORDS_TO_ASK = N_(
    "Ask the first office to send these records to the new doctor. "
    "Then call the new office to check that they got them. If they did not, you may have to redo tests."
)

RECORDS = Step(
    id="records",
    title=N_("Before your visit"),
    intro=N_(
        "The new doctor needs to see your records. If they do not get them, you may have to redo tests."
    ),
    section="records",
    questions=(
        Question(
            "records_exist",
            "multi",
            N_("Which of these do you have?"),
            hint=N_("Tap all that apply."),
            choices=(
                Choice("mri", N_("MRI scan")),
                Choice("ct", N_("CT scan")),
                Choice("xray", N_("X-rays")),
                Choice("nerve_tests", N_("Nerve tests, like an EMG")),
                Choice("office_notes", N_("Notes from the doctor's visits")),
                Choice("operative_notes", N_("Notes from a past surgery")),
                Choice("medication_list", N_("A list of my medicines")),
                Choice("unsure", N_("I am not sure")),
            ),
            # Not sure, or nothing ticked: every kind is listed, so the patient can ask for all.
            handout=HandoutLayout(
                style="ticks",
                skip=("unsure",),
                every_if_none=True,
                blanks=(N_("Date I asked:"), N_("Date they got them:")),
                order=1,
            ),
        ),
        Question(
            "records_requested",
            "single",
            N_("Have you asked the first office to send them to the new doctor?"),
            choices=(
                Choice("yes", N_("Yes, I have asked"), _RECORDS_ASKED),
                Choice("some", N_("I asked for some of them"), _RECORDS_SOME_ASKED),
                Choice("not_yet", N_("Not yet"), _RECORDS_TO_ASK),
                Choice("unsure", N_("I am not sure"), _RECORDS_TO_ASK),
            ),
            handout=HandoutLayout(style="phrase", unanswered="not_yet"),
        ),
        Question(
            "records_letter",
            "yesno",
            N_("Would you like a letter that asks the first office to send your records?"),
            hint=N_(
                "It is the last page of your handout. You fill it in by hand, sign it, and give it to them."
            ),
            required=False,
            handout=HandoutLayout(style="letter", then="records_exist"),
        ),
        Question(
            "companion",
            "single",
            N_("Will someone come with you to the visit?"),
            hint=N_("It can help to bring someone. They can listen, take notes and speak up for you."),
            choices=(
                Choice("family", N_("A family member"), N_("A family member is coming with me.")),
                Choice("friend", N_("A friend"), N_("A friend is coming with me.")),
                Choice(
                    "advocate",
                    N_("A patient advocate"),
                    N_("A patient advocate is coming with me."),
                ),
                Choice("alone", N_("I will go alone"), N_("I plan to go alone.")),
                Choice("unsure", N_("I am not sure yet"), N_("I am not sure yet who will come with me.")),
            ),
            handout=HandoutLayout(section="support", style="phrase", blanks=(N_("Name:"),)),
        ),
        Question(
            "advocate_help",
            "yesno",
            N_("Would you like help finding a patient advocate?"),
            hint=N_("A patient advocate is someone you choose to support you and speak for you."),
            required=False,
            choices=(
                Choice(
                    "yes", N_("Yes"), N_("I would like help to find a patient advocate. Ask the front desk.")
                ),
                Choice("no", N_("No")),
            ),
            handout=HandoutLayout(section="support", style="phrase"),
        ),
    ),
)

# --- Step 5: questions to ask -------------------------------------------------

QUESTION_BANK = (
    Topic(
        "options",
        N_("My options"),
        (
            Choice("q_options_all", N_("What are all my choices, even ones with no surgery?")),
            Choice("q_options_why", N_("Why do you think this plan is best for me?")),
            Choice("q_options_same", N_("Do you agree with the first doctor? Why or why not?")),
        ),
    ),
    Topic(
        "benefits_risks",
        N_("Benefits and risks"),
        (
            Choice("q_risks_help", N_("How likely is it that this will help me?")),
            Choice("q_risks_main", N_("What are the main risks?")),
            Choice("q_risks_worse", N_("Could this make things worse?")),
        ),
    ),
    Topic(
        "experience",
        N_("The surgeon's experience"),
        (
            Choice("q_exp_count", N_("How many of these do you do each year?")),
            Choice("q_exp_problems", N_("What problems have your patients had after it?")),
        ),
    ),
    Topic(
        "recovery",
        N_("Recovery"),
        (
            Choice("q_recovery_time", N_("How long will it take to get better?")),
            Choice("q_recovery_work", N_("When can I go back to work and my normal life?")),
            Choice("q_recovery_help", N_("Will I need help at home?")),
        ),
    ),
    Topic(
        "waiting",
        N_("What if I wait"),
        (
            Choice("q_wait_what", N_("What happens if I wait or do nothing for now?")),
            Choice("q_wait_signs", N_("What signs mean I should not wait?")),
        ),
    ),
    Topic(
        "costs",
        N_("Costs"),
        (
            Choice("q_costs_total", N_("What will this cost me?")),
            Choice("q_costs_insurance", N_("Will my insurance pay for it?")),
        ),
    ),
)

BANK = Question(
    "questions",
    "bank",
    N_("Questions to ask"),
    topics=QUESTION_BANK,
    required=False,
    stars=MAX_TOP_QUESTIONS,
    stars_id="top_questions",
    stars_label=N_("Most important"),
    own=(
        Question(
            "own_question_1",
            "text",
            N_("Your own question"),
            hint=N_("You do not have to type anything."),
            required=False,
        ),
        Question("own_question_2", "text", N_("Another question of your own"), required=False),
    ),
    handout=HandoutLayout(section="questions", style="questions"),
)

QUESTIONS = Step(
    id="questions",
    title=N_("Questions to ask"),
    intro=N_(
        "Tap the questions you want to ask the new doctor. Tap the star on up to three that matter most: that picks them too."
    ),
    questions=(BANK,),
)

STEPS: tuple[Step, ...] = (SAFETY, SITUATION, REASONS, RECORDS, QUESTIONS)
"""The answerable steps, in the order the patient sees them."""

REVIEW_STEP_ID = "review"
REVIEW_TITLE = N_("Check your answers")
FLOW: tuple[str, ...] = (*(s.id for s in STEPS), REVIEW_STEP_ID)
"""Every step with a progress position: the answerable steps, then review."""


@dataclass(frozen=True)
class Definition:
    """The whole questionnaire a kiosk asks: the built-in one, or the built-in
    one with a clinic's own questions (``kiosk.content``). The steps, and so
    the kiosk's screens and URLs, are the same for every clinic.

    At run time the application reaches the questionnaire only through
    ``kiosk.content.definition()``: the constants above are what the built-in
    definition is made of, never read elsewhere. Questions about a visit's
    answers (which red flags, where it stands) are asked of it too.
    """

    steps: tuple[Step, ...] = STEPS
    sections: tuple[Section, ...] = SECTIONS
    review_id: str = REVIEW_STEP_ID
    review_title: str = REVIEW_TITLE

    def __post_init__(self) -> None:
        for question in (q for s in self.steps for q in s.questions):
            if question.kind not in KINDS:
                raise ValueError(f"{question.id!r} is of an unknown kind {question.kind!r}")
        seen: set[str] = set()
        for part in self.fields():
            if part.kind not in KINDS:
                raise ValueError(f"{part.id!r} is of an unknown kind {part.kind!r}")
            if part.id in seen:
                raise ValueError(f"duplicate question id {part.id!r}")
            seen.add(part.id)
            choice_ids = [c.id for c in part.all_choices()]
            if len(choice_ids) != len(set(choice_ids)):
                raise ValueError(f"duplicate choice id in {part.id!r}")

    # --- its parts

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def fields(self) -> Iterator[Question]:
        """Every answer a visit stores, step by step."""
        for s in self.steps:
            yield from s.fields()

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.fields() if q.id == question_id), None)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def replacing(self, question: Question) -> Definition:
        """This definition with one of its questions (same id) changed."""
        steps = tuple(
            replace(s, questions=tuple(question if q.id == question.id else q for q in s.questions))
            for s in self.steps
        )
        return replace(self, steps=steps)

    # --- the way through

    @property
    def flow(self) -> tuple[str, ...]:
        """Every step with a progress position: the answerable steps, then review."""
        return (*(s.id for s in self.steps), self.review_id)

    def first_open_step(self, completed_steps: Sequence[str] | None) -> str:
        """Where a visit stands: the first step not yet answered, or review when
        every step is. A visit left unfinished was given up here."""
        done = set(completed_steps or [])
        return next((s.id for s in self.steps if s.id not in done), self.review_id)

    def can_open(self, completed_steps: Sequence[str] | None, step_id: str) -> bool:
        """A step opens once every step before it has been answered."""
        flow = self.flow
        return flow.index(step_id) <= flow.index(self.first_open_step(completed_steps))

    def step_after(self, step_id: str) -> str:
        """The step (or review) that follows this one."""
        flow = self.flow
        return flow[min(flow.index(step_id) + 1, len(flow) - 1)]

    def step_before(self, step_id: str) -> str | None:
        """The step before this one; None for the first."""
        index = self.flow.index(step_id)
        return self.flow[index - 1] if index else None

    # --- the safety list

    @property
    def signs_question(self) -> Question:
        """The question whose answers alert the desk (``Kind.raises_alerts``)."""
        return next(q for q in self.fields() if q.kind_of.raises_alerts)

    @property
    def safety_step(self) -> Step:
        """The step that asks ``signs_question``."""
        signs = self.signs_question
        return next(s for s in self.steps if signs in s.questions)

    no_signs: ClassVar[Choice] = NO_SIGNS
    """The answer "I have none of these"."""
    some_signs: ClassVar[RedFlag] = SOME_SIGNS
    """The answer "one or more", not yet said which: alerts the desk all the same."""

    @property
    def reportable_signs(self) -> tuple[RedFlag, ...]:
        """What an alert can say: each red flag, or "one or more, not said which"."""
        return (*self.signs_question.choices, self.some_signs)

    def red_flag(self, flag_id: str) -> RedFlag | None:
        return next((f for f in self.reportable_signs if f.id == flag_id), None)

    def red_flags_reported(self, answers: Mapping[str, Any]) -> list[str]:
        """The signs the patient reported, in the list's order: red-flag ids, or
        ``["some"]`` for "one or more" not yet said which; empty for none."""
        reported = answers.get(self.signs_question.id)
        if not isinstance(reported, list):
            return []
        return [flag.id for flag in self.reportable_signs if flag.id in reported]

    def signs_not_said(self, answers: Mapping[str, Any]) -> bool:
        """One or more signs reported, and not yet which."""
        return self.red_flags_reported(answers) == [self.some_signs.id]

    def signs_posted_unread(self, form: FormData) -> list[str]:
        """The safety list's post seen without reading it (when reading it
        failed): anything but "none" is a sign, not said which."""
        posted = set(form.getlist(self.signs_question.id))
        return [self.some_signs.id] if posted - {self.no_signs.id} else []


BUILT_IN = Definition()
"""The questionnaire as shipped, before any clinic's own content (``kiosk.content``)."""
