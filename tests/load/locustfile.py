"""Simulated kiosks for Locust: each one taps through full patient visits, one
after another, as a patient on the touchscreen would.

A tap is what the patient does on a screen: a post, then at once the screen
the 303 points to (htmx follows it), both sent as htmx requests. Between taps
the patient reads for ``LOADTEST_THINK_SECONDS``, or, with
``LOADTEST_THINK_JITTER`` (a fraction), a time drawn anew for every screen
between ``think × (1 − jitter)`` and ``think × (1 + jitter)``. One visit:

    GET /                      (the kiosk's first page load only)
    POST /start          ->    GET /visit/<first step>
    POST /visit/<step>   ->    GET /visit/<next step>      (every step, then review)
    POST /visit/finish   ->    GET /visit/done             (the claim code)
    POST /reset          ->    GET /                       (the next patient)

Every post carries the CSRF token of the screen it was tapped on. A kiosk
that gets an unexpected answer abandons the visit, as its idle timer would,
and starts a new one.

When the kiosks start is Locust's spawn rate: all at once, or spread over a
visit's length as patients arrive (``tests/load/generator.py``).

Requests are named for the statistics: ``step`` (every GET and POST of a step
and of review), ``finish`` (the post that finishes a visit) and ``/``,
``/start``, ``/visit/done``, ``/reset``.

What it writes, for ``tests/load/loadtest.py``:

- every claim code a kiosk was shown, one a line, to ``LOADTEST_CLAIM_CODES``;
- a JSON object of counts (requests, 5xx answers, other unexpected answers
  and failures, with a few examples, and the CPU this process used) to
  ``LOADTEST_COUNTS.<pid>`` when the run ends: one a Locust process, so a run
  with ``--processes`` writes several, which the load test adds up.

Run it with ``python -m tests.load.loadtest``, which starts the server and
the worker; on its own, point it at a kiosk that may be filled with test
visits: ``locust -f tests/load/locustfile.py --host http://127.0.0.1:8000``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, between, constant, events, task

from kiosk import questionnaire as qn
from kiosk.cli import SAMPLE_ANSWERS

THINK_SECONDS = float(os.environ.get("LOADTEST_THINK_SECONDS", "1.0"))
THINK_JITTER = float(os.environ.get("LOADTEST_THINK_JITTER", "0"))
CLAIM_CODES_FILE = os.environ.get("LOADTEST_CLAIM_CODES", "")
COUNTS_FILE = os.environ.get("LOADTEST_COUNTS", "")

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
CLAIM_CODE = re.compile(r'<span id="claim-code"[^>]*>([^<]+)</span>')

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_EXAMPLES = 20


def form_for(step_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The form a patient would post for one step, from stored-style answers."""
    step = qn.BUILT_IN.step(step_id)
    assert step is not None, step_id
    return {q.id: answers[q.id] for q in step.questions if answers.get(q.id) not in (None, "", [])}


STEP_FORMS = {step.id: form_for(step.id, SAMPLE_ANSWERS) for step in qn.STEPS}


def step_url(step_id: str) -> str:
    return f"/visit/{step_id}"


class Tally:
    """What every kiosk of this run saw: requests, unexpected answers, visits."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors_5xx = 0
        self.errors_other = 0
        self.statuses: Counter[str] = Counter()
        self.examples: list[str] = []
        self.visits_started = 0
        self.visits_completed = 0

    def answered(self, status: int) -> None:
        self.requests += 1
        self.statuses[str(status)] += 1

    def error(self, status: int, description: str) -> None:
        if status >= 500:
            self.errors_5xx += 1
        else:
            self.errors_other += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(description)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors_5xx": self.errors_5xx,
            "errors_other": self.errors_other,
            "statuses": dict(self.statuses),
            "examples": self.examples,
            "visits_started": self.visits_started,
            "visits_completed": self.visits_completed,
        }


tally = Tally()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """The CPU this Locust process used while the kiosks tapped, as a share of one core."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.cpu = cpu_seconds()

    def cpu_percent(self) -> float:
        wall = time.monotonic() - self.started
        return 100 * (cpu_seconds() - self.cpu) / wall if wall > 0 else 0.0


clock = Clock()


@events.test_start.add_listener
def start_clock(**_: Any) -> None:
    global clock
    clock = Clock()


def record_claim_code(code: str) -> None:
    tally.visits_completed += 1
    if CLAIM_CODES_FILE:
        with open(CLAIM_CODES_FILE, "a", encoding="utf-8") as out:
            out.write(code + "\n")


@events.test_stop.add_listener
def write_counts(**_: Any) -> None:
    if COUNTS_FILE:
        counts = {**tally.as_dict(), "process": {"pid": os.getpid(), "cpu_percent": clock.cpu_percent()}}
        part = Path(f"{COUNTS_FILE}.{os.getpid()}.part")
        part.write_text(json.dumps(counts), encoding="utf-8")
        part.replace(f"{COUNTS_FILE}.{os.getpid()}")


class UnexpectedAnswer(Exception):
    """The server answered a tap in a way no patient should see."""


class Kiosk(FastHttpUser):
    """One touchscreen kiosk with a stream of patients."""

    wait_time = (
        between(THINK_SECONDS * (1 - THINK_JITTER), THINK_SECONDS * (1 + THINK_JITTER))
        if THINK_JITTER
        else constant(THINK_SECONDS)
    )

    def on_start(self) -> None:
        self.token = ""
        self.screen = "/"
        self.next_tap = self.open_welcome

    @task
    def tap(self) -> None:
        action, self.next_tap = self.next_tap, self.abandon_visit
        # An unexpected answer is counted where it happened; the next tap wipes the visit.
        with contextlib.suppress(UnexpectedAnswer):
            action()

    # --- the taps of a visit ------------------------------------------------

    def open_welcome(self) -> None:
        self.open("/", name="/", htmx=False)
        self.next_tap = self.start_visit

    def start_visit(self) -> None:
        tally.visits_started += 1
        self.post_then_open("/start", {}, name="/start", then=step_url(qn.STEPS[0].id), then_name="step")
        self.next_tap = self.answer_step(0)

    def answer_step(self, index: int):
        step = qn.STEPS[index]

        def answer() -> None:
            next_id = qn.FLOW[qn.FLOW.index(step.id) + 1]
            self.post_then_open(
                step_url(step.id), STEP_FORMS[step.id], name="step", then=step_url(next_id), then_name="step"
            )
            self.next_tap = self.answer_step(index + 1) if index + 1 < len(qn.STEPS) else self.finish_visit

        return answer

    def finish_visit(self) -> None:
        page = self.post_then_open(
            "/visit/finish",
            {},
            name="finish",
            then="/visit/done",
            then_name="/visit/done",
            must_show=CLAIM_CODE,
        )
        record_claim_code(CLAIM_CODE.search(page).group(1).strip())
        self.next_tap = self.next_patient

    def next_patient(self) -> None:
        self.post_then_open("/reset", {}, name="/reset", then="/", then_name="/")
        self.next_tap = self.start_visit

    def abandon_visit(self) -> None:
        """After an unexpected answer: wipe the visit, as the idle timer would."""
        self.next_patient()

    # --- requests -------------------------------------------------------------

    def headers(self, htmx: bool) -> dict[str, str]:
        if not htmx:
            return {}
        return {
            "HX-Request": "true",
            "HX-Target": "screen",
            "HX-Current-URL": f"{self.host}{self.screen}",
        }

    def open(self, url: str, *, name: str, htmx: bool = True, must_show: re.Pattern | None = None) -> str:
        """GET a screen; it must answer 200 (and show `must_show`). Returns the page."""
        with self.client.get(
            url, name=name, headers=self.headers(htmx), allow_redirects=False, catch_response=True
        ) as response:
            status = response.status_code or 0
            tally.answered(status)
            page = (response.text or "") if status else ""
            problem = ""
            if status != 200:
                problem = describe(response)
            elif must_show is not None and not must_show.search(page):
                problem = f"200 without {must_show.pattern!r}"
            if problem:
                response.failure(f"GET {url}: {problem}")
            else:
                response.success()
        if problem:
            self.unexpected("GET", url, status, problem)
        self.screen = url
        self.remember_token(page)
        return page

    def post_then_open(
        self,
        url: str,
        form: dict[str, Any],
        *,
        name: str,
        then: str,
        then_name: str,
        must_show: re.Pattern | None = None,
    ) -> str:
        """POST a tap; it must answer 303 to `then`, which is opened at once."""
        body = urlencode({"csrf_token": self.token, **form}, doseq=True)
        headers = {**self.headers(True), "Content-Type": FORM_CONTENT_TYPE}
        with self.client.post(
            url, data=body, name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            status = response.status_code or 0
            tally.answered(status)
            location = response.headers.get("Location", "") if status else ""
            target = urlsplit(location)
            where = target.path + (f"?{target.query}" if target.query else "")
            problem = ""
            if status != 303 or where != then:
                problem = describe(response) + (f" to {where}" if location else "")
                response.failure(f"POST {url}: {problem}")
            else:
                response.success()
        if problem:
            self.unexpected("POST", url, status, problem)
        return self.open(then, name=then_name, must_show=must_show)

    def remember_token(self, page: str) -> None:
        match = CSRF_FIELD.search(page) or CSRF_HEADER.search(page)
        if match:
            self.token = match.group(1)

    def unexpected(self, method: str, url: str, status: int, detail: str) -> None:
        tally.error(status, f"{method} {url} on {self.screen}: {detail}")
        raise UnexpectedAnswer(f"{method} {url}: {detail}")


def describe(response) -> str:
    if not response.status_code:
        error = getattr(response, "error", None)
        return f"no answer ({type(error).__name__}: {error})" if error else "no answer"
    return f"{response.status_code}"
