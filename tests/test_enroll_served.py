"""Enrolling a kiosk through the real server, as a clinic does it: the
one-time code never reaches gunicorn's access log."""

from __future__ import annotations

import os
import re
import signal

import pytest
from playwright.sync_api import expect

from kiosk import create_app, enrolled_kiosks

from .support.browser import WELCOME_HEADING
from .support.serve import serve

pytestmark = pytest.mark.processes


def _register(tmp_path, monkeypatch, instance: str, name: str) -> str:
    """An admin registers a kiosk on the served clinic's database; its code."""
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    with app.app_context():
        return enrolled_kiosks.register(name, "By the window", "", by="boss").link_code


def _enroll_in_chromium(chromium, link: str, name: str) -> None:
    """Open the link on a kiosk's browser and tap "Set up this kiosk"."""
    kiosk_browser = chromium.new_context(has_touch=True)
    try:
        screen = kiosk_browser.new_page()
        errors: list[str] = []
        screen.on("pageerror", lambda error: errors.append(str(error)))
        screen.goto(link)
        expect(screen.get_by_text(name)).to_be_visible()
        assert "#" not in screen.url, "the code is taken off the kiosk's address bar"
        screen.get_by_role("button", name="Set up this kiosk").tap()
        expect(screen.locator("#screen h1")).to_have_text(WELCOME_HEADING)
        assert screen.get_by_role("button", name="Start", exact=True).count() == 1, "the kiosk may start"
        assert errors == [], "a script on the page threw"
    finally:
        kiosk_browser.close()


def test_a_kiosk_enrolls_through_gunicorn_and_its_code_is_nowhere_in_the_access_log(
    chromium,
    tmp_path,
    monkeypatch,
):
    process, port = serve(tmp_path, "clinic")
    log = tmp_path / "clinic.log"
    try:
        code = _register(tmp_path, monkeypatch, "clinic", "Waiting room 3")
        # The link as the desk shows it (tests/test_enrolled_kiosks.py), opened on the kiosk.
        _enroll_in_chromium(chromium, f"http://127.0.0.1:{port}/enroll#{code}", "Waiting room 3")
        # A link in the form made before the code moved after "#" still works.
        old_code = _register(tmp_path, monkeypatch, "clinic", "Waiting room 4")
        _enroll_in_chromium(chromium, f"http://127.0.0.1:{port}/enroll/{old_code}", "Waiting room 4")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    written = log.read_text()
    assert len(re.findall(r'"POST /enroll HTTP/1\.1" 303', written)) == 2, "the log did not see both taps"
    assert code not in written, "the enrollment code is in the access log"
    # The old form's one request names its code (spent at the tap): nothing else does.
    naming = [line for line in written.splitlines() if old_code in line]
    assert len(naming) == 1 and f'"GET /enroll/{old_code} HTTP/1.1" 303' in naming[0], naming
