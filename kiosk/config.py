"""Settings, read from the environment with safe defaults.

Every setting can also be put in ``instance/config.py`` (see
``instance/config.example.py``); the environment wins over that file.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import languages
from .clock import load_time_zone
from .storage import write_atomically

if TYPE_CHECKING:
    from flask import Flask

DEFAULT_KIOSK_NAME = "Waiting room kiosk"


# name: default. Each can be set in instance/config.py or the environment, and
# is read as its default's type: hours may be fractional (0.5 is half an hour),
# seconds, minutes, days and switches are whole numbers.
SETTINGS: dict[str, str | int | float] = {
    # The kiosk name on alerts and handouts when enrollment is off (an
    # enrolled kiosk has its own).
    "KIOSK_NAME": DEFAULT_KIOSK_NAME,
    # 1: only kiosks an admin registered and enrolled (Desk > Kiosks) can
    # start visits. `make run` turns it off for a demo on any browser.
    "KIOSK_ENROLLMENT": 1,
    "CLINIC_NAME": "Spine Clinic",
    "CLINIC_PHONE": "",
    # The clinic's time zone for the desk and the handout's date, an IANA name
    # like "America/Chicago"; empty means the server's own.
    "CLINIC_TIMEZONE": "",
    # Seconds without a touch before "Are you still there?", and how long that
    # prompt waits for a tap (WCAG 2.2.1 asks for at least 20 s).
    "IDLE_SECONDS": 90,
    "IDLE_WARNING_SECONDS": 30,
    # Done shows the claim code this long, then clears for the next patient;
    # each tap on "I need more time" shows it this much longer (at most
    # DONE_MAX_SECONDS in all, so a code is never left up for the next patient).
    "DONE_RESET_SECONDS": 30,
    "DONE_MORE_TIME_SECONDS": 60,
    "DONE_MAX_SECONDS": 300,
    # A visit untouched this long is treated as abandoned on the server too,
    # in case the kiosk's browser never got to wipe it, and deleted.
    "VISIT_EXPIRY_MINUTES": 60,
    # A finished visit, its answers, handout, print jobs and saved copies are
    # deleted this long after the patient finished (and acknowledged alerts
    # this long after they were acknowledged).
    "RETENTION_HOURS": 24.0,
    # Sooner: this long after the desk marked the handout handed over (0: no sooner).
    "HANDED_OVER_RETENTION_MINUTES": 0,
    # The audit log (no patient text in it) is kept this long: six years.
    "AUDIT_RETENTION_DAYS": 2190,
    "HANDOUT_PAPER": "letter",
    # Desk: staff are signed out after this long without activity, and after
    # this long signed in, whatever they do.
    "STAFF_SESSION_HOURS": 8.0,
    "STAFF_SESSION_MAX_HOURS": 12.0,
    # The printer preselected on the desk; empty means the first one found.
    "DEFAULT_PRINTER": "",
    # Print each handout as soon as the patient finishes, to this printer.
    "AUTO_PRINT_PRINTER": "",
    # A print that failed because the print server was down is sent again by
    # itself when the server is back, for this long after it was asked for.
    # Later than that the patient has probably left: staff decide (Retry).
    "PRINT_RESEND_MINUTES": 30,
    # A short chime on the desk when a new urgent alert arrives (1 on, 0 off).
    "DESK_CHIME": 1,
    # An urgent alert nobody has acknowledged for this long escalates on every
    # open desk: its chime repeats and it shows how long it has waited.
    "ALERT_ESCALATE_SECONDS": 60,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host
    # headers are trusted (0: none, the app faces the network itself). Sign-in
    # throttling then sees the real client address.
    "TRUSTED_PROXIES": 0,
    # 1 when the app is reached over HTTPS through a reverse proxy: cookies are
    # Secure, HSTS is sent, URLs are https. Trusts one proxy unless
    # TRUSTED_PROXIES says more.
    "BEHIND_HTTPS_PROXY": 0,
    # Seconds a worker holds a job it claimed (a handout to render, a print
    # to send). If the worker dies, another takes the job over after this.
    # Keep it well above the 30 s a print server may take to refuse a job.
    "JOB_LEASE_SECONDS": 120,
    # Megabytes kept free on the disk of instance/ (and of the print folder
    # and a SQLite database elsewhere). Below this the worker writes nothing
    # until space is freed, and /healthz says the disk is full.
    "DISK_RESERVE_MB": 64,
    # PostgreSQL: after a purge that deleted patient rows, rewrite the patient
    # tables (VACUUM FULL), so that no deleted answers or handouts stay in
    # their files. It locks those tables for a moment (measured: 145 ms with
    # 100 handouts kept, 535 ms with 1,000). 0: a plain VACUUM only, for a
    # database that keeps so many handouts that the lock would hold kiosks up.
    "POSTGRES_VACUUM_FULL": 1,
    # ... at most this often (minutes): the longest a deleted patient row
    # stays in those files after its purge. 0: after every purge that deleted.
    "POSTGRES_REWRITE_MINUTES": 15,
    # Processes the worker renders handouts in, side by side. 0: one for each
    # core the worker may use, less one left to the web server (at least one).
    "RENDER_PROCESSES": 0,
    # The braille handout's page (kiosk/braille.py): cells a line and lines a
    # page, the page number's line included. 40 × 25 fits 11 × 11.5 inch
    # braille paper, what most embossers take.
    "BRAILLE_CELLS": 40,
    "BRAILLE_LINES": 25,
    # CUPS queues that are braille embossers though their driver does not say
    # so (a queue whose make and model names Braille is one anyway), comma
    # separated. The desk sends them the braille handout, and no PDF.
    "BRAILLE_PRINTERS": "",
}

MIN_IDLE_WARNING_SECONDS = 20
# The smallest braille page the layout can fill (kiosk/braille.py says why).
MIN_BRAILLE_CELLS = 12
MIN_BRAILLE_LINES = 4


def defaults(instance_path: str) -> dict[str, Any]:
    sqlite_path = Path(instance_path) / "kiosk.sqlite3"
    return {
        **SETTINGS,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{sqlite_path}",
        # Where the built-in "directory" printer puts PDFs.
        "PRINT_DIRECTORY": str(Path(instance_path) / "printed"),
    }


class SettingError(ValueError):
    """A setting the app cannot start with; the message says which and what to set."""


# The longest a duration setting may be, in its own unit: a century, far
# beyond any use, and well inside what date arithmetic can hold.
LONGEST = {"DAYS": 36_500, "HOURS": 876_000, "MINUTES": 52_560_000, "SECONDS": 3_153_600_000}


def _number(name: str, text: str, default: int | float) -> int | float:
    """A number setting as its default's type (float settings are hours), 0 or more."""
    try:
        value = float(text) if isinstance(default, float) else int(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < 0:
        if isinstance(default, float):
            raise SettingError(
                f"{name} must be a number of hours, 0 or more, like {default:g} or 0.5; it is {text!r}."
            )
        raise SettingError(f"{name} must be a whole number, 0 or more, like {default}; it is {text!r}.")
    unit = name.rsplit("_", 1)[-1]
    if value > LONGEST.get(unit, math.inf):
        raise SettingError(f"{name} may be at most {LONGEST[unit]:,} {unit.lower()}; it is {text!r}.")
    return value


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings this process's environment sets, converted to their types.

    Raises SettingError, naming the variable, for a number that is not one."""
    found: dict[str, Any] = {}
    for name, default in SETTINGS.items():
        value = environ.get(name, "").strip()
        if value:
            found[name] = value if isinstance(default, str) else _number(name, value, default)
    if environ.get("PRINT_DIRECTORY"):
        found["PRINT_DIRECTORY"] = environ["PRINT_DIRECTORY"]
    if environ.get("SECRET_KEY"):
        found["SECRET_KEY"] = environ["SECRET_KEY"]
    if url := environ.get("DATABASE_URL"):
        # Older URLs say postgres://, which SQLAlchemy 2 refuses.
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        found["SQLALCHEMY_DATABASE_URI"] = url
    return found


def configure(app: Flask, test_config: Mapping[str, Any] | None = None) -> None:
    """Settle the app's settings, each layer over the one before: the fixed
    ones, the defaults, ``instance/config.py``, then the environment (or, in
    tests, `test_config` instead of both); then what follows from them."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(defaults(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_mapping(from_environment())
        enforce_limits(app.config)
    else:
        app.config.from_mapping(test_config)
    refuse_auto_print_on_an_embosser(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret_key(app.instance_path)
    apply_https(app.config)
    try:
        app.config["CLINIC_TZ"] = load_time_zone(app.config["CLINIC_TIMEZONE"])
    except ValueError as error:
        raise SettingError(str(error)) from None
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["STAFF_SESSION_HOURS"])


def enforce_limits(config: dict[str, Any]) -> None:
    """Settings that must never go below what patients are owed."""
    config["IDLE_WARNING_SECONDS"] = max(MIN_IDLE_WARNING_SECONDS, int(config["IDLE_WARNING_SECONDS"]))
    for name, least in (("BRAILLE_CELLS", MIN_BRAILLE_CELLS), ("BRAILLE_LINES", MIN_BRAILLE_LINES)):
        if int(config[name]) < least:
            raise SettingError(f"{name} must be at least {least}; it is {config[name]}.")


def refuse_auto_print_on_an_embosser(config: dict[str, Any]) -> None:
    """Auto-print sends the handout's PDF, which an embosser must never get.
    (A queue whose driver says it is one is found by the worker: such a job
    fails with the reason, kiosk/print_jobs.py.)"""
    printer = str(config["AUTO_PRINT_PRINTER"]).strip()
    if printer and printer in {name.strip() for name in str(config["BRAILLE_PRINTERS"]).split(",")}:
        raise SettingError(
            f"AUTO_PRINT_PRINTER is “{printer}”, which BRAILLE_PRINTERS names a braille embosser: "
            "a PDF is never sent to one. Name a printer for paper, or leave AUTO_PRINT_PRINTER empty."
        )


def apply_https(config: dict[str, Any]) -> None:
    """What BEHIND_HTTPS_PROXY implies for Flask's own settings."""
    if config.get("BEHIND_HTTPS_PROXY"):
        config["SESSION_COOKIE_SECURE"] = True
        config["PREFERRED_URL_SCHEME"] = "https"
        config["TRUSTED_PROXIES"] = max(1, int(config.get("TRUSTED_PROXIES") or 0))


def load_or_create_secret_key(instance_path: str) -> str:
    """The key that signs session cookies, generated once and kept in ``instance/``.

    Keeping it on disk means a restart does not end visits in progress. For
    several app hosts, set ``SECRET_KEY`` to the same value on each instead.
    """
    path = Path(instance_path) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        # Whole or not at all: a full disk must not leave a cut-short key.
        write_atomically(path, key.encode(), replace=False)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    return key


# Fixed settings: not meant to vary between clinics.
DEFAULTS: dict[str, Any] = {
    # How staff passwords are hashed (werkzeug): scrypt with N = 2^15, r = 8,
    # p = 1, about a fifth of a second a check here. Each hash names its own
    # method, so one made under another setting still checks.
    "PASSWORD_HASH_METHOD": "scrypt:32768:8:1",
    # hide_parameters: a failed statement's error (and so the log) never shows
    # the values it carried, which may be what a patient typed.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "kiosk_session",
    # A kiosk page can sit on Welcome for hours; the token lives as long as the
    # session cookie instead of expiring after an hour.
    "WTF_CSRF_TIME_LIMIT": None,
    # Over HTTPS a post must come from this site: kiosk/security.py checks its
    # Origin (Flask-WTF's own check would need a Referer).
    "WTF_CSRF_SSL_STRICT": False,
    # Forms here are a few taps and at most a few short texts.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_PARTS": 200,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_TRANSLATION_DIRECTORIES": "translations",
    # Every language the kiosk ships, by tag, each named in itself. Which of
    # them a clinic offers, and in what order, is its own to say: the
    # `languages` of instance/clinic.toml (kiosk/content.py).
    "LANGUAGES": dict(languages.NAMES),
}
