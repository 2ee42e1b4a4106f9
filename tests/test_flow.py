"""The patient flow through the test client: every step, saved on the server."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from kiosk import create_app
from kiosk import questionnaire as qn
from kiosk.cli import SAMPLE_ANSWERS
from kiosk.extensions import db
from kiosk.models import Alert, Handout, Visit
from kiosk.visits import CLAIM_CODE_ALPHABET

from .conftest import app_config, form_for, run_worker

CLAIM_CODE = re.compile(r'id="claim-code"[^>]*>([A-Z0-9]{4})<')


def test_welcome_offers_start_and_asks_for_no_name(client):
    page = client.get("/").get_data(as_text=True)
    assert "Start" in page
    assert "We do not ask for your name." in page
    for setting in ("Text size", "100%", "125%", "150%", "High contrast", "Read to me"):
        assert setting in page


def test_a_page_that_is_not_there_keeps_the_kiosk_layout(client):
    response = client.get("/no/such/page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "We could not find that page." in page
    assert "Text size" in page and 'class="text-100"' in page


def test_start_opens_the_safety_check_first(kiosk):
    response = kiosk.start()
    assert response.status_code == 303
    assert response.headers["Location"] == "/visit/safety"
    page = kiosk.get("/visit/safety").get_data(as_text=True)
    assert "First, a safety check" in page
    assert "does not tell you what is wrong or give medical advice" in page
    assert "Step 1 of 6" in page


@pytest.mark.parametrize("step", qn.STEPS, ids=lambda s: s.id)
def test_every_step_has_back_and_progress(kiosk, step):
    kiosk.start()
    for earlier in qn.STEPS[: qn.STEPS.index(step)]:
        kiosk.answer(earlier.id)
    page = kiosk.get(f"/visit/{step.id}").get_data(as_text=True)
    number = qn.FLOW.index(step.id) + 1
    assert f"Step {number} of {len(qn.FLOW)}" in page
    assert 'class="button back"' in page


def test_each_step_leads_to_the_next(kiosk):
    kiosk.start()
    for step_id, next_id in zip(qn.FLOW, qn.FLOW[1:], strict=False):
        response = kiosk.answer(step_id)
        assert response.headers["Location"] == f"/visit/{next_id}"


def test_whole_visit_ends_with_a_claim_code_and_a_handout(app, kiosk):
    kiosk.answer_all()
    assert kiosk.finish().headers["Location"] == "/visit/done"
    page = kiosk.get("/visit/done").get_data(as_text=True)
    code = CLAIM_CODE.search(page).group(1)
    assert all(ch in CLAIM_CODE_ALPHABET for ch in code)
    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert handout.claim_code == code
        assert handout.kiosk == "Test kiosk"
        # Finish answers at once: the worker makes the handout.
        assert (handout.state, handout.pdf) == ("preparing", None)
    run_worker(app)
    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert handout.state == "ready"
        assert handout.pdf.startswith(b"%PDF")
        assert handout.page_count >= 1
        assert handout.ready_at >= handout.created_at


def test_a_step_reached_by_tapping_is_a_fragment_with_its_url(kiosk):
    kiosk.start()
    response = kiosk.get("/visit/safety", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.headers["HX-Push-Url"] == "/visit/safety"
    assert "<html" not in page
    assert page.startswith("<title>")


def test_a_step_loaded_directly_is_a_full_page(kiosk):
    kiosk.start()
    page = kiosk.get("/visit/safety").get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert 'id="screen"' in page


def test_answers_survive_a_reload(kiosk):
    kiosk.start()
    kiosk.answer("safety")
    kiosk.answer("situation", {"spine_region": "neck"})
    page = kiosk.get("/visit/situation").get_data(as_text=True)
    assert re.search(r'name="spine_region" value="neck" checked', page)


def test_answers_survive_a_server_restart(tmp_path, app, kiosk):
    kiosk.start()
    kiosk.answer("safety")
    kiosk.answer("situation", {"spine_region": "mid_back"})
    cookie = kiosk.client.get_cookie("kiosk_session")

    restarted = create_app(app_config(tmp_path))
    client = restarted.test_client()
    client.set_cookie(cookie.key, cookie.value)
    page = client.get("/visit/situation").get_data(as_text=True)
    assert re.search(r'name="spine_region" value="mid_back" checked', page)
    assert client.get("/visit/reasons").status_code == 200


def test_finishing_twice_makes_one_handout(app, kiosk):
    kiosk.answer_all()
    first = kiosk.finish()
    second = kiosk.post("/visit/finish")
    assert first.headers["Location"] == second.headers["Location"] == "/visit/done"
    with app.app_context():
        assert db.session.scalar(select(func.count(Handout.id))) == 1


def test_a_finished_visit_cannot_be_edited(kiosk):
    kiosk.answer_all()
    kiosk.finish()
    assert kiosk.get("/visit/situation").headers["Location"] == "/visit/done"
    assert kiosk.answer("situation").headers["Location"] == "/visit/done"


def test_review_shows_every_answer_with_a_change_link(kiosk):
    kiosk.answer_all({"own_question_1": "Can I still garden?", "top_questions": ["own_question_1"]})
    page = kiosk.get("/visit/review").get_data(as_text=True)
    for step in qn.STEPS:
        assert f"/visit/{step.id}?return_to=review" in page
    assert "Low back" in page
    assert "★ Can I still garden?" in page


def test_changing_an_answer_from_review_returns_to_review(kiosk):
    kiosk.answer_all()
    kiosk.get("/visit/situation?return_to=review")
    response = kiosk.post(
        "/visit/situation",
        {
            "spine_region": "neck",
            "first_recommendation": "injections",
            "confidence": "4",
            "return_to": "review",
        },
    )
    assert response.headers["Location"] == "/visit/review"
    assert "Neck" in kiosk.get("/visit/review").get_data(as_text=True)


def test_start_over_discards_the_visit_in_progress(app, kiosk):
    kiosk.start()
    kiosk.answer("safety")
    kiosk.post("/reset")
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 0
    response = kiosk.get("/visit/situation")
    assert response.headers["Location"] == "/?ended=1"


def test_kiosk_name_comes_from_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_NAME", "Lobby east")
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "from env")
    app = create_app()
    assert app.config["KIOSK_NAME"] == "Lobby east"
    assert app.config["SECRET_KEY"] == "from env"


def test_default_kiosk_name_is_sensible(tmp_path, monkeypatch):
    monkeypatch.delenv("KIOSK_NAME", raising=False)
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    assert create_app().config["KIOSK_NAME"] == "Waiting room kiosk"


# --- the safety check ---------------------------------------------------------


def test_a_yes_to_any_red_flag_alerts_the_desk(app, kiosk):
    kiosk.start()
    response = kiosk.answer("safety", {"warning_signs": ["saddle_numbness"]})
    assert response.headers["Location"] == "/visit/urgent"
    page = kiosk.get("/visit/urgent").get_data(as_text=True)
    assert "Please tell the front desk now" in page
    assert "Numbness between your legs" in page
    with app.app_context():
        alert = db.session.scalar(select(Alert))
        assert alert.signs == ["saddle_numbness"]
        assert alert.kiosk == "Test kiosk"
        assert alert.created_at is not None
        assert alert.acknowledged_at is None


def test_the_patient_may_continue_after_the_alert(kiosk):
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["fever"]})
    page = kiosk.get("/visit/urgent").get_data(as_text=True)
    assert 'href="/visit/situation"' in page
    assert kiosk.get("/visit/situation").status_code == 200


def test_all_no_raises_no_alert(app, kiosk):
    kiosk.start()
    assert kiosk.answer("safety").headers["Location"] == "/visit/situation"
    with app.app_context():
        assert db.session.scalar(select(func.count(Alert.id))) == 0
    assert kiosk.get("/visit/urgent").headers["Location"] == "/visit/situation"


def test_answering_the_safety_check_again_does_not_raise_a_second_alert(app, kiosk):
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["fever"]})
    kiosk.answer("safety", {"warning_signs": ["fever", "cancer"]})
    with app.app_context():
        alerts = db.session.scalars(select(Alert)).all()
        assert len(alerts) == 1
        assert alerts[0].signs == ["fever", "cancer"]


def alert_signs(app) -> list[list[str]]:
    with app.app_context():
        return [list(a.signs) for a in db.session.scalars(select(Alert).order_by(Alert.id))]


def test_none_of_these_is_one_tap_and_raises_no_alert(app, kiosk):
    kiosk.start()
    kiosk.get("/visit/safety")
    response = kiosk.post("/visit/safety", {"warning_signs": "none"})
    assert response.headers["Location"] == "/visit/situation"
    assert alert_signs(app) == []
    with app.app_context():
        assert db.session.scalar(select(Visit.answers))["warning_signs"] == ["none"]


def test_one_or_more_alerts_the_desk_at_once_then_asks_which(app, kiosk):
    """The patient taps "I have one or more of these" without ticking a sign:
    the desk hears now, and the patient is asked which, for the desk."""
    kiosk.start()
    kiosk.get("/visit/safety")
    response = kiosk.post("/visit/safety", {"warning_signs": "some"})
    assert response.headers["Location"] == "/visit/safety?which=1"
    assert alert_signs(app) == [["some"]]
    page = kiosk.get(response.headers["Location"]).get_data(as_text=True)
    assert "The front desk has been told. Which signs do you have?" in page
    assert 'name="which" value="1"' in page
    assert "I have none of these" not in page, "only Next now: the sign is reported already"

    response = kiosk.post("/visit/safety", {"warning_signs": ["cancer", "some"], "which": "1"})
    assert response.headers["Location"] == "/visit/urgent"
    assert alert_signs(app) == [["cancer"]], "the open alert now says which sign"
    assert "New back pain if you have had cancer" in kiosk.get("/visit/urgent").get_data(as_text=True)


def test_not_saying_which_still_reaches_the_urgent_screen(app, kiosk):
    kiosk.start()
    kiosk.get("/visit/safety")
    kiosk.post("/visit/safety", {"warning_signs": "some"})
    response = kiosk.post("/visit/safety", {"warning_signs": "some", "which": "1"})
    assert response.headers["Location"] == "/visit/urgent"
    page = kiosk.get("/visit/urgent").get_data(as_text=True)
    assert "One or more of the signs on the list" in page
    assert alert_signs(app) == [["some"]]
    assert kiosk.get("/visit/situation").status_code == 200, "the patient may go on"


def test_the_safety_check_shows_every_sign_in_one_list(kiosk):
    kiosk.start()
    page = kiosk.get("/visit/safety").get_data(as_text=True)
    for flag in qn.RED_FLAGS:
        assert f'value="{flag.id}"' in page
        assert str(escape(flag.label)) in page
    assert page.count('name="warning_signs" value="none"') == 1
    assert page.count('name="warning_signs" value="some"') == 1


def test_the_alert_outlives_an_abandoned_visit(app, kiosk):
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["bladder"]})
    kiosk.post("/reset")
    with app.app_context():
        alert = db.session.scalar(select(Alert))
        assert alert.signs == ["bladder"]
        assert alert.visit_id is None
        assert db.session.scalar(select(func.count(Visit.id))) == 0


def test_no_one_elses_visit_after_reset(kiosk):
    kiosk.answer_all({"own_question_1": "Is my neighbour's question here?"})
    kiosk.post("/reset")
    kiosk.start()
    for url in ["/visit/review", "/visit/questions", "/visit/done"]:
        page = kiosk.get(url, follow_redirects=True).get_data(as_text=True)
        assert "neighbour" not in page


def test_the_urgent_screen_keeps_the_way_back_to_review(kiosk):
    kiosk.answer_all()
    kiosk.get("/visit/safety?return_to=review")
    response = kiosk.post(
        "/visit/safety",
        {**form_for("safety", {**SAMPLE_ANSWERS, "warning_signs": ["fever"]}), "return_to": "review"},
    )
    assert response.headers["Location"] == "/visit/urgent?return_to=review"
    fragment = kiosk.get(response.headers["Location"], headers={"HX-Request": "true"})
    assert fragment.headers["HX-Push-Url"] == "/visit/urgent?return_to=review"
    assert 'href="/visit/review"' in fragment.get_data(as_text=True)


# --- a copied cookie opens nothing once the visit has left the screen -------------------

OWN_QUESTION = "Will my neighbour read this question?"


def _finished_visit(kiosk) -> tuple[str, str]:
    """Finish a visit on `kiosk`; its claim code and a copy of its cookie."""
    kiosk.answer_all({"own_question_1": OWN_QUESTION})
    kiosk.finish()
    done = kiosk.get("/visit/done").get_data(as_text=True)
    code = re.search(r'id="claim-code"[^>]*>\s*([A-Z0-9]+)', done).group(1)
    return code, kiosk.client.get_cookie("kiosk_session").value


def _replayed(app, cookie: str) -> str:
    """Everything a second browser sees with the copied cookie."""
    thief = app.test_client()
    thief.set_cookie("kiosk_session", cookie)
    seen = []
    for url in ["/", "/visit/done", "/visit/review", "/visit/questions", "/visit/safety"]:
        response = thief.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        seen.append(response.get_data(as_text=True))
    return "\n".join(seen)


@pytest.mark.parametrize(
    "leaves",
    [
        # The idle wipe and the end of Done's countdown post the same form as a reset.
        lambda kiosk: kiosk.post("/reset"),
        # The next patient taps Start on Welcome.
        lambda kiosk: kiosk.start(),
    ],
    ids=["reset", "next patient starts"],
)
def test_a_cookie_copied_on_done_shows_nothing_of_the_visit_once_the_kiosk_moves_on(app, kiosk, leaves):
    code, cookie = _finished_visit(kiosk)
    assert code in _replayed(app, cookie), "the copy works while Done is on screen"

    leaves(kiosk)
    seen = _replayed(app, cookie)
    assert code not in seen, "the claim code came back with an old cookie"
    assert "neighbour" not in seen, "the answers came back with an old cookie"
    assert "Welcome" in seen
    with app.app_context():  # the desk keeps the handout
        assert db.session.scalar(select(Handout.claim_code)) == code


def test_a_cookie_copied_on_done_opens_nothing_once_done_could_no_longer_be_up(app, kiosk):
    """Even when the kiosk's browser never got to clear Done (switched off, the
    network gone), the server stops showing it after DONE_MAX_SECONDS."""
    from datetime import timedelta

    code, cookie = _finished_visit(kiosk)
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        visit.finished_at -= timedelta(seconds=app.config["DONE_MAX_SECONDS"] - 30)
        db.session.commit()
    assert code in _replayed(app, cookie), "Done may still be up"
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        visit.finished_at -= timedelta(seconds=120)
        db.session.commit()
    seen = _replayed(app, cookie)
    assert code not in seen and "neighbour" not in seen
