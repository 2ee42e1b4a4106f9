"""Enrolling a kiosk through the real server, as a clinic does it: the
one-time code never reaches gunicorn's access log."""

from __future__ import annotations

import os
import re
import signal

from playwright.sync_api import expect

from kiosk import create_app, kiosks

from .test_browser import WELCOME_HEADING, chromium  # noqa: F401  (shared fixture)
from .test_serve import serve


def _register(tmp_path, monkeypatch, instance: str, name: str) -> str:
    """An admin registers a kiosk on the served clinic's database; its code."""
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    with app.app_context():
        return kiosks.register(name, "By the window", "", by="boss").link_code


def test_a_kiosk_enrolls_through_gunicorn_and_its_code_is_nowhere_in_the_access_log(
    chromium,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    process, port = serve(tmp_path, "clinic")
    log = tmp_path / "clinic.log"
    try:
        code = _register(tmp_path, monkeypatch, "clinic", "Waiting room 3")
        kiosk_browser = chromium.new_context(has_touch=True)
        try:
            # The link as the desk shows it (tests/test_kiosks.py), opened on the kiosk.
            screen = kiosk_browser.new_page()
            screen.goto(f"http://127.0.0.1:{port}/enroll#{code}")
            expect(screen.get_by_text("Waiting room 3")).to_be_visible()
            assert code not in screen.url, "the code stays on the kiosk's address bar"
            screen.get_by_role("button", name="Set up this kiosk").tap()
            expect(screen.locator("#screen h1")).to_have_text(WELCOME_HEADING)
            assert screen.get_by_role("button", name="Start", exact=True).count() == 1, (
                "the enrolled kiosk may start"
            )
        finally:
            kiosk_browser.close()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    written = log.read_text()
    assert re.search(r'"POST /enroll HTTP/1\.1" 303', written), "the access log did not see the tap"
    assert code not in written, "the enrollment code is in the access log"
