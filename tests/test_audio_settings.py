"""Audio mode's settings: kept for the visit in the session, and the clinic's
key map and screen setting in clinic.toml."""

from __future__ import annotations

import pytest

from kiosk import content
from kiosk.patient import display

from .support.content import write


def problem(app) -> str:
    error = app.extensions["kiosk.content"].error
    return str(error) if error else ""


# --- the visit's display settings ---------------------------------------------------


def test_a_new_visit_starts_silent_with_the_screen_shown_at_the_usual_speed_and_volume():
    settings = display.Display.from_session({})
    assert settings.audio is False and settings.blank_screen is False
    assert settings.speech_rate == display.RATE_DEFAULT and settings.speech_volume == display.VOLUME_DEFAULT
    assert "audio" not in settings.html_class.split()


def test_audio_mode_starts_with_the_clinics_choice_of_a_blank_screen():
    session: dict = {}
    settings = display.update(session, {"audio": "on"}, blank_by_default=True)
    assert settings.audio and settings.blank_screen
    assert {"audio", "audio-blank"} <= set(settings.html_class.split())
    # The patient shows the screen again: a second "on" keeps their choice.
    display.update(session, {"blank_screen": "off"}, blank_by_default=True)
    settings = display.update(session, {"audio": "on"}, blank_by_default=True)
    assert settings.audio and not settings.blank_screen
    assert "audio-blank" not in settings.html_class.split()


def test_a_blank_screen_is_only_ever_blank_in_audio_mode():
    session: dict = {}
    settings = display.update(session, {"blank_screen": "on"})
    assert settings.blank_screen is False
    assert "audio-blank" not in settings.html_class.split()


@pytest.mark.parametrize(
    "form, expected",
    [
        ({"speech_rate": "0"}, {"speech_rate": 0}),
        ({"speech_rate": str(len(display.RATES) - 1)}, {"speech_rate": len(display.RATES) - 1}),
        ({"speech_rate": str(len(display.RATES))}, {}),
        ({"speech_rate": "-1"}, {}),
        ({"speech_rate": "fast"}, {}),
        ({"speech_volume": "0"}, {"speech_volume": 0}),
        ({"speech_volume": "9"}, {}),
        ({"audio": "maybe"}, {}),
    ],
)
def test_speed_and_volume_move_in_steps_and_anything_else_is_ignored(form, expected):
    settings = display.update({}, {"audio": "on", **form})
    defaults = {"speech_rate": display.RATE_DEFAULT, "speech_volume": display.VOLUME_DEFAULT}
    for name, value in {**defaults, **expected}.items():
        assert getattr(settings, name) == value


def test_the_event_gives_the_page_the_rate_and_volume_to_speak_at():
    settings = display.update({}, {"audio": "on", "speech_rate": "0", "speech_volume": "0"})
    event = settings.as_event()
    assert event["audio"] is True
    assert event["rate"] == display.RATES[0] and event["volume"] == display.VOLUMES[0]


def test_a_session_tampered_with_falls_back_to_the_defaults():
    settings = display.Display.from_session(
        {"audio": "yes", "blank_screen": 1, "speech_rate": 99, "speech_volume": "loud"}
    )
    assert settings == display.Display()


def test_the_reset_forgets_audio_mode(client):
    with client.session_transaction() as session:
        session.update(audio=True, blank_screen=True, speech_rate=0, speech_volume=0)
    client.post("/reset")
    page = client.get("/").get_data(as_text=True)
    assert 'data-audio="off"' in page and "audio-blank" not in page


def test_a_kiosk_set_up_with_headphones_starts_in_audio_mode(client):
    page = client.get("/?audio=1").get_data(as_text=True)
    assert 'data-audio="on"' in page
    # and it lasts for the visit: the next screen is in audio mode too.
    assert 'data-audio="on"' in client.get("/").get_data(as_text=True)


# --- the clinic's key map -------------------------------------------------------------


def test_without_a_file_the_default_keys_are_used(app):
    with app.app_context():
        audio = content.current().content.audio
    assert audio.keys == content.DEFAULT_KEYS
    assert "ArrowDown" in audio.keys["next"] and "Enter" in audio.keys["choose"]
    assert "F1" in audio.keys["help"] and "Escape" in audio.keys["back"]
    assert audio.blank_screen is False


def test_a_clinic_maps_its_own_keys_and_blanks_the_screen_by_default(app):
    write(app, '[audio]\nblank_screen = true\nhelp = ["F12", "h"]\nchoose = ["Enter"]\n')
    assert problem(app) == ""
    with app.app_context():
        audio = content.current().content.audio
    assert audio.blank_screen is True
    assert audio.keys["help"] == ("F12", "h") and audio.keys["choose"] == ("Enter",)
    assert audio.keys["next"] == content.DEFAULT_KEYS["next"]  # what is not set stays as it was


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[audio]\nhelp = "F1"\n', 'clinic.toml, line 2: help must be a list of key names, like ["F1", "?"]'),
        ("[audio]\n\nhelp = []\n", "clinic.toml, line 3: help needs at least one key"),
        (
            '[audio]\nnext = ["ArrowDown"]\nhelp = ["ArrowDown"]\n',
            "clinic.toml, line 3: the key 'ArrowDown' is already used for next",
        ),
        (
            '[audio]\nhelp = ["F1", "Escape"]\n',
            "clinic.toml, line 2: the key 'Escape' is already used for back",
        ),
        ("[audio]\nblank_screen = 1\n", "clinic.toml, line 2: blank_screen must be true or false"),
        (
            '[audio]\nhelp = ["' + "x" * 30 + '"]\n',
            "clinic.toml, line 2: help: a key name is at most 20 letters",
        ),
        ('[audio]\nhepl = ["F1"]\n', "clinic.toml, line 2: unknown setting 'hepl' in [audio]"),
        ('audio = "on"\n', "clinic.toml, line 1: [audio] must be a table of keys"),
    ],
)
def test_a_mistake_in_the_key_map_is_named_with_its_line(app, text, expected):
    write(app, text)
    assert problem(app).startswith(expected)
    with app.app_context():
        assert content.current().content.audio.keys == content.DEFAULT_KEYS  # the kiosk keeps working


# --- what the visit, its handout and its alert keep ---------------------------------


def _audio_on(kiosk) -> None:
    kiosk.get("/")
    assert kiosk.post("/preferences", {"audio": "on"}, headers={"HX-Request": "true"}).status_code == 204


def test_a_visit_in_audio_mode_is_noted_on_its_handout(app, kiosk):
    from kiosk.extensions import db
    from kiosk.models import Handout, Visit

    kiosk.start()
    _audio_on(kiosk)  # turned on during the visit
    for step in ("safety", "situation", "reasons", "records", "questions"):
        assert kiosk.answer(step).status_code == 303
    kiosk.finish()
    with app.app_context():
        visit = db.session.scalars(db.select(Visit)).one()
        handout = db.session.scalars(db.select(Handout)).one()
        assert visit.used_audio and handout.used_audio


def test_a_visit_started_in_audio_mode_is_noted_and_one_without_is_not(app, client):
    from kiosk.extensions import db
    from kiosk.models import Visit

    from .conftest import Kiosk

    listening, looking = Kiosk(client), Kiosk(app.test_client())
    listening.get("/?audio=1")
    listening.start()
    looking.start()
    with app.app_context():
        assert sorted(v.used_audio for v in db.session.scalars(db.select(Visit))) == [False, True]


def test_a_red_flag_in_audio_mode_tells_the_desk_to_go_to_the_patient(app, desk, kiosk):
    kiosk.start()
    _audio_on(kiosk)
    kiosk.answer("safety", {"warning_signs": ["bladder"]})
    page = desk.get("/desk/queue").get_data(as_text=True)
    assert "Using audio (headphones):" in page and "Go to them" in page


def test_a_red_flag_without_audio_says_nothing_of_audio(app, desk, kiosk):
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["bladder"]})
    page = desk.get("/desk/queue").get_data(as_text=True)
    assert "alert" in page and "Using audio" not in page


def test_a_report_kept_through_an_outage_carries_audio_mode_to_the_desk(app, desk, kiosk):
    """The page's kept report arrives after the reset wiped the session that knew."""
    from kiosk.extensions import db
    from kiosk.models import Alert

    kiosk.get("/")
    response = kiosk.post("/kiosk/alert", {"key": "a" * 32, "warning_signs": ["fever"], "audio": "1"})
    assert response.status_code == 204
    kiosk.post("/kiosk/alert", {"key": "b" * 32, "warning_signs": ["bladder"]})
    with app.app_context():
        alerts = {tuple(a.signs): a.used_audio for a in db.session.scalars(db.select(Alert))}
    assert alerts == {("fever",): True, ("bladder",): False}
    assert desk.get("/desk/queue").get_data(as_text=True).count("Using audio (headphones):") == 1


def test_the_claim_code_is_spelled_with_a_word_for_each_letter(app):
    from flask_babel import force_locale

    from kiosk.patient import spelling

    with app.test_request_context():
        assert spelling.spelled("K7P2") == "K as in kite, 7, P as in Peter, 2"
        with force_locale("es"):
            spanish = spelling.spelled("K7P2")
    assert spanish.startswith("K de ") and ", 7, P de " in spanish
