"""Bad input gets a calm message on the same step, keeps the answers, saves
nothing, and never ends in a 500."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kiosk import questionnaire as qn
from kiosk import visits
from kiosk.extensions import db
from kiosk.models import Visit
from kiosk.questionnaire import clean_text

from .conftest import form_for


class Form(dict):
    def getlist(self, key):
        value = self.get(key, [])
        return value if isinstance(value, list) else [value]


def stored_answers(app):
    with app.app_context():
        return db.session.scalar(select(Visit)).answers


def test_a_missing_required_answer_asks_calmly_and_keeps_the_rest(app, kiosk, sample_answers):
    kiosk.start()
    kiosk.answer("safety")
    form = form_for("situation", sample_answers)
    del form["confidence"]
    response = kiosk.post("/visit/situation", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please check the answers marked below." in page
    assert "Please choose an answer." in page
    assert re.search(r'name="spine_region" value="low_back" checked', page)
    assert "spine_region" not in stored_answers(app)


def test_an_unknown_choice_is_refused(app, kiosk, sample_answers):
    kiosk.start()
    kiosk.answer("safety")
    response = kiosk.post(
        "/visit/situation", {**form_for("situation", sample_answers), "spine_region": "elbow"}
    )
    assert response.status_code == 422
    assert "That answer is not on the list" in response.get_data(as_text=True)
    assert "spine_region" not in stored_answers(app)


def test_an_unknown_choice_in_a_multi_answer_is_refused(kiosk, sample_answers):
    kiosk.start()
    kiosk.answer("safety")
    kiosk.answer("situation")
    form = {**form_for("reasons", sample_answers), "reasons": ["risks", "<script>"]}
    response = kiosk.post("/visit/reasons", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<script>" not in page
    assert re.search(r'value="risks" checked', page)


def test_the_safety_check_must_be_answered(kiosk):
    kiosk.start()
    response = kiosk.post("/visit/safety", {})
    assert response.status_code == 422
    assert "Please tap one of the two big buttons." in response.get_data(as_text=True)


def test_a_sign_tapped_then_none_of_these_is_asked_again(app, kiosk):
    kiosk.start()
    response = kiosk.post("/visit/safety", {"warning_signs": ["fever", "none"]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "You tapped a sign" in page
    assert re.search(r'value="fever" checked', page), "the tapped sign stays on screen"
    assert "warning_signs" not in stored_answers(app)


def test_over_long_text_is_refused_but_kept_on_screen(app, kiosk):
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    long_question = "Why? " * 100
    response = kiosk.answer("questions", {"own_question_1": long_question})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"it has {len(long_question.strip())} letters, and the limit is {qn.TEXT_MAX_LENGTH}" in page
    assert "Why? Why? Why?" in page
    assert "questions" not in stored_answers(app)


def test_a_huge_post_gets_a_calm_page_not_a_500(kiosk):
    kiosk.start()
    response = kiosk.post("/visit/safety", {"warning_signs": "x" * 200_000})
    assert response.status_code == 413
    assert "too much text" in response.get_data(as_text=True)


def test_more_than_three_stars_is_refused(kiosk):
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    stars = ["q_options_all", "q_risks_main", "q_exp_count", "q_recovery_time"]
    response = kiosk.answer("questions", {"questions": stars, "top_questions": stars})
    assert response.status_code == 422
    assert "Please star up to three questions." in response.get_data(as_text=True)


def test_no_question_at_all_is_refused(kiosk):
    kiosk.start()
    for step in ("safety", "situation", "reasons", "records"):
        kiosk.answer(step)
    response = kiosk.answer("questions", {"questions": [], "top_questions": []})
    assert response.status_code == 422
    assert "Please tap at least one question, or write your own." in response.get_data(as_text=True)


def test_starring_a_question_picks_it():
    result = qn.QUESTIONS.validate(Form(questions=["q_options_all"], top_questions=["q_costs_total"]))
    assert result.ok
    assert result.values["questions"] == ["q_options_all", "q_costs_total"]
    assert result.values["top_questions"] == ["q_costs_total"]


def test_a_star_on_a_blank_own_question_is_dropped():
    result = qn.QUESTIONS.validate(Form(questions=["q_options_all"], top_questions=["own_question_1"]))
    assert result.ok
    assert result.values["top_questions"] == []


def test_text_loses_control_characters_and_surrounding_space():
    result = qn.QUESTIONS.validate(Form(own_question_1="  Can I\x00 swim?\x1b  "))
    assert result.values["own_question_1"] == "Can I swim?"


def test_the_other_reason_is_kept_only_with_something_else_ticked():
    without = qn.REASONS.validate(Form(reasons=["risks"], reasons_other="left over"))
    assert without.ok
    assert without.values["reasons_other"] == ""
    with_other = qn.REASONS.validate(Form(reasons=["risks", "other"], reasons_other="My sister had it"))
    assert with_other.values["reasons_other"] == "My sister had it"


def test_an_over_long_other_reason_without_its_choice_is_no_error():
    result = qn.REASONS.validate(Form(reasons=["risks"], reasons_other="x" * 1000))
    assert result.ok


def test_two_values_for_a_one_answer_question_are_refused():
    form = Form(spine_region=["neck", "low_back"], first_recommendation=["fusion"], confidence="3")
    assert "spine_region" in qn.SITUATION.validate(form).errors


@pytest.mark.parametrize("step_id", ["situation", "questions", "records"])
def test_a_step_posted_out_of_order_sends_the_patient_back(app, kiosk, sample_answers, step_id):
    kiosk.start()
    response = kiosk.post(f"/visit/{step_id}", form_for(step_id, sample_answers))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Please answer this part first." in page
    assert "First, a safety check" in page
    assert stored_answers(app) == {}


def test_opening_a_later_step_early_redirects_to_the_open_one(kiosk):
    kiosk.start()
    kiosk.answer("safety")
    assert kiosk.get("/visit/records").headers["Location"] == "/visit/situation"
    assert kiosk.get("/visit/review").headers["Location"] == "/visit/situation"


def test_finish_before_every_step_is_answered_goes_to_the_open_step(app, kiosk):
    kiosk.start()
    kiosk.answer("safety")
    assert kiosk.post("/visit/finish").headers["Location"] == "/visit/situation"


def test_a_tampered_visit_cookie_starts_fresh(client):
    client.set_cookie("kiosk_session", "eyJ2aXNpdCI6ImFiYyJ9.forged.signature")
    response = client.get("/visit/situation")
    assert response.status_code == 303
    assert response.headers["Location"] == "/?ended=1"
    page = client.get("/?ended=1").get_data(as_text=True)
    assert "cleared to keep it private" in page


def test_an_expired_visit_is_discarded(app, kiosk):
    kiosk.start()
    kiosk.answer("safety")
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        visit.updated_at = visit.updated_at.replace(year=2000)
        db.session.commit()
    assert kiosk.get("/visit/situation").headers["Location"] == "/?ended=1"
    with app.app_context():
        assert db.session.scalar(select(Visit)) is None


def test_posting_without_a_visit_starts_fresh(client):
    response = client.post("/visit/safety", data={"bladder": "no"})
    # No CSRF token and no visit: a calm page, never a 500.
    assert response.status_code in (303, 400)


def test_a_missing_csrf_token_keeps_what_was_tapped_and_saves_nothing(app, kiosk, sample_answers):
    kiosk.start()
    kiosk.answer("safety")
    form = form_for("situation", sample_answers)
    response = kiosk.client.post("/visit/situation", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "tap Next again" in page
    assert re.search(r'name="spine_region" value="low_back" checked', page)
    assert "spine_region" not in stored_answers(app)
    # The page carries a fresh token: the next tap goes through.
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    retry = kiosk.client.post("/visit/situation", data={**form, "csrf_token": token})
    assert retry.headers["Location"] == "/visit/reasons"


def test_a_wrong_csrf_token_elsewhere_gets_a_calm_page(kiosk):
    kiosk.get("/")
    response = kiosk.client.post("/start", data={"csrf_token": "nope"})
    assert response.status_code == 400
    assert "Please try again" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/visit/nowhere"),
        ("post", "/visit/nowhere"),
        ("get", "/no/such/page"),
        ("put", "/visit/safety"),
        ("get", "/visit/finish"),
    ],
)
def test_odd_requests_get_a_calm_page(client, method, url):
    response = getattr(client, method)(url)
    assert 400 <= response.status_code < 500
    assert "Sorry" in response.get_data(as_text=True)


def test_an_unexpected_failure_is_a_calm_page(app, kiosk, monkeypatch):

    kiosk.start()

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(visits, "save_step", broken)
    response = kiosk.answer("safety")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Sorry, something went wrong on our side" in page
    assert "database on fire" not in page


@pytest.mark.parametrize(
    "typed",
    [
        "Can my family 👨\u200d👩\u200d👧 visit?",  # joined into one face by zero-width joiners
        "Is 👍🏽 fine? ❤\ufe0f",  # a skin tone and a variation selector
        "می\u200cخواهم بدانم",  # Persian needs its zero-width non-joiner
        "¿Puedo nadar después de la cirugía?",
        "Line one\nline two\tand a tab",
    ],
)
def test_typed_text_is_kept_as_typed(typed):
    assert clean_text(f"  {typed}  ") == typed


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("abc\u202edcba", "abcdcba"),  # a right-to-left override would reverse the handout's text
        ("\u2067hidden\u2069 order", "hidden order"),  # isolates
        ("nul\x00 and bell\x07", "nul and bell"),
        ("carriage\r\nreturn", "carriage\nreturn"),
    ],
)
def test_control_and_bidi_override_characters_are_dropped(typed, kept):
    assert clean_text(typed) == kept


def test_a_screen_shown_again_after_a_tap_answers_htmx_as_200_and_a_plain_post_as_4xx(kiosk, sample_answers):
    """To fix, or for a stale tap that reported a sign, the screen shown again
    is the answer to an htmx tap (200); a post without htmx keeps its 4xx."""
    kiosk.start()
    htmx = {"HX-Request": "true"}
    unanswered = kiosk.post("/visit/safety", {}, headers=htmx)
    assert unanswered.status_code == 200 and "Please check the answers" in unanswered.get_data(as_text=True)
    assert kiosk.post("/visit/safety", {}).status_code == 422

    stale = {"csrf_token": "stale", "warning_signs": ["fever"]}
    urgent = kiosk.client.post("/visit/safety", data=stale, headers=htmx)
    assert urgent.status_code == 200 and "Please tell the front desk now" in urgent.get_data(as_text=True)
    plain = kiosk.client.post("/visit/safety", data=stale)
    assert plain.status_code == 400 and "Please tell the front desk now" in plain.get_data(as_text=True)
    out_of_order = kiosk.post("/visit/reasons", form_for("reasons", sample_answers), headers=htmx)
    assert out_of_order.status_code == 200 and "Please answer this part first" in out_of_order.get_data(
        as_text=True
    )
