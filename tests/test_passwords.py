"""Passwords as staff choose them: normalised before they are checked or
stored, refused with a reason when they are easy to guess, and changed by
staff themselves."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select, text
from werkzeug.security import generate_password_hash

from kiosk import auth, create_app
from kiosk.extensions import db
from kiosk.models import AuditEvent, Staff

from .conftest import STAFF_PASSWORD, Desk, app_config

# The clinic in the tests is "Test Spine Clinic" (conftest.app_config).
WEAK = [
    ("aaaaaaaaaaaa", "repeats"),
    ("123456789012", "run of letters or digits"),
    ("abcdefghijkl", "run of letters or digits"),
    ("passwordpassword", "repeats"),
    ("Password123!", "most common"),
    ("qwertyuiopas", "keys next to each other"),
    ("newcomer" * 3, "account's name"),
    ("newcomer.2024!", "account's name"),
    ("spineclinic1", "clinic's name"),
    ("Spine Clinic 2024", "clinic's name"),
    ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14", "most common"),  # fullwidth
    ("password\u200b1234", "most common"),
    ("Winter2024!!", "easy to guess"),
]
STRONG = [
    "correct horse battery staple",
    "river stones and quiet hills",
    "tall cactus violet morning",
    "Mountain bike rides at dawn",
    "mi perro come manzanas verdes",
]


@pytest.mark.parametrize(("password", "says"), WEAK, ids=[repr(p) for p, _ in WEAK])
def test_an_easy_password_is_refused_with_the_reason(admin_desk, app, password, says):
    page = admin_desk.post("/desk/staff", {"username": "newcomer", "password": password})
    assert page.status_code == 400
    assert says in html.unescape(page.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(Staff).where(Staff.username == "newcomer")) is None


@pytest.mark.parametrize("password", STRONG)
def test_a_strong_passphrase_is_accepted(admin_desk, app, password):
    page = admin_desk.post("/desk/staff", {"username": "newcomer", "password": password})
    assert page.status_code == 200, page.get_data(as_text=True)
    assert Desk(app.test_client()).sign_in("newcomer", password).status_code == 302


@pytest.mark.parametrize(
    ("chosen", "typed"),
    [
        ("\uff54\uff41\uff4c\uff4c cactus violet morning", "tall cactus violet morning"),  # fullwidth
        ("tall cactus violet morning", "tall cactus\u200b violet morning"),  # an invisible space
        ("tall cactus\u00a0violet morning", "tall cactus violet morning"),  # a no-break space
    ],
    ids=["fullwidth", "zero-width space", "no-break space"],
)
def test_a_password_means_the_same_however_the_keyboard_typed_it(admin_desk, app, chosen, typed):
    assert admin_desk.post("/desk/staff", {"username": "newcomer", "password": chosen}).status_code == 200
    assert Desk(app.test_client()).sign_in("newcomer", typed).status_code == 302
    assert Desk(app.test_client()).sign_in("newcomer", chosen).status_code == 302


def test_a_password_stored_before_normalising_still_signs_in_and_is_upgraded(tmp_path, monkeypatch):
    """An account from before passwords were normalised, carried over by the
    migrations: its hash is of the password exactly as it was typed."""
    from flask_migrate import upgrade

    typed = "\uff54\uff41\uff4c\uff4c cactus violet morning"  # fullwidth "tall"
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path))
    with app.app_context():
        upgrade(revision="1488141f67a9")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO staff (username, password_hash, is_admin, active, created_at)"
                    " VALUES ('veteran', :hash, false, true, CURRENT_TIMESTAMP)"
                ),
                {"hash": generate_password_hash(typed)},
            )
        upgrade()
    assert Desk(app.test_client()).sign_in("veteran", "tall cactus violet morning").status_code == 401
    assert Desk(app.test_client()).sign_in("veteran", typed).status_code == 302
    # Signed in once: the hash is now of the normalised password, which any keyboard types.
    assert Desk(app.test_client()).sign_in("veteran", "tall cactus violet morning").status_code == 302
    assert Desk(app.test_client()).sign_in("veteran", typed).status_code == 302


# --- staff change their own password ---------------------------------------------------------

NEW = "orange kettle sings at noon"


def change(desk: Desk, current: str, new: str, again: str | None = None):
    desk.get("/desk/password")
    return desk.post(
        "/desk/password",
        {"current_password": current, "new_password": new, "new_password_again": again or new},
    )


def test_staff_change_their_own_password_and_their_other_sessions_end(app, staff, desk):
    elsewhere = Desk(app.test_client())
    assert elsewhere.sign_in().status_code == 302
    page = desk.get("/desk/password")
    assert page.status_code == 200
    assert "Change your password" in page.get_data(as_text=True)

    done = change(desk, STAFF_PASSWORD, NEW)
    assert done.status_code == 303
    assert "Your password is changed" in desk.get(done.headers["Location"]).get_data(as_text=True)
    assert desk.get("/desk/").status_code == 200, "this session goes on"
    assert elsewhere.get("/desk/").headers["Location"].startswith("/desk/sign-in"), "the others end"
    assert Desk(app.test_client()).sign_in("maria", STAFF_PASSWORD).status_code == 401
    assert Desk(app.test_client()).sign_in("maria", NEW).status_code == 302
    with app.app_context():
        assert ("maria", "change-password") in db.session.execute(
            select(AuditEvent.staff, AuditEvent.action)
        ).all()


@pytest.mark.parametrize(
    ("current", "new", "again", "says"),
    [
        ("not my password at all", NEW, NEW, "current password is not right"),
        (STAFF_PASSWORD, "aaaaaaaaaaaa", None, "repeats"),
        (STAFF_PASSWORD, "maria maria maria", None, "account's name"),
        (STAFF_PASSWORD, NEW, NEW + "!", "do not match"),
        (STAFF_PASSWORD, STAFF_PASSWORD, None, "same as the current one"),
    ],
    ids=["wrong current", "weak", "own name", "typed twice differently", "unchanged"],
)
def test_a_password_change_refused_says_why_and_changes_nothing(app, staff, desk, current, new, again, says):
    refused = change(desk, current, new, again)
    assert refused.status_code == 400
    assert says in html.unescape(refused.get_data(as_text=True))
    assert Desk(app.test_client()).sign_in("maria", STAFF_PASSWORD).status_code == 302


def test_guessing_the_current_password_on_the_change_page_is_slowed_down(app, staff, desk):
    statuses = [change(desk, f"guess number {n} here", NEW).status_code for n in range(7)]
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429, 429]
    assert change(desk, STAFF_PASSWORD, NEW).status_code == 429, "even the right one waits"


def test_an_admin_reset_still_works_and_is_the_generated_password(app, staff, admin_desk):
    with app.app_context():
        maria = db.session.scalar(select(Staff).where(Staff.username == "maria"))
    page = admin_desk.post(f"/desk/staff/{maria.id}/reset-password").get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    desk = Desk(app.test_client())
    assert desk.sign_in("maria", password).status_code == 302
    assert change(desk, password, NEW).status_code == 303, "and they choose their own after it"


def test_generated_passwords_pass_the_strength_estimator(app):
    with app.app_context():
        for _ in range(200):
            auth.check_password_strength(auth.generate_password(), username="maria")


@pytest.mark.parametrize(
    "fields",
    [
        {
            "current_password": STAFF_PASSWORD,
            "new_password": "nul\x00 in the middle of it",
            "new_password_again": "nul\x00 in the middle of it",
        },
        {
            "current_password": STAFF_PASSWORD,
            "new_password": "\U0001f642" * 12,
            "new_password_again": "\U0001f642" * 12,
        },
        {"current_password": STAFF_PASSWORD, "new_password": "x" * 201, "new_password_again": "x" * 201},
        {
            "current_password": STAFF_PASSWORD,
            "new_password": "\u200b" * 30,
            "new_password_again": "\u200b" * 30,
        },
        {"current_password": "", "new_password": NEW, "new_password_again": NEW},
        {"new_password": [NEW, "second"], "new_password_again": NEW},
    ],
    ids=["NUL", "one emoji repeated", "too long", "only invisible", "no current", "repeated field"],
)
def test_odd_input_on_the_password_page_is_refused_calmly(app, staff, desk, fields):
    desk.get("/desk/password")
    refused = desk.post("/desk/password", fields)
    assert refused.status_code == 400
    assert "Change your password" in refused.get_data(as_text=True)
    assert Desk(app.test_client()).sign_in("maria", STAFF_PASSWORD).status_code == 302


def test_staff_passwords_are_hashed_with_scrypt_at_its_full_work_factor(tmp_path, monkeypatch):
    """The app's own setting (the suite uses a cheaper one to sign in faster),
    and a hash names its method, so one made under another setting still checks."""
    from kiosk.database import create_tables

    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    config = {k: v for k, v in app_config(tmp_path).items() if k != "PASSWORD_HASH_METHOD"}
    app = create_app(config)
    with app.app_context():
        create_tables()
        assert app.config["PASSWORD_HASH_METHOD"] == "scrypt:32768:8:1"
        staff = auth.create_staff("ines", "velvet harbor lantern quietly")
        assert staff.password_hash.startswith("scrypt:32768:8:1$")
        assert auth._dummy_hash().startswith("scrypt:32768:8:1$"), "unknown names cost as much"
        staff.password_hash = generate_password_hash(
            "velvet harbor lantern quietly", method="scrypt:1024:8:1"
        )
        assert auth._matches(staff, "velvet harbor lantern quietly")
