"""Shared fixtures: an app on a fresh SQLite database, and a kiosk helper that
taps through the flow with real CSRF tokens, as the touchscreen would."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kiosk import content, create_app, printing
from kiosk import questionnaire as qn
from kiosk.cli import SAMPLE_ANSWERS
from kiosk.database import create_tables
from kiosk.printing import PrintError, ToolResult

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_sessionstart(session) -> None:
    """The patient's languages as the app reads them: compiled from the
    catalogs in git (make test does the same), so a run never tests stale ones."""
    from babel.messages.frontend import CommandLineInterface

    translations = Path(__file__).resolve().parent.parent / "kiosk" / "translations"
    CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(translations)])


# The slow families, each a marker registered in pyproject.toml: `make test`
# runs everything, `make test-fast` all but these. A test is marked by the
# fixture it uses (here), by the parameter that puts it on PostgreSQL, by
# being a Hypothesis test, or by its module's `pytestmark` (processes, load,
# cups, nginx, fonts).
MARKED_BY_FIXTURE = {
    "chromium": "browser",  # open_kiosk uses it too
    "pg_app": "postgres",
    "small_disk": "mount",
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        for fixture, marker in MARKED_BY_FIXTURE.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in map(str, callspec.params.values()):
            item.add_marker("postgres")
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker("fuzz")


def app_config(tmp_path, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test secret key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'kiosk.sqlite3'}",
        "KIOSK_NAME": "Test kiosk",
        "CLINIC_NAME": "Test Spine Clinic",
        # Enrollment is tested on its own (tests/test_enrolled_kiosks.py).
        "KIOSK_ENROLLMENT": 0,
        # scrypt as the app uses it, with a work factor 32 times smaller: the
        # suite signs in hundreds of times (the app's own is checked in
        # tests/test_passwords.py).
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        **overrides,
    }


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """make_app(**settings): the app with these settings on a fresh SQLite
    database in the test's folder, its tables made."""

    def make(**settings: Any):
        monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
        app = create_app(app_config(tmp_path, **settings))
        with app.app_context():
            create_tables()
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


def run_worker(app) -> int:
    """Do the worker's due work (render handouts, send and follow print jobs)
    here and now, as `kiosk worker --once` does. Returns how much was done."""
    from kiosk.worker import run_once

    with app.app_context():
        return run_once()


# PostgreSQL, as a health system runs it: KIOSK_TEST_DATABASE_URL names an
# empty database the tests may wipe (CI makes one with .ci/postgres-setup).
# Without it those tests skip, saying why, unless KIOSK_REQUIRE_POSTGRES is
# set (CI), where that is a failure.
POSTGRES_URL = os.environ.get("KIOSK_TEST_DATABASE_URL", "")
POSTGRES_REQUIRED = os.environ.get("KIOSK_REQUIRE_POSTGRES", "").strip() not in ("", "0")
POSTGRES_MISSING = "KIOSK_TEST_DATABASE_URL is not set (bash .ci/postgres-setup prints one)"


@pytest.fixture
def pg_app(tmp_path, monkeypatch):
    """The app on an emptied PostgreSQL database, upgraded by its migrations."""
    from sqlalchemy import text

    from kiosk.extensions import db

    if not POSTGRES_URL:
        if not POSTGRES_REQUIRED:
            pytest.skip(POSTGRES_MISSING)
        pytest.fail(f"{POSTGRES_MISSING}; KIOSK_REQUIRE_POSTGRES is set, so this is a failure", pytrace=False)
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=POSTGRES_URL))
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    result = app.test_cli_runner().invoke(args=["kiosk", "init-db"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# A real browser (Debian's Chromium through Playwright), as a patient's or
# the desk's screen. Without it these tests skip, saying why, unless
# KIOSK_REQUIRE_BROWSER is set (CI), where that is a failure. Every test that
# uses one is marked `browser` (pytest_collection_modifyitems, below).


@pytest.fixture(scope="module")
def chromium():
    """One browser for a module of tests."""
    from playwright.sync_api import sync_playwright

    from .support.browser import BROWSER_REQUIRED, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING

    if not CHROMIUM.exists():
        if not BROWSER_REQUIRED:
            pytest.skip(CHROMIUM_MISSING)
        pytest.fail(f"KIOSK_REQUIRE_BROWSER is set, but {CHROMIUM_MISSING}", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            # Playwright turns the back-forward cache off; the kiosk's own Chromium
            # has it on, and Back must not bring a wiped visit out of it.
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield browser
        browser.close()


@pytest.fixture
def open_kiosk(chromium, make_app):
    """Serve the app with some settings, with a worker beside it, as `make
    run` does; a patient walks up to it on a touchscreen. Returns
    open_(**settings) -> (LiveKiosk, Patient)."""
    import threading
    from contextlib import ExitStack

    from kiosk.worker import Worker

    from .support.browser import KIOSK_SCREEN, LiveKiosk, Patient
    from .support.serve import served_in_thread

    servers = ExitStack()
    workers = []
    contexts = []

    def open_(
        *,
        walk_up: bool = True,
        screen: dict[str, int] | None = None,
        reduced_motion: str | None = None,
        **settings: Any,
    ) -> tuple[LiveKiosk, Patient]:
        app = make_app(**settings)
        url = servers.enter_context(served_in_thread(app))
        worker = Worker(app, name="browser-test-worker")
        worker_thread = threading.Thread(target=worker.run, daemon=True)
        worker_thread.start()
        workers.append((worker, worker_thread))

        context = chromium.new_context(
            has_touch=True, viewport=screen or KIOSK_SCREEN, reduced_motion=reduced_motion or "no-preference"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        patient = Patient(context.new_page(), url)
        if walk_up:
            patient.walks_up()
        return LiveKiosk(app, patient.base_url), patient

    yield open_

    for context in contexts:
        context.close()
    servers.close()
    for worker, thread in workers:
        worker.stop.set()
        thread.join(timeout=30)


@pytest.fixture
def running_worker(app):
    """A real worker (both lanes) working for `app` in the background, as
    `kiosk worker` does beside the web server."""
    import threading

    from kiosk.worker import Worker

    worker = Worker(app, name="test-worker")
    thread = threading.Thread(target=worker.run, name="worker", daemon=True)
    thread.start()
    yield worker
    worker.stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the worker did not stop"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def form_for(step_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The form a patient would post for one step, from stored-style answers."""
    step = qn.BUILT_IN.step(step_id)
    assert step is not None
    return {q.id: answers[q.id] for q in step.fields() if answers.get(q.id) not in (None, "", [])}


class ClientSession:
    """A browser session through the test client that keeps the page's CSRF
    token, from a form field or from htmx's hx-headers, as a browser would."""

    def __init__(self, client) -> None:
        self.client = client
        self.token = ""

    def _remember_token(self, response):
        if response.mimetype != "text/html":
            return response
        page = response.get_data(as_text=True)
        match = CSRF_FIELD.search(page) or re.search(r'"X-CSRFToken": "([^"]+)"', page)
        if match:
            self.token = match.group(1)
        return response

    def get(self, url: str, **kwargs: Any):
        return self._remember_token(self.client.get(url, **kwargs))

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any):
        data = {"csrf_token": self.token, **(data or {})}
        return self._remember_token(self.client.post(url, data=data, **kwargs))


class Kiosk(ClientSession):
    """Drives the patient flow through the test client."""

    def start(self):
        self.get("/")
        return self.post("/start")

    def answer(self, step_id: str, answers: dict[str, Any] | None = None, **kwargs: Any):
        self.get(f"/visit/{step_id}")
        return self.post(
            f"/visit/{step_id}", form_for(step_id, {**SAMPLE_ANSWERS, **(answers or {})}), **kwargs
        )

    def answer_all(self, answers: dict[str, Any] | None = None) -> None:
        self.start()
        with self.client.application.app_context():
            steps = content.definition().steps  # the definition in force
        for step in steps:
            response = self.answer(step.id, answers)
            assert response.status_code == 303, (step.id, response.status_code)

    def finish(self):
        self.get("/visit/review")
        return self.post("/visit/finish")


@pytest.fixture
def kiosk(client):
    return Kiosk(client)


@pytest.fixture
def sample_answers() -> dict[str, Any]:
    return dict(SAMPLE_ANSWERS)


STAFF_PASSWORD = "correct horse battery"


class Desk(ClientSession):
    """A front-desk browser session through the test client."""

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any):
        if not self.token:
            self.get("/desk/sign-in")
        return super().post(url, data, **kwargs)

    def sign_in(self, username: str = "maria", password: str = STAFF_PASSWORD):
        self.get("/desk/sign-in")
        response = self.post("/desk/sign-in", {"username": username, "password": password})
        if response.status_code == 302:
            self.get(response.headers["Location"])  # a new session: pick up its token
        return response


@pytest.fixture
def staff(app):
    from kiosk import auth

    with app.app_context():
        auth.create_staff("maria", STAFF_PASSWORD)
        auth.create_staff("boss", STAFF_PASSWORD, is_admin=True)


@pytest.fixture
def desk(app, staff):
    desk = Desk(app.test_client())
    assert desk.sign_in().status_code == 302
    return desk


@pytest.fixture
def admin_desk(app, staff):
    desk = Desk(app.test_client())
    assert desk.sign_in("boss").status_code == 302
    return desk


@pytest.fixture(scope="module")
def handout_app(tmp_path_factory):
    """One app for a module of handout tests: rendering needs no database."""
    tmp_path = tmp_path_factory.mktemp("handout")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
        yield create_app(app_config(tmp_path))


@pytest.fixture
def fetched_urls(monkeypatch) -> list[str]:
    """Every URL the handout's fetcher is asked for, while it still decides."""
    from kiosk.handout import StaticFilesOnly

    fetched: list[str] = []
    original = StaticFilesOnly.fetch

    def spy(self, url, headers=None):
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticFilesOnly, "fetch", spy)
    return fetched


# --- CUPS's tools played back (unit tests; tests/test_cups.py uses the real ones)


def ok(stdout: str = "") -> ToolResult:
    return ToolResult(0, stdout, "")


def error(stderr: str) -> ToolResult:
    return ToolResult(1, "", stderr)


Answer = ToolResult | PrintError


class FakeTools:
    """Answers a command by the longest matching prefix; remembers what ran.
    A list of answers is given out in turn, for a command run several times."""

    def __init__(self, answers: dict[str, Answer | list[Answer]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, bytes | None]] = []

    def __call__(
        self, args: Sequence[str], stdin: bytes | None = None, timeout: float = 0, **_options: Any
    ) -> ToolResult:
        command = " ".join(args)
        self.calls.append((command, stdin))
        key = max((k for k in self.answers if command.startswith(k)), key=len, default=None)
        assert key is not None, f"unexpected command: {command}"
        answer = self.answers[key]
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, PrintError):
            raise answer
        return answer

    @property
    def commands(self) -> list[str]:
        return [command for command, _ in self.calls]


@pytest.fixture
def cups(monkeypatch):
    def install(answers: dict[str, Answer | list[Answer]]) -> FakeTools:
        fake = FakeTools(answers)
        monkeypatch.setattr(printing, "run_tool", fake)
        return fake

    return install


@contextmanager
def definition_in_force(app, definition):
    """The app asking `definition` for a while, as if a clinic's content said so."""
    import dataclasses

    state = app.extensions["kiosk.content"]
    before = state.content
    state.content = dataclasses.replace(before, definition=definition)
    try:
        yield
    finally:
        state.content = before


@pytest.fixture
def notdef_warnings(monkeypatch) -> list[str]:
    """What WeasyPrint reports drawing as .notdef (an empty box), caught before
    kiosk.handout's filter keeps it out of the logs."""
    from weasyprint.logger import LOGGER

    warnings: list[str] = []
    warning = LOGGER.warning

    def record(message, *args, **kwargs):
        if str(message).startswith(".notdef"):
            warnings.append(message % args)
        warning(message, *args, **kwargs)

    monkeypatch.setattr(LOGGER, "warning", record)
    return warnings
