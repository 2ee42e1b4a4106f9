"""The visit-prep questionnaire: every step, question, choice and red flag.

This module is the single source of truth. The kiosk screens, the server-side
validation and the handout all read it, so adding a question or a choice is an
edit here and nowhere else. Every item has a stable id: ids are stored with the
answers and must never be renamed once a kiosk has used them.

It imports nothing of the application. Patient-facing text is wrapped in
``N_`` so Babel extracts it; it is translated where it is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal


def N_(text: str) -> str:
    """Mark text for translation without translating it here."""
    return text


Kind = Literal["yesno", "single", "multi", "scale", "text", "bank", "signs"]

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


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    label: str
    hint: str = ""
    choices: tuple[Choice, ...] = ()
    topics: tuple[Topic, ...] = ()
    required: bool = True
    max_length: int = TEXT_MAX_LENGTH
    # Shown only when this choice id is among the answers to ``depends_on``.
    depends_on: str = ""
    depends_value: str = ""

    def choice_ids(self) -> set[str]:
        if self.kind == "yesno":
            return {"yes", "no"}
        if self.kind == "bank":
            return {q.id for topic in self.topics for q in topic.questions}
        if self.kind == "signs":
            return {c.id for c in self.choices} | {NO_SIGNS.id, SOME_SIGNS.id}
        return {c.id for c in self.choices}

    def choice(self, choice_id: str) -> Choice | None:
        for choice in self.all_choices():
            if choice.id == choice_id:
                return choice
        return None

    def all_choices(self) -> tuple[Choice, ...]:
        if self.kind == "yesno":
            return YES_NO
        if self.kind == "bank":
            return tuple(q for topic in self.topics for q in topic.questions)
        if self.kind == "signs":
            return (*self.choices, NO_SIGNS, SOME_SIGNS)
        return self.choices


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

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


YES_NO = (Choice("yes", N_("Yes")), Choice("no", N_("No")))

MAX_TOP_QUESTIONS = 3
OWN_QUESTION_IDS = ("own_question_1", "own_question_2")

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
        ),
        Question(
            "reasons_other",
            "text",
            N_("Your other reason, in your own words"),
            hint=N_("You do not have to type anything."),
            required=False,
            depends_on="reasons",
            depends_value="other",
        ),
    ),
)

# --- Step 4: before the visit: records, and who comes along ----------

RECORDS = Step(
    id="records",
    title=N_("Before your visit"),
    intro=N_(
        "The new doctor needs to see your records. If they do not get them, you may have to redo tests."
    ),
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
        ),
        Question(
            "records_requested",
            "single",
            N_("Have you asked the first office to send them to the new doctor?"),
            choices=(
                Choice("yes", N_("Yes, I have asked")),
                Choice("some", N_("I asked for some of them")),
                Choice("not_yet", N_("Not yet")),
                Choice("unsure", N_("I am not sure")),
            ),
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
        ),
        Question(
            "advocate_help",
            "yesno",
            N_("Would you like help finding a patient advocate?"),
            hint=N_("A patient advocate is someone you choose to support you and speak for you."),
            required=False,
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

BANK = Question("questions", "bank", N_("Questions to ask"), topics=QUESTION_BANK, required=False)
OWN_QUESTIONS = (
    Question(
        OWN_QUESTION_IDS[0],
        "text",
        N_("Your own question"),
        hint=N_("You do not have to type anything."),
        required=False,
    ),
    Question(OWN_QUESTION_IDS[1], "text", N_("Another question of your own"), required=False),
)

QUESTIONS = Step(
    id="questions",
    title=N_("Questions to ask"),
    intro=N_(
        "Tap the questions you want to ask the new doctor. Then tap the star on up to three that matter most."
    ),
    questions=(
        BANK,
        # The stars: any question picked from the bank, or one of the patient's own.
        Question(
            "top_questions",
            "multi",
            N_("Most important"),
            choices=(*BANK.all_choices(), *(Choice(q.id, q.label) for q in OWN_QUESTIONS)),
            required=False,
        ),
        *OWN_QUESTIONS,
    ),
)

STEPS: tuple[Step, ...] = (SAFETY, SITUATION, REASONS, RECORDS, QUESTIONS)
"""The answerable steps, in the order the patient sees them."""

REVIEW_STEP_ID = "review"
FLOW: tuple[str, ...] = (*(s.id for s in STEPS), REVIEW_STEP_ID)
"""Every step with a progress position: the answerable steps, then review."""


_STEPS_BY_ID = {s.id: s for s in STEPS}


def step(step_id: str) -> Step | None:
    return _STEPS_BY_ID.get(step_id)


def all_questions() -> Iterator[Question]:
    for s in STEPS:
        yield from s.questions


def question(question_id: str) -> Question | None:
    return next((q for q in all_questions() if q.id == question_id), None)


REPORTABLE_SIGNS: tuple[RedFlag, ...] = (*RED_FLAGS, SOME_SIGNS)
"""What an alert can say: each red flag, or "one or more, not said which"."""


def red_flag(flag_id: str) -> RedFlag | None:
    return next((f for f in REPORTABLE_SIGNS if f.id == flag_id), None)


def bank_question(question_id: str) -> Choice | None:
    for topic in QUESTION_BANK:
        for q in topic.questions:
            if q.id == question_id:
                return q
    return None


def _check_ids_are_unique() -> None:
    seen: set[str] = set()
    for s in STEPS:
        for q in s.questions:
            if q.id in seen:
                raise ValueError(f"duplicate question id {q.id!r}")
            seen.add(q.id)
    bank_ids = [q.id for t in QUESTION_BANK for q in t.questions]
    if len(bank_ids) != len(set(bank_ids)):
        raise ValueError("duplicate id in the question bank")


_check_ids_are_unique()
