"""Property-based fuzzing of every patient and desk form.

Hypothesis posts arbitrary values to each form: wrong types, missing and
repeated fields, unknown ids and fields, huge and odd Unicode (NULs, lone
surrogates sent as the raw bytes a browser cannot encode, bidi controls,
emoji, 10 kB strings), as urlencoded and multipart forms and as bodies that
are no form at all, with a valid CSRF token and without one. Whatever
arrives, the app answers calmly (never a 5xx) and stores nothing that fails
validation.

The runs are derandomized, so CI sees the same examples every time;
``KIOSK_FUZZ_SCALE=10`` runs ten times as many.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote_from_bytes, urlsplit

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from kiosk import auth, content, create_app, enrolled_kiosks, languages, models, visits
from kiosk import questionnaire as qn
from kiosk.cli import SAMPLE_ANSWERS
from kiosk.database import create_tables
from kiosk.extensions import babel, db
from kiosk.models import (
    MAX_ROW_ID,
    Alert,
    Handout,
    HandoutState,
    Printer,
    PrintJob,
    PrintState,
    SignInFailure,
    Staff,
    Visit,
)

from .conftest import STAFF_PASSWORD, Desk, Kiosk, app_config, run_worker

pytestmark = pytest.mark.fuzz

# --- settings -----------------------------------------------------------------------

SCALE = float(os.environ.get("KIOSK_FUZZ_SCALE") or 1)


def fuzz_settings(examples: int, **kwargs: Any) -> settings:
    """The same examples on every run, no example database, no time limit
    per example; one app (a function-scoped fixture) serves all examples."""
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        **kwargs,
    )


def _quick_hash(password: str, method: str | None = None) -> str:
    return generate_password_hash(password, method="pbkdf2:sha256:1")


def _forget_cached_hashes() -> None:
    cached = type(functools.cache(lambda: None))
    for value in list(vars(auth).values()):
        if isinstance(value, cached):
            value.cache_clear()


@pytest.fixture(scope="module", autouse=True)
def quick_password_hashes():
    """Staff passwords hashed with one round of PBKDF2 instead of scrypt, so
    that a sign-in or a new account costs microseconds, not 75 ms. The
    forms, and the rules they are held to, are the same."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(auth, "generate_password_hash", _quick_hash)
        _forget_cached_hashes()
        yield
    _forget_cached_hashes()


DATABASES = ["sqlite", "postgresql"]


@pytest.fixture
def app(request, tmp_path, monkeypatch):
    """conftest's app on SQLite; as ``app[postgresql]`` (parametrized
    indirectly), conftest's pg_app, skipped unless KIOSK_TEST_DATABASE_URL
    names a database: PostgreSQL refuses some text SQLite keeps."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("pg_app")
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path))
    with app.app_context():
        create_tables()
    return app


# --- sending a form as a browser (or anything else) might --------------------------------


class Upload(bytes):
    """A value sent as a file part of a multipart form."""


FORM_ENCODINGS = ("urlencoded", "multipart")
CONTENT_TYPES = {
    "urlencoded": "application/x-www-form-urlencoded",
    "text": "text/plain; charset=utf-8",
    "json": "application/json",
}
BOUNDARY = b"kiosk-fuzz-7d2c9b1e0a"


@dataclass(frozen=True)
class How:
    """How a form is sent: where the CSRF token goes, the body's encoding,
    and whether it comes from htmx."""

    token: str = "form"  # form | header | missing | garbage | garbage-first
    encoding: str = "urlencoded"  # urlencoded | multipart | text | json
    htmx: bool = False
    garbage: str = ""

    @property
    def token_ok(self) -> bool:
        """Whether the server can find the session's valid token."""
        return self.token == "header" or (self.token == "form" and self.encoding in FORM_ENCODINGS)


def _bytes(value: str | bytes) -> bytes:
    return bytes(value) if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def _q(value: str | bytes) -> str:
    """Percent-encoded; a lone surrogate goes as the (invalid UTF-8) bytes it would be."""
    return quote_from_bytes(_bytes(value), safe="")


def _part_name(name: str | bytes) -> bytes:
    """A multipart field name as browsers send it: quotes and line breaks escaped."""
    raw = _bytes(name)
    for char, escaped in ((b"%", b"%25"), (b'"', b"%22"), (b"\r", b"%0D"), (b"\n", b"%0A"), (b"\\", b"%5C")):
        raw = raw.replace(char, escaped)
    return bytes(b if b >= 0x20 else 0x3F for b in raw)


def encode(pairs: list[tuple[Any, Any]], encoding: str) -> tuple[bytes, str]:
    if encoding == "multipart":
        parts = []
        for name, value in pairs:
            filename = b'; filename="fuzz.bin"' if isinstance(value, Upload) else b""
            parts.append(
                b'--%s\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n'
                % (BOUNDARY, _part_name(name), filename, _bytes(value))
            )
        body = b"".join(parts) + b"--%s--\r\n" % BOUNDARY
        return body, f"multipart/form-data; boundary={BOUNDARY.decode()}"
    body = "&".join(f"{_q(name)}={_q(value)}" for name, value in pairs).encode("ascii")
    return body, CONTENT_TYPES[encoding]


def _plain(value: Any) -> bool:
    """A str the server reads back exactly (no lone surrogate, not bytes)."""
    return isinstance(value, str) and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def read_back(body: bytes, content_type: str = "", query: str = "") -> Request:
    """The request as the server reads it: werkzeug parses these very bytes."""
    environ = EnvironBuilder(
        method="POST", data=body, content_type=content_type, query_string=query
    ).get_environ()
    return Request(environ)


@dataclass
class Sent:
    response: Any
    too_large: bool
    # What the server read: request.form and request.files.
    form: MultiDict
    files: MultiDict

    @property
    def status(self) -> int:
        return self.response.status_code

    def first(self, name: str, default: Any = None) -> Any:
        """The value a desk form's field reads: posted fields only (a file
        sent in a field's place is ignored, see kiosk/desk/forms.py)."""
        return (self.form.getlist(name) or [default])[0]


def send(session, url: str, pairs: list[tuple[Any, Any]], how: How) -> Sent:
    """POST `pairs` to `url` as `how` says, from a browser session that keeps
    its CSRF token (conftest's Kiosk or Desk)."""
    pairs = list(pairs)
    headers = {}
    if how.token == "form":
        pairs.insert(0, ("csrf_token", session.token))
    elif how.token == "header":
        headers["X-CSRFToken"] = session.token
    elif how.token == "garbage":
        pairs.insert(0, ("csrf_token", how.garbage))
    elif how.token == "garbage-first":
        pairs[:0] = [("csrf_token", how.garbage), ("csrf_token", session.token)]
    if how.htmx:
        headers["HX-Request"] = "true"
    body, content_type = encode(pairs, how.encoding)
    if currently_in_test_context():
        note(f"POST {url} ({how}, {len(body)} bytes)")
    response = session.client.post(url, data=body, content_type=content_type, headers=headers)
    session._remember_token(response)
    assert response.status_code < 500, (url, response.status_code)
    limit = session.client.application.config["MAX_CONTENT_LENGTH"]
    read = read_back(body, content_type)
    return Sent(response, len(body) > limit, read.form, read.files)


def follow(session, sent: Sent, how: How) -> None:
    """Load the page a redirect leads to, as the browser (or htmx) would."""
    response = sent.response
    if 300 <= response.status_code < 400 and response.headers.get("Location"):
        location = urlsplit(response.headers["Location"])
        # Relative, or (werkzeug's own redirects, e.g. merging slashes) this host.
        assert location.netloc in ("", "localhost") and location.path.startswith("/"), location
        target = location.path + (f"?{location.query}" if location.query else "")
        page = session.get(target, headers={"HX-Request": "true"} if how.htmx else {})
        assert page.status_code < 500, (location, page.status_code)


def session_value(session, key: str) -> Any:
    with session.client.session_transaction() as stored:
        return stored.get(key)


# --- what gets sent ------------------------------------------------------------------------

QUESTION_IDS = [q.id for q in qn.BUILT_IN.fields()]
STEP_IDS = [s.id for s in qn.STEPS]
BANK = qn.QUESTIONS.questions[0]
BANK_IDS = [c.id for c in BANK.all_choices()]
CHOICE_IDS = sorted({c.id for q in qn.BUILT_IN.fields() for c in q.all_choices()})
SIGNS = qn.SAFETY.questions[0]  # the safety check's one question: the list of warning signs
SIGN_IDS = [flag.id for flag in qn.RED_FLAGS]  # in the list's order
NONE, SOME = qn.NO_SIGNS.id, qn.SOME_SIGNS.id

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\r\n",
    "\t\t",
    "\x1b[31mred",
    "\x7f\x85",
    "\u202eevil\u202c",
    "\u2066isolate\u2069",
    "\u200f\u200e\u061c",
    "\u200b",
    "\ufeff",
    "\u2028\u2029",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f3f3\ufe0f\u200d\U0001f308",
    "e\u0301\u0301\u0301\u0301",
    "\u0130",
    "\u00df",
    "\ufb03",
    "\u01c5",
    "\U000e0041",
    "\ue000",
    "\U0010ffff",
    "\ufffd",
    "\uff2b\uff17\uff30\uff12",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "{{ 7 * 7 }}",
    "%s%n%x",
    "../../etc/passwd",
    "null",
    "None",
    "[]",
    "{}",
    "-1",
    "0",
    "1e309",
    "NaN",
    "yes ",
    "YES",
    "no\x00",
    "none ",
    "NONE",
    "some\x00",
    "none,some",
    '["none"]',
    "bladder ",
    "Bladder",
    "q_options_all ",
    "other\t",
    "review",
    "\ud800",
    "a\udfffb",
]


def _repeat(seed: str, length: int) -> str:
    return (seed * length)[:length]


TEXT = st.text(max_size=24)
LONG_TEXT = st.builds(
    _repeat,
    st.sampled_from(["a", "\u00e9", "\u4e2d", "\U0001f44d", "\u202e", "\x00", "ab ", "\r\n"])
    | st.text(min_size=1, max_size=3),
    st.sampled_from([299, 300, 301, 1000, 2500, 10_000]),
)
WITH_SURROGATE = st.builds("{}{}{}".format, TEXT, st.characters(categories=["Cs"]), TEXT)
# Characters typed text may hold that cleaning must drop, or must keep.
ODD_CHARACTERS = st.sampled_from(
    [
        *"\x00\r\n\t\x0b\x1b\x7f\x85",  # controls: dropped, but line breaks and tabs
        *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",  # bidi controls: dropped
        *"\u200b\u200c\u200d\u200e\u200f\u061c\ufe0f\ufeff\U000e0041\u00ad",  # other format: kept
        *"\u2028\u2029\u00a0\u3000\u0301\U0001f44d",
    ]
) | st.characters(categories=["Cc", "Cf", "Z"])
# Ordinary text with odd characters among it. (As a `text` alphabet, hypothesis
# would merge them into one range of code points, and hardly ever draw one.)
TYPED = st.lists(st.text(st.characters(codec="utf-8"), max_size=6) | ODD_CHARACTERS, max_size=10).map("".join)


def _as_one_branch(value: Any) -> Any:
    return value


# Anything at all. Mapped, so that `x | VALUE` is two branches: a bare one_of
# would be spread into its nine and outweigh `x`.
VALUE = st.one_of(
    st.sampled_from(CHOICE_IDS),
    st.sampled_from(ODD_STRINGS),
    TEXT,
    LONG_TEXT,
    WITH_SURROGATE,
    st.binary(max_size=12),
    st.binary(max_size=12).map(Upload),
    st.integers().map(str),
    st.floats().map(repr),
).map(_as_one_branch)


FIELD_NAME = st.one_of(
    st.sampled_from(
        [
            *QUESTION_IDS,
            "return_to",
            "lang",
            "large_text",  # gone: only ever ignored now
            "text_size",
            "high_contrast",
            "read_aloud",
            "next",
            "which",
            "draft_step",
            "warning_signs[]",
            "visit",
            "answers",
            "completed_steps",
            "reasons[]",
            "questions[]",
            "id",
            "__proto__",
            "username",
            "password",
            "printer",
            "is_admin",
            "code",
        ]
    ),
    TEXT,
)
EXTRA_FIELDS = st.lists(st.tuples(FIELD_NAME, VALUE), max_size=4)
ANY_HOW = st.builds(
    How,
    token=st.sampled_from(["form"] * 5 + ["header", "missing", "garbage", "garbage-first"]),
    encoding=st.sampled_from(["urlencoded"] * 3 + ["multipart"] * 2 + ["text", "json"]),
    htmx=st.booleans(),
    garbage=st.sampled_from(["", "nope", "IjEi.Zm9v.YmFy"]) | TEXT,
)


# Mostly the way the app's own pages post (the path that stores things),
# sometimes anything at all.
HOW = st.builds(How, encoding=st.sampled_from(FORM_ENCODINGS), htmx=st.booleans()) | ANY_HOW


def either(*options: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of `options`, each as likely. (Spelt `a | b`, hypothesis spreads
    a one_of into its branches and draws little from a strategy with few
    values.)"""
    return st.sampled_from(range(len(options))).flatmap(options.__getitem__)


def mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any] = VALUE) -> st.SearchStrategy[Any]:
    """`good` three times in four, else `other`."""
    return either(good, good, good, other)


def one_or_more(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """A field sent once, mostly; sometimes missing or repeated."""
    return st.lists(values, min_size=1, max_size=1) | st.lists(values, max_size=3)


TICKED = st.lists(st.sampled_from(SIGN_IDS), unique=True, min_size=1, max_size=4)


def valid_values(question: qn.Question) -> st.SearchStrategy[list[str]]:
    """Values a patient's tap could send for one question (text of any length)."""
    if question.kind == "signs":
        # The ticked signs, then the button tapped.
        return either(
            st.just([NONE]),
            st.just([SOME]),  # not said which
            TICKED.map(lambda ticked: [*ticked, SOME]),
            TICKED.map(lambda ticked: [*ticked, SOME]),
            TICKED.map(lambda ticked: [*ticked, NONE]),  # a sign, then "none of these": asked again
            TICKED,  # ticked, and Enter rather than a button
            st.lists(st.sampled_from([*SIGN_IDS, NONE, SOME]), max_size=5),  # any mix, order, repeats
        )
    if question.kind == "text":
        odd = st.sampled_from([s for s in ODD_STRINGS if _plain(s)])
        return either(
            st.just([]),
            TEXT.map(lambda t: [t]),
            LONG_TEXT.map(lambda t: [t]),
            odd.map(lambda t: [t]),
            TYPED.map(lambda t: [t]),
            TYPED.map(lambda t: [t]),
        )
    ids = sorted(question.choice_ids())
    if question.kind in ("yesno", "single", "scale"):
        one = st.sampled_from(ids).map(lambda choice: [choice])
        return one if question.required else one | st.just([])
    most = question.stars + 1 if question.kind == "stars" else 6
    return st.lists(st.sampled_from(ids), unique=True, min_size=1 if question.required else 0, max_size=most)


@st.composite
def step_form(draw, step: qn.Step) -> list[tuple[Any, Any]]:
    """A step's form: most questions answered as a tap would, up to three
    with anything at all (missing, repeated, wrong), and unknown fields."""
    question_ids = [q.id for q in step.fields()]
    broken = draw(st.just(set()) | st.sets(st.sampled_from(question_ids), min_size=1, max_size=3))
    pairs: list[tuple[Any, Any]] = []
    for question in step.fields():
        values = draw(st.lists(VALUE, max_size=3) if question.id in broken else valid_values(question))
        pairs += [(question.id, value) for value in values]
    if any(q.kind == "signs" for q in step.fields()):
        # Sent again from the "which signs?" screen.
        pairs += [("which", value) for value in draw(st.lists(mostly(st.just("1")), max_size=2))]
    extra = draw(EXTRA_FIELDS)
    return extra + pairs if draw(st.booleans()) else pairs + extra


def path_segment(known: list[int]) -> st.SearchStrategy[str]:
    """A row id as it may appear in a URL: real ones, spelt oddly, unknown, not a number."""
    fullwidth = str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")
    real = st.sampled_from(known) if known else st.just(1)
    return st.one_of(
        real.map(str),
        real.map(str),
        real.map(str),
        real.map(str),
        real.map(lambda i: f"00{i}"),
        real.map(lambda i: str(i).translate(fullwidth)),
        st.integers(-3, 10_000).map(str),
        st.sampled_from(
            [
                "0",
                "-1",
                "1.0",
                "+1",
                " 1",
                "1 ",
                "0x1",
                "1e3",
                str(MAX_ROW_ID),
                str(MAX_ROW_ID + 1),
                "99999999999999999999999",
                "",
                "null",
                "\x00",
                "1;2",
                "../1",
                "1/2",
            ]
        ),
        TEXT,
        WITH_SURROGATE,
    )


def row_id(known: list[int]) -> st.SearchStrategy[str]:
    """Mostly a real row's id, else anything `path_segment` makes."""
    real = st.sampled_from(known).map(str)
    return either(real, real, path_segment(known))


def routed_id(segment: str) -> int | None:
    """The row id the app's `id` URL converter reads from this segment, if any."""
    if not _plain(segment) or not re.fullmatch(r"\d+", segment):
        return None
    value = int(segment)
    return value if 1 <= value <= MAX_ROW_ID else None


# --- what may be stored ---------------------------------------------------------------------


# Bidi embedding, override and isolate controls: they could reorder the handout's text.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _dropped(ch: str) -> bool:
    """A character typed text loses: controls (but line breaks and tabs),
    surrogates and bidi controls. Other format characters (joiners,
    variation selectors, marks) are kept: emoji and scripts need them."""
    return ch not in "\n\t" and (unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI_CONTROLS)


def cleaned(raw: str) -> str:
    """Typed text as it should be stored."""
    return "".join(ch for ch in raw if not _dropped(ch)).strip()


def _is_clean_text(value: str) -> bool:
    return value == value.strip() and not any(_dropped(ch) for ch in value)


def expected_signs(raw: list[Any]) -> tuple[list[str], str]:
    """The safety list's answer from what was posted, by the clinic's rule:
    (the answer to store, "") or ([], why it is asked again)."""
    posted = {value for value in raw if isinstance(value, str)}
    if posted - {*SIGN_IDS, NONE, SOME}:
        return [], qn.MSG_NOT_ON_LIST
    ticked = [sign for sign in SIGN_IDS if sign in posted]
    if NONE in posted and (ticked or SOME in posted):
        return [], qn.MSG_SIGNS_CONFLICT
    if ticked:
        return ticked, ""
    if posted:
        return sorted(posted), ""  # "none" or "some", alone
    return [], qn.MSG_SIGNS_ANSWER


def _is_a_signs_answer(value: Any) -> bool:
    """["none"], ["some"], or signs from the list in the list's order."""
    return value in ([NONE], [SOME]) or (
        isinstance(value, list) and bool(value) and value == [s for s in SIGN_IDS if s in value]
    )


def assert_answers_are_valid(answers: Any, completed: Any) -> None:
    """A visit's stored answers, held to the questionnaire's rules."""
    assert isinstance(answers, dict), answers
    assert isinstance(completed, list), completed
    assert len(set(completed)) == len(completed), completed
    assert set(completed) <= set(STEP_IDS), completed
    assert set(answers) <= set(QUESTION_IDS), f"unknown fields stored: {set(answers) - set(QUESTION_IDS)}"
    for step_id in completed:
        step = qn.BUILT_IN.step(step_id)
        result = step.validate(visits._StoredAnswers(answers))
        assert result.ok, (step_id, result.errors, answers)
        for question in step.fields():
            assert question.id in answers, (step_id, question.id)
            value = answers[question.id]
            # Validating the stored answers again changes nothing.
            assert result.values[question.id] == value, (question.id, value, result.values[question.id])
            if question.kind == "text":
                assert isinstance(value, str), (question.id, value)
                assert len(value) <= question.max_length, (question.id, len(value))
                assert _is_clean_text(value), (question.id, value)
            elif question.kind == "signs":
                assert _is_a_signs_answer(value), (question.id, value)
            elif question.kind in ("yesno", "single", "scale"):
                assert isinstance(value, str), (question.id, value)
                assert value in question.choice_ids() or (value == "" and not question.required), value
            else:
                assert isinstance(value, list), (question.id, value)
                assert all(isinstance(v, str) for v in value), (question.id, value)
                assert len(set(value)) == len(value), (question.id, value)
                if question.kind == "stars":
                    own = {q.id for q in BANK.own if answers.get(q.id)}
                    assert set(value) <= set(answers[BANK.id]) | own, value
                    assert len(value) <= question.stars, value
                else:
                    assert set(value) <= question.choice_ids(), (question.id, value)
        if step.id == qn.REASONS.id and "other" not in answers["reasons"]:
            assert answers["reasons_other"] == ""


def assert_nothing_invalid_is_stored(app, visit_ids: set[str] | None = None) -> None:
    """Every visit's stored answers (or those of `visit_ids`) and every alert
    hold to the questionnaire."""
    with app.app_context():
        query = select(Visit) if visit_ids is None else select(Visit).where(Visit.id.in_(visit_ids))
        for visit in db.session.scalars(query):
            assert_answers_are_valid(visit.answers, visit.completed_steps)
            assert_draft_is_clean(visit.draft)
            if visit.finished_at is not None:
                visits.check_complete(visit)
                assert visit.handout is not None
        open_alerts: set[str] = set()
        for alert in db.session.scalars(select(Alert)):
            # Which signs, or "some" alone (not said which yet): never both.
            assert alert.signs != [NONE] and _is_a_signs_answer(alert.signs), alert.signs
            if alert.visit_id is not None and alert.acknowledged_at is None:
                assert alert.visit_id not in open_alerts, "two open alerts for one visit"
                open_alerts.add(alert.visit_id)


def visit_state(app, visit_id: str | None) -> tuple[dict, list, Any] | None:
    if not visit_id:
        return None
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        if visit is None:
            return None
        return dict(visit.answers or {}), list(visit.completed_steps or []), visit.finished_at


def sample_answers_for(steps: tuple[qn.Step, ...]) -> dict[str, Any]:
    return {q.id: SAMPLE_ANSWERS[q.id] for s in steps for q in s.fields()}


# --- the patient's forms ----------------------------------------------------------------------


def to_fix(status: int, how: How) -> int:
    """The status of a step shown again to fix (answers to check 422, an
    earlier step first 409, a stale token 400): 200 to htmx, for which the
    fragment is the answer."""
    return 200 if how.htmx else status


def reported_signs(values: dict[str, Any]) -> list[str]:
    """The signs a saved safety check reports: none for "none of these"."""
    answer = values.get(SIGNS.id) or [NONE]
    return [] if answer == [NONE] else answer


def where_next(step: qn.Step, values: dict[str, Any], which: Any, to_review: bool, all_answered: bool):
    """Where a saved step sends the patient: (path, query)."""
    back = {"return_to": ["review"]} if to_review else {}
    reported = reported_signs(values)
    if reported == [SOME] and which != "1":  # the desk knows; ask which, once
        return f"/visit/{step.id}", {"which": ["1"], **back}
    if reported:
        return "/visit/urgent", back
    if to_review and all_answered:
        return "/visit/review", {}
    return "/visit/" + qn.FLOW[qn.FLOW.index(step.id) + 1], {}


def location(sent: Sent) -> tuple[str, dict[str, list[str]]]:
    target = urlsplit(sent.response.headers["Location"])
    return target.path, parse_qs(target.query)


def check_validation(step: qn.Step, form: MultiDict, result: qn.StepResult) -> None:
    """`validate_step` against the fuzz's own reading of the rules it can
    state plainly: free text cleaned and counted, and the safety list."""
    assert all(isinstance(problem, qn.Problem) for problem in result.errors.values()), result.errors
    for question in step.fields():
        problem = result.errors.get(question.id)
        if question.kind == "signs":
            answer, why = expected_signs(form.getlist(question.id))
            assert (problem.text if problem else "") == why, (form.getlist(question.id), problem)
            if not why:
                assert result.values[question.id] == answer
                assert qn.BUILT_IN.red_flags_reported(result.values) == reported_signs(result.values)
        if question.kind != "text":
            continue
        typed = next((v for v in form.getlist(question.id) if isinstance(v, str)), "")
        if question.depends_on and question.depends_value not in result.values[question.depends_on]:
            assert (result.values[question.id], problem) == ("", None)
            continue
        text = cleaned(typed)
        assert result.values[question.id] == text, (typed, result.values[question.id])
        too_long = qn.Problem(qn.MSG_TOO_LONG, length=len(text), limit=question.max_length)
        assert problem == (too_long if len(text) > question.max_length else None), problem


def alert_signs(app, visit_id: str) -> list[list[str]]:
    with app.app_context():
        query = select(Alert).where(Alert.visit_id == visit_id).order_by(Alert.id)
        return [list(alert.signs) for alert in db.session.scalars(query)]


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@fuzz_settings(250)
@given(data=st.data())
def test_a_step_stores_only_answers_that_pass_validation(app, data):
    """Every step, posted anything at all: the step's answers are saved
    exactly as validation keeps them, or not at all; a saved step goes on
    to the right screen, and reported signs alert the desk."""
    kiosk = Kiosk(app.test_client())
    # The safety check and the steps with free text come up twice as often.
    step = qn.BUILT_IN.step(
        data.draw(st.sampled_from([*STEP_IDS, qn.SAFETY.id, qn.REASONS.id, qn.QUESTIONS.id]), label="step")
    )
    index = STEP_IDS.index(step.id)
    answered = data.draw(
        st.integers(index, len(qn.STEPS)) | st.just(len(qn.STEPS)) | st.integers(0, len(qn.STEPS)),
        label="steps answered before",
    )
    pairs = data.draw(step_form(step), label="fields")
    how = data.draw(HOW, label="how")
    return_to = data.draw(st.sampled_from(["", "review"]) | TEXT, label="return_to")

    kiosk.get("/")
    assert kiosk.post("/start").status_code == 303
    visit_id = session_value(kiosk, "visit")
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        visit.answers = sample_answers_for(qn.STEPS[:answered])
        visit.completed_steps = STEP_IDS[:answered]
        db.session.commit()
    before = visit_state(app, visit_id)

    query = f"return_to={_q(return_to)}" if return_to else ""
    sent = send(kiosk, f"/visit/{step.id}" + (f"?{query}" if query else ""), pairs, how)
    after = visit_state(app, visit_id)
    form = sent.form
    note(f"status {sent.status}; the server read {form!r}")
    event(f"{step.id}: {sent.status}")
    page = sent.response.get_data(as_text=True)

    alerts: list[list[str]] = []
    if sent.too_large:
        assert sent.status == 413
    elif not how.token_ok:
        assert sent.status == to_fix(400, how)
    elif index > answered:
        assert sent.status == to_fix(409, how)
    else:
        expected = step.validate(form)
        check_validation(step, form, expected)
        assert sent.status == (303 if expected.ok else to_fix(422, how)), expected.errors
        if expected.ok:
            assert after[0] == {**before[0], **expected.values}
            # The query's return_to comes first, then the form's.
            wanted = read_back(b"", query=query).args.get("return_to") if query else form.get("return_to")
            all_answered = set(STEP_IDS) <= set(after[1])
            assert location(sent) == where_next(
                step, expected.values, form.get("which"), wanted == "review", all_answered
            )
            if reported_signs(expected.values):
                alerts = [reported_signs(expected.values)]
        for problem in expected.errors.values():
            if problem.length:  # the message gives the numbers
                assert f"it has {problem.length} letters, and the limit is {problem.limit}" in page
    if sent.status == 303:
        assert step.id in after[1]
    else:
        assert after == before, "a refused post changed the visit"
    assert alert_signs(app, visit_id) == alerts, "the desk was not told exactly the signs reported"
    follow(kiosk, sent, how)
    for path in (f"/visit/{step.id}", "/visit/review"):  # what was stored, shown again
        assert kiosk.get(path, headers={"HX-Request": "true"} if how.htmx else {}).status_code < 500, path
    assert_nothing_invalid_is_stored(app)
    if sent.status == 303:
        stored = after[0]
        texts = [stored.get(q.id, "") for q in step.fields() if q.kind == "text"]
        if any(texts):
            event("stored free text")
        if any(len(t) >= 250 for t in texts):
            event("stored free text of 250 characters or more")
        if step.id == qn.SAFETY.id:
            event(f"safety stored {stored[SIGNS.id] if stored[SIGNS.id] in ([NONE], [SOME]) else 'signs'}")


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@fuzz_settings(150)
@given(
    question_id=st.sampled_from(["reasons_other", *(q.id for q in BANK.own)]),
    typed=either(
        TYPED,
        TYPED,
        LONG_TEXT,
        st.builds(_repeat, TYPED.map(lambda t: t or "x"), st.sampled_from([300, 301, 400])),
    ),
    how=st.builds(How, encoding=st.sampled_from(FORM_ENCODINGS), htmx=st.booleans()),
)
def test_typed_text_is_kept_as_typed_but_for_what_cleaning_drops(app, question_id, typed, how):
    """Free text is stored as typed, less controls (but line breaks and
    tabs) and bidi controls, trimmed: joiners, variation selectors and other
    format characters stay. Too long, it is refused with the numbers."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    assert kiosk.post("/start").status_code == 303
    step = qn.REASONS if question_id == "reasons_other" else qn.QUESTIONS
    visit_id = session_value(kiosk, "visit")
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        visit.answers = sample_answers_for(qn.STEPS[: STEP_IDS.index(step.id)])
        visit.completed_steps = STEP_IDS[: STEP_IDS.index(step.id)]
        db.session.commit()
    changes = {question_id: typed, "reasons": [*SAMPLE_ANSWERS["reasons"], "other"]}
    pairs = [(q, v) for q, values in form_pairs(step, changes) for v in values]
    sent = send(kiosk, f"/visit/{step.id}", pairs, how)
    text = cleaned(sent.form.get(question_id, ""))
    limit = step.question(question_id).max_length
    stored = visit_state(app, visit_id)[0]
    event(
        "too large to send"
        if sent.too_large
        else "too long"
        if len(text) > limit
        else "kept"
        if text
        else "empty"
    )
    if sent.too_large:
        assert sent.status == 413 and question_id not in stored
    elif len(text) > limit:
        assert sent.status == to_fix(422, how)
        assert f"it has {len(text)} letters, and the limit is {limit}" in sent.response.get_data(as_text=True)
        assert question_id not in stored
    else:
        assert sent.status == 303
        assert stored[question_id] == text, (sent.form.get(question_id), stored[question_id])


PATIENT_PAGES = [
    "/",
    "/?ended=1",
    *(f"/visit/{s}" for s in STEP_IDS),
    "/visit/safety?which=1",
    "/visit/safety?which=1&return_to=review",
    "/visit/urgent",
    "/visit/urgent?return_to=review",
    "/visit/review",
    "/visit/done",
]
# Steps are routed by their ids only: anything else under /visit/ is no page.
NO_PAGES = {
    "/visit/finish": 405,  # a form's action, never a page
    "/visit/support": 404,  # a step that went: its questions are on "records" now
    "/visit/Safety": 404,
    "/visit/safety%20": 404,
    "/visit/safety/": 404,
    "/visit/": 404,
    "/visit/1": 404,
}


# --- the welcome screen's preferences ---------------------------------------------------------------

TEXT_SIZES = (100, 125, 150)
# Audio mode's speech speeds and loudness steps, as the keys step through them.
RATES, RATE_DEFAULT = (0.6, 0.75, 0.9, 1.1, 1.3, 1.6), 2
VOLUMES, VOLUME_DEFAULT = (0.25, 0.5, 0.75, 1.0), 3
# Where a preference may ask to go back to: pages of this site, and paths
# that would leave it (or the header) if taken as they are.
LOCAL_PATHS = ["/visit/safety", "/visit/review?return_to=review", "/visit/safety?which=1", "/?ended=1", "/"]
HOSTILE_PATHS = [
    "//evil.example",
    "//evil.example/visit/safety",
    "///evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "\r\n//evil.example",
    "/visit\r\nSet-Cookie: x=1",
    "/%0d%0aX: y",
    "evil.example",
    "//evil.example@localhost",
    "/\u3002evil.example",
    "\uff0f\uff0fevil.example",
    "/..//evil.example",
    "//\x00evil.example",
    "http://localhost/",
    "",
]
PREFERENCES = {
    "lang": st.sampled_from(["en", "es", "fr", "EN", "es\x00", ""]),
    "text_size": either(
        st.sampled_from([str(size) for size in TEXT_SIZES]),
        st.sampled_from(
            [
                "200",
                "75",
                "0125",
                "\u0661\u0662\u0665",  # Arabic-Indic digits
                "\uff11\uff12\uff15",  # fullwidth
                "125 ",
                " 125",
                "1_25",
                "125.0",
                "+125",
                "-125",
                "1e2",
                "",
                "large",
                "on",
            ]
        ),
        st.integers(0, 400).map(str),
    ),
    "high_contrast": st.sampled_from(["on", "off", "ON", "On", "true", "1", "", "on ", "yes"]),
    "read_aloud": st.sampled_from(["on", "off", "OFF", "false", "0", "", "off\x00", "no"]),
    "audio": st.sampled_from(["on", "off", "ON", "1", "", "yes", "on\x00"]),
    "blank_screen": st.sampled_from(["on", "off", "Off", "true", "", "no"]),
    **{
        name: either(
            st.sampled_from([str(step) for step in range(steps)]),
            st.sampled_from([str(steps), "-1", "01", " 1", "1.0", "\u0661", "\u00b2", "\uff11", "", "fast"]),
        )
        for name, steps in (("speech_rate", len(RATES)), ("speech_volume", len(VOLUMES)))
    },
    "draft_step": st.sampled_from([*STEP_IDS, "review", "Safety"]),
    "next": either(
        st.sampled_from(LOCAL_PATHS),
        st.sampled_from(HOSTILE_PATHS),
        st.sampled_from(HOSTILE_PATHS),
        st.builds("/{}".format, TEXT),
        TEXT,
    ),
}


@st.composite
def preference_form(draw, always: tuple[str, ...] = ()) -> list[tuple[Any, Any]]:
    """The welcome screen's settings, each sent mostly as the screen sends it
    (or not at all, unless named in `always`), sometimes repeated or
    anything at all, in any order."""
    pairs = []
    for name, values in PREFERENCES.items():
        sent = st.lists(mostly(values), min_size=1 if name in always else 0, max_size=2)
        pairs += [(name, value) for value in draw(sent, label=name)]
    pairs += draw(EXTRA_FIELDS, label="extra")
    return draw(st.permutations(pairs))


def installed_languages(app) -> set[str]:
    """The languages a patient may choose: those the clinic offers (English
    and Spanish unless its clinic.toml says more) whose catalogs are here."""
    with app.app_context():
        installed = {"en"} | {languages.tag_of(locale) for locale in babel.list_translations()}
        return installed & set(content.current().content.languages)


DISPLAY_KEYS = (
    "lang",
    "text_size",
    "high_contrast",
    "read_aloud",
    "audio",
    "blank_screen",
    "speech_rate",
    "speech_volume",
)
SWITCHES = ("high_contrast", "read_aloud", "audio", "blank_screen")
# A path a browser takes as one on this host: printable ASCII (it drops tabs
# and line breaks), no backslash (it reads one as "/"), not "//" first.
ON_THIS_SITE = re.compile(r"/(?![/\\])[!-\[\]-~]*")
PLAINLY_LOCAL = re.compile(r"/(?![/\\])[A-Za-z0-9_\-./?=&]*")


def visit_language_and_draft(app, visit_id: str | None) -> tuple[str, Any] | None:
    if not visit_id:
        return None
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        return None if visit is None else (visit.language, visit.draft)


def assert_draft_is_clean(draft: Any) -> None:
    """A draft (a step's screen kept over a change of language) holds only
    that step's questions, with the values validation would show again:
    cleaned text, and only ids from the lists."""
    if draft is None:
        return
    step = qn.BUILT_IN.step(draft["step"])
    assert step is not None, draft
    assert set(draft["values"]) <= {q.id for q in step.fields()}, draft
    for question in step.fields():
        value = draft["values"].get(question.id)
        if question.kind == "text":
            assert isinstance(value, str) and _is_clean_text(value), (question.id, value)
        elif question.kind in ("yesno", "single", "scale"):
            assert value == "" or value in question.choice_ids(), (question.id, value)
        else:
            starred = question.choice_ids() if question.kind == "stars" else set()
            assert isinstance(value, list) and set(value) <= question.choice_ids() | starred, (
                question.id,
                value,
            )


def preferences_of(session) -> dict[str, Any]:
    with session.client.session_transaction() as stored:
        return {key: stored[key] for key in DISPLAY_KEYS if key in stored}


def check_preferences(sent: Sent, how: How, before: dict, after: dict, languages: set[str]) -> None:
    """Only the settings offered change, each to a value it may have; the
    answer is an event for htmx or a way back to a page of this site."""
    assert after.get("lang") in (None, *languages), after
    assert after.get("text_size") is None or type(after["text_size"]) is int, after
    assert after.get("text_size") in (None, *TEXT_SIZES), after
    assert all(after.get(name) in (None, True, False) for name in SWITCHES), after
    if sent.too_large or not how.token_ok:
        assert sent.status == (413 if sent.too_large else 400)
        assert after == before
        return
    form = sent.form
    lang = form.get("lang")
    assert after.get("lang") == (lang if lang in languages else before.get("lang"))
    size = form.get("text_size", "")
    if size in [str(s) for s in TEXT_SIZES]:
        assert after["text_size"] == int(size)
    else:  # "0125", "١٢٥", "125 ": only the sizes the screen offers, as it sends them
        assert after.get("text_size") == before.get("text_size"), size
    for name in SWITCHES:
        value = form.get(name)
        expected = (value == "on") if value in ("on", "off") else before.get(name)
        if name == "blank_screen" and expected is None and after.get("audio") is True:
            expected = False  # audio mode on: the screen as the clinic sets it (shown, here)
        assert after.get(name) is expected, name
    for name, steps in (("speech_rate", len(RATES)), ("speech_volume", len(VOLUMES))):
        value = form.get(name, "")
        offered = [str(step) for step in range(steps)]  # only as the keys send them
        assert after.get(name) == (int(value) if value in offered else before.get(name)), (name, value)
    if how.htmx and not lang:  # changed in place: the answers on screen stay
        assert sent.status == 204 and sent.response.get_data() == b""
        size = after.get("text_size", TEXT_SIZES[0])
        contrast, aloud = after.get("high_contrast") is True, after.get("read_aloud") is True
        audio = after.get("audio") is True
        blank = audio and after.get("blank_screen") is True
        rate, volume = after.get("speech_rate", RATE_DEFAULT), after.get("speech_volume", VOLUME_DEFAULT)
        classes = [f"text-{size}", *(["high-contrast"] if contrast else []), *(["audio"] if audio else [])]
        assert json.loads(sent.response.headers["HX-Trigger"]) == {
            "kiosk:display": {
                "text_size": size,
                "high_contrast": contrast,
                "read_aloud": aloud,
                "audio": audio,
                "blank_screen": blank,
                "speech_rate": rate,
                "speech_volume": volume,
                "rate": RATES[rate],
                "volume": VOLUMES[volume],
                "html_class": " ".join(classes + (["audio-blank"] if blank else [])),
            }
        }
        return
    assert sent.status == 303
    back_to = sent.response.headers["Location"]
    next_page = form.get("next", "")
    assert ON_THIS_SITE.fullmatch(back_to), f"{next_page!r} sent the kiosk to {back_to!r}"
    if PLAINLY_LOCAL.fullmatch(next_page):
        assert back_to == next_page
    elif not next_page.startswith("/") or next_page.startswith("//") or "\\" in next_page:
        assert back_to == "/", (next_page, back_to)


@fuzz_settings(150)
@given(data=st.data())
def test_preferences_change_only_the_display_and_stay_on_this_site(app, data):
    languages = installed_languages(app)
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    earlier = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "lang": st.sampled_from(sorted(languages)),
                "text_size": st.sampled_from(TEXT_SIZES),
                "high_contrast": st.booleans(),
                "read_aloud": st.booleans(),
                "audio": st.booleans(),
                "blank_screen": st.booleans(),
                "speech_rate": st.integers(0, len(RATES) - 1),
                "speech_volume": st.integers(0, len(VOLUMES) - 1),
            },
        ),
        label="chosen earlier",
    )
    with kiosk.client.session_transaction() as stored:
        stored.update(earlier)
    pairs = data.draw(preference_form(always=("next",)), label="fields")
    how = data.draw(HOW, label="how")
    sent = send(kiosk, "/preferences", pairs, how)
    event(f"status {sent.status}")
    check_preferences(sent, how, earlier, preferences_of(kiosk), languages)
    follow(kiosk, sent, how)


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@fuzz_settings(100)
@given(data=st.data())
def test_a_new_language_mid_visit_keeps_the_screen_and_changes_no_answer(app, data):
    """A language tapped on a step's screen, with the step's fields sent
    along (anything at all in them): the visit's language follows, the
    fields are kept as a draft of what validation would show again, shown
    once, and no answer changes."""
    languages = installed_languages(app)
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    assert kiosk.post("/start").status_code == 303
    answered = data.draw(st.integers(0, len(qn.STEPS)), label="steps answered before")
    visit_id = session_value(kiosk, "visit")
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        visit.answers = sample_answers_for(qn.STEPS[:answered])
        visit.completed_steps = STEP_IDS[:answered]
        db.session.commit()
    step = qn.BUILT_IN.step(data.draw(st.sampled_from(STEP_IDS), label="step"))
    lang = data.draw(mostly(st.sampled_from(sorted(languages))), label="lang")
    pairs = [("lang", lang), ("draft_step", step.id), ("next", f"/visit/{step.id}")]
    pairs += data.draw(step_form(step), label="fields")
    how = data.draw(HOW, label="how")
    state = visit_state(app, visit_id)
    sent = send(kiosk, "/preferences", pairs, how)
    assert visit_state(app, visit_id) == state, "a new language changed the answers"
    language, draft = visit_language_and_draft(app, visit_id)
    assert_draft_is_clean(draft)
    if sent.too_large or not how.token_ok or sent.form.get("lang") not in languages:
        assert (language, draft) == ("en", None)
        return
    assert sent.status == 303
    draft_step = qn.BUILT_IN.step(sent.form.get("draft_step", ""))
    assert language == sent.form.get("lang")
    if draft_step is None:
        assert draft is None
        return
    assert draft == {"step": draft_step.id, "values": draft_step.validate(sent.form).values}
    page = kiosk.get(f"/visit/{draft_step.id}")
    assert page.status_code in (200, 303)
    event(f"{language}: a draft, {'shown' if page.status_code == 200 else 'kept'}")
    if page.status_code == 200:  # shown once
        assert visit_language_and_draft(app, visit_id)[1] is None
    else:  # a step not open yet: kept for when it is
        assert visit_language_and_draft(app, visit_id)[1] == draft
    assert visit_state(app, visit_id) == state


@pytest.mark.parametrize("next_page", [*HOSTILE_PATHS, *LOCAL_PATHS])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_next_leads_back_only_to_a_page_of_this_site(app, next_page, htmx):
    """Every path in the list, every run: a new language (htmx or not)
    reloads the page named by `next` if it is on this site, else Welcome."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    how = How(htmx=htmx)
    sent = send(kiosk, "/preferences", [("lang", "en"), ("text_size", "150"), ("next", next_page)], how)
    assert sent.status == 303
    check_preferences(sent, how, {}, preferences_of(kiosk), installed_languages(app))
    follow(kiosk, sent, how)


@pytest.mark.parametrize("text_size", ["\u00b2", "\u2460"])
def test_a_text_size_in_digits_int_cannot_read_is_ignored(app, text_size):
    """ "²" and "①" are digits to str.isdigit(), not to int(): ignored, not a 500."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    sent = send(kiosk, "/preferences", [("text_size", text_size)], How())
    assert sent.status == 303 and preferences_of(kiosk) == {}


@pytest.mark.parametrize("next_page", ["//evil[", "http://[", "/\t/[x", "//[::1"])
def test_a_next_path_that_is_no_url_goes_to_welcome(app, next_page):
    """Not a URL at all (urlsplit refuses it, "Invalid IPv6 URL"): Welcome, not a 500."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    sent = send(kiosk, "/preferences", [("next", next_page)], How())
    assert (sent.status, sent.response.headers.get("Location")) == (303, "/")


# --- the patient flow, as a state machine ---------------------------------------------------------


def alert_rows(app, visit_id: str | None) -> dict[int, tuple[list[str], bool]]:
    """This visit's alerts: id: (signs, acknowledged)."""
    if not visit_id:
        return {}
    with app.app_context():
        query = select(Alert).where(Alert.visit_id == visit_id)
        return {a.id: (list(a.signs), a.acknowledged_at is not None) for a in db.session.scalars(query)}


def expected_alerts(before: dict[int, tuple[list[str], bool]], reported: list[str]) -> dict | None:
    """The visit's alerts once the safety check reports `reported`: the open
    alert holds every sign said so far ("some" only while none is said);
    with none open, signs the desk has not seen yet raise a new one (None:
    one new alert, with exactly `reported`)."""
    if not reported:
        return before
    open_alerts = [i for i, (_, acknowledged) in before.items() if not acknowledged]
    if open_alerts:
        (alert_id,) = open_alerts
        said = {*before[alert_id][0], *reported}
        return {**before, alert_id: ([s for s in SIGN_IDS if s in said] or [SOME], False)}
    seen = {sign for signs, _ in before.values() for sign in signs}
    return before if set(reported) <= seen else None


def tap_the_safety_check(app, kiosk: Kiosk, answer: list[str], which: str, how: How) -> Sent:
    """Post the safety list as the screen does, on an open visit, and check
    what is stored, where the patient goes and what the desk is told."""
    visit_id = session_value(kiosk, "visit")
    before = visit_state(app, visit_id)
    assert before is not None and before[2] is None
    alerts = alert_rows(app, visit_id)
    pairs = [(SIGNS.id, value) for value in answer] + ([("which", which)] if which else [])
    sent = send(kiosk, f"/visit/{qn.SAFETY.id}", pairs, how)
    stored, why = expected_signs(answer)
    if why:
        assert sent.status == to_fix(422, how)
        assert visit_state(app, visit_id) == before
        assert alert_rows(app, visit_id) == alerts
        return sent
    assert sent.status == 303
    assert visit_state(app, visit_id)[0][SIGNS.id] == stored
    values = {SIGNS.id: stored}
    assert location(sent) == where_next(qn.SAFETY, values, which, False, False)
    expected = expected_alerts(alerts, reported_signs(values))
    after = alert_rows(app, visit_id)
    if expected is None:
        new = {i: a for i, a in after.items() if i not in alerts}
        assert {i: after[i] for i in alerts} == alerts
        assert list(new.values()) == [(reported_signs(values), False)], (alerts, after)
    else:
        assert after == expected, (alerts, stored, after)
    return sent


def acknowledge_every_alert(app) -> None:
    """The desk acknowledges every open alert."""
    with app.app_context():
        for alert in db.session.scalars(select(Alert).where(Alert.acknowledged_at.is_(None))):
            alert.acknowledged_at, alert.acknowledged_by = models.utcnow(), "maria"
        db.session.commit()


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@fuzz_settings(60)
@given(
    taps=st.lists(
        st.tuples(valid_values(SIGNS), st.sampled_from(["", "", "1"]), st.booleans(), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_the_desk_hears_every_sign_in_one_open_alert(app, taps):
    """One patient answers the safety list again and again (Back, the
    "which signs?" screen), while the desk now and then acknowledges: one
    open alert a visit, holding every sign said ("some" only until one is),
    and a new alert only for signs the desk has not seen."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    assert kiosk.post("/start").status_code == 303
    for answer, which, htmx, acknowledge in taps:
        if acknowledge:
            acknowledge_every_alert(app)
        sent = tap_the_safety_check(app, kiosk, answer, which, How(htmx=htmx))
        follow(kiosk, sent, How(htmx=htmx))
        alerts = alert_rows(app, session_value(kiosk, "visit"))
        still_open = [signs for signs, acknowledged in alerts.values() if not acknowledged]
        event(
            f"{len(alerts)} alerts; open: {'none' if not still_open else 'some' if still_open == [[SOME]] else 'signs'}"
        )
    assert_nothing_invalid_is_stored(app, {session_value(kiosk, "visit")})


def test_the_patient_flow_under_fuzzed_taps(app):
    """Welcome preferences, Start, every step, Finish and Reset, posted in
    any order with anything in them: answers stay valid at every moment, a
    finished visit never changes, the desk hears of every sign reported, and
    Finish makes a handout only from a visit whose answers all validate."""
    languages = installed_languages(app)

    class PatientFlow(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.kiosk = Kiosk(app.test_client())
            self.kiosk.get("/")
            self.finished: dict[str, dict] = {}  # visit id: its answers when it finished
            self.visits: set[str | None] = set()  # every visit this kiosk had

        def visit_id(self) -> str | None:
            return session_value(self.kiosk, "visit")

        def post(self, url: str, pairs: list, how: How) -> Sent:
            sent = send(self.kiosk, url, pairs, how)
            follow(self.kiosk, sent, how)
            self.visits.add(self.visit_id())
            return sent

        def refused(self, sent: Sent, how: How) -> bool:
            """Check a refusal for a too-large body or a bad token; True if refused."""
            if sent.too_large:
                assert sent.status == 413
                return True
            if not how.token_ok:
                assert sent.status == 400
                return True
            return False

        @rule(data=st.data(), how=HOW)
        def preferences(self, data, how):
            """A setting tapped, on Welcome or mid-visit (kiosk.js then sends
            the step's fields along, to keep them over a new language)."""
            pairs = data.draw(preference_form(), label="preferences")
            if data.draw(st.booleans(), label="with a step's fields"):
                step = qn.BUILT_IN.step(data.draw(st.sampled_from(STEP_IDS), label="step"))
                pairs += [("draft_step", step.id), *data.draw(step_form(step), label="fields")]
            visit_id = self.visit_id()
            state = visit_state(app, visit_id)
            language, draft = visit_language_and_draft(app, visit_id) or (None, None)
            before = preferences_of(self.kiosk)
            sent = send(self.kiosk, "/preferences", pairs, how)
            check_preferences(sent, how, before, preferences_of(self.kiosk), languages)
            assert visit_state(app, visit_id) == state, "a preference changed the answers"
            lang, draft_step = sent.form.get("lang"), qn.BUILT_IN.step(sent.form.get("draft_step", ""))
            if state is None:
                pass
            elif lang in languages and state[2] is None and sent.status == 303:
                # The handout follows the language; the screen's fields are kept.
                if draft_step:
                    values = draft_step.validate(sent.form).values
                    draft = {"step": draft_step.id, "values": values}
                assert visit_language_and_draft(app, visit_id) == (lang, draft)
            else:
                assert visit_language_and_draft(app, visit_id) == (language, draft)
            follow(self.kiosk, sent, how)

        @rule(pairs=EXTRA_FIELDS, how=HOW)
        def start(self, pairs, how):
            old = self.visit_id()
            old_state = visit_state(app, old)
            sent = self.post("/start", pairs, how)
            if self.refused(sent, how):
                assert self.visit_id() == old
                assert visit_state(app, old) == old_state
                return
            assert sent.status == 303
            assert sent.response.headers["Location"] == f"/visit/{qn.STEPS[0].id}"
            new = self.visit_id()
            assert new != old
            assert visit_state(app, new) == ({}, [], None)
            if old_state is not None:
                assert visit_state(app, old) == (old_state if old_state[2] else None)

        @rule(data=st.data(), how=HOW)
        def post_a_step(self, data, how):
            step = qn.BUILT_IN.step(data.draw(st.sampled_from(STEP_IDS), label="step"))
            pairs = data.draw(step_form(step), label="fields")
            visit_id = self.visit_id()
            before = visit_state(app, visit_id)
            sent = self.post(f"/visit/{step.id}", pairs, how)
            after = visit_state(app, visit_id)
            if sent.too_large:
                assert sent.status == 413
            elif not how.token_ok:
                assert sent.status == (400 if before is None else to_fix(400, how))
            elif before is None or before[2] is not None:
                assert location(sent) == (("/", {"ended": ["1"]}) if before is None else ("/visit/done", {}))
            elif not set(STEP_IDS[: STEP_IDS.index(step.id)]) <= set(before[1]):
                assert sent.status == to_fix(409, how)
            else:
                ok = step.validate(sent.form).ok
                assert sent.status == (303 if ok else to_fix(422, how)), sent.status
            if sent.status != 303 or before is None or before[2] is not None:
                assert after == before

        @rule(answers=st.fixed_dictionaries({q.id: valid_values(q) for q in qn.BUILT_IN.fields()}))
        def answer_the_open_step(self, answers):
            state = visit_state(app, self.visit_id())
            if state is None or state[2] is not None:
                return
            step = next((s for s in qn.STEPS if s.id not in state[1]), None)
            if step is None:
                return
            pairs = [(q.id, v) for q in step.fields() for v in answers[q.id]]
            sent = self.post(f"/visit/{step.id}", pairs, How())
            expected = step.validate(MultiDict(pairs))
            assert sent.status == (413 if sent.too_large else 303 if expected.ok else 422)

        @rule(answer=valid_values(SIGNS), which=st.sampled_from(["", "1"]), htmx=st.booleans())
        def tell_the_safety_check(self, answer, which, htmx):
            state = visit_state(app, self.visit_id())
            if state is None or state[2] is not None:
                assert self.post("/start", [], How()).status == 303
            how = How(htmx=htmx)
            follow(self.kiosk, tap_the_safety_check(app, self.kiosk, answer, which, how), how)
            self.visits.add(self.visit_id())

        @rule()
        def the_desk_acknowledges_the_alerts(self):
            acknowledge_every_alert(app)

        @rule(then_finish=st.booleans())
        def answer_everything_as_the_sample(self, then_finish):
            state = visit_state(app, self.visit_id())
            if state is None or state[2] is not None:
                assert self.post("/start", [], How()).status == 303
            for step in qn.STEPS:
                pairs = [(q, v) for q, values in form_pairs(step) for v in values]
                sent = self.post(f"/visit/{step.id}", pairs, How())
                assert sent.status == 303, (step.id, sent.status)
            if then_finish:
                sent = self.post("/visit/finish", [], How())
                assert sent.response.headers["Location"] == "/visit/done"
                self.finished[self.visit_id()] = visit_state(app, self.visit_id())[0]

        @rule(step_id=st.sampled_from(STEP_IDS))
        def change_an_answer_after_finishing(self, step_id):
            step = qn.BUILT_IN.step(step_id)
            visit_id = self.visit_id()
            before = visit_state(app, visit_id)
            if before is None or before[2] is None:
                return
            alerts = alert_rows(app, visit_id)
            changed = {
                SIGNS.id: ["bladder"],
                "spine_region": "neck",
                "reasons": ["other"],
                "reasons_other": "Changed",
                "records_requested": "yes",
                "own_question_1": "Changed?",
                "companion": "alone",
            }
            pairs = [(q, v) for q, values in form_pairs(step, changed) for v in values]
            sent = self.post(f"/visit/{step.id}", pairs, How())
            assert (sent.status, sent.response.headers.get("Location")) == (303, "/visit/done")
            assert visit_state(app, visit_id) == before, "a finished visit changed"
            assert alert_rows(app, visit_id) == alerts, "a finished visit alerted the desk"

        @rule(pairs=EXTRA_FIELDS, how=HOW)
        def finish(self, pairs, how):
            visit_id = self.visit_id()
            before = visit_state(app, visit_id)
            sent = self.post("/visit/finish", pairs, how)
            after = visit_state(app, visit_id)
            assert (after or before or ())[:2] == (before or ())[:2], "Finish changed the answers"
            if self.refused(sent, how):
                return
            assert sent.status == 303
            location = sent.response.headers["Location"]
            if before is None:
                assert location == "/?ended=1"
                return
            answers, completed, _ = before
            complete = all(
                s.id in completed and s.validate(visits._StoredAnswers(answers)).ok for s in qn.STEPS
            )
            with app.app_context():
                handout = db.session.scalar(select(Handout).where(Handout.visit_id == visit_id))
            if complete:
                assert location == "/visit/done"
                assert handout is not None
                self.finished.setdefault(visit_id, answers)
            else:
                assert location.startswith("/visit/") and location != "/visit/done", location
                assert handout is None

        @rule(pairs=EXTRA_FIELDS, how=HOW)
        def reset(self, pairs, how):
            visit_id = self.visit_id()
            before = visit_state(app, visit_id)
            sent = self.post("/reset", pairs, how)  # allowed without a token, on purpose
            assert sent.status == 303
            assert sent.response.headers["Location"] == "/"
            assert self.visit_id() is None
            if before is not None:
                assert visit_state(app, visit_id) == (before if before[2] else None)

        @rule(path=st.sampled_from(PATIENT_PAGES), htmx=st.booleans())
        def look(self, path, htmx):
            _, draft = visit_language_and_draft(app, self.visit_id()) or (None, None)
            response = self.kiosk.get(path, headers={"HX-Request": "true"} if htmx else {})
            assert response.status_code < 500, (path, response.status_code)
            if draft and path == f"/visit/{draft['step']}" and response.status_code == 200:
                assert visit_language_and_draft(app, self.visit_id())[1] is None, "a draft shown twice"
            follow(self.kiosk, Sent(response, False, MultiDict(), MultiDict()), How(htmx=htmx))

        @rule(path=st.sampled_from(sorted(NO_PAGES)), htmx=st.booleans())
        def look_for_no_page(self, path, htmx):
            response = self.kiosk.get(path, headers={"HX-Request": "true"} if htmx else {})
            assert response.status_code == NO_PAGES[path], (path, response.status_code)

        @rule(
            segment=TEXT
            | st.sampled_from(["review", "urgent", "done", "support", "Safety", "", "safety/", "..", "%2e"]),
            how=HOW,
        )
        def post_to_no_step(self, segment, how):
            if segment in STEP_IDS or segment == "finish":
                return
            before = visit_state(app, self.visit_id())
            alerts = alert_rows(app, self.visit_id())
            sent = self.post("/visit/" + _q(segment), [(SIGNS.id, SOME)], how)
            # Not routed, so neither the token nor the size is looked at: an
            # unknown step is no page (404); review, urgent and done take GET only.
            expected = (405,) if segment in ("review", "urgent", "done") else (404,)
            assert sent.status in expected, sent.status
            assert visit_state(app, self.visit_id()) == before
            assert alert_rows(app, self.visit_id()) == alerts

        @invariant()
        def nothing_invalid_is_stored(self):
            assert_nothing_invalid_is_stored(app, self.visits - {None})
            for visit_id, answers in self.finished.items():
                state = visit_state(app, visit_id)
                assert state is not None and state[0] == answers, "a finished visit changed"

    run_state_machine_as_test(PatientFlow, settings=fuzz_settings(20, stateful_step_count=25))


@pytest.mark.parametrize("segment", ["support", "Safety", "0"])
def test_a_post_to_an_unknown_step_is_not_found(app, segment):
    """Only known step ids are routed: an unknown one is no page, whatever
    the method (405 says a GET would do, and a GET is 404)."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    assert send(kiosk, f"/visit/{segment}", [(SIGNS.id, NONE)], How()).status == 404


@pytest.mark.parametrize(
    "method, url", [("get", "/visit/support"), ("get", "/nowhere"), ("post", "/visit/review")]
)
def test_a_url_no_blueprint_answers_gets_the_kiosks_calm_page(app, method, url):
    """An unrouted URL (a step id that is no step, too) gets the kiosk's own
    screen from kiosk/errors.py, not its bare fallback: the page layout's
    settings reach app-level error pages too."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    response = getattr(kiosk.client, method)(url, data={"csrf_token": kiosk.token})
    assert response.status_code in (404, 405)
    assert 'id="screen"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "method, url", [("get", "/visit/%0D"), ("post", "/visit/a%0Ab"), ("get", "/enroll/%0D%0A")]
)
def test_an_htmx_request_for_a_path_with_a_line_break_gets_a_calm_answer(app, method, url):
    """An error page pushes the path it was asked for (a step id that is no
    step is not routed at all now, so its page pushes none): quoted, a line
    break is a valid header."""
    kiosk = Kiosk(app.test_client())
    kiosk.get("/")
    response = getattr(kiosk.client, method)(
        url, headers={"HX-Request": "true"}, data={"csrf_token": kiosk.token}
    )
    assert response.status_code == 404
    assert not any(set("\r\n") & set(value) for _, value in response.headers.items())
    if url.startswith("/enroll/"):
        assert response.headers["HX-Push-Url"] == "/enroll/%0D%0A"


def form_pairs(step: qn.Step, changes: dict[str, Any] | None = None) -> list[tuple[str, list[str]]]:
    """The sample answers for one step (with `changes`) as form fields."""
    answers = {**SAMPLE_ANSWERS, **(changes or {})}
    pairs = []
    for question in step.fields():
        value = answers.get(question.id)
        values = value if isinstance(value, list) else [value] if value else []
        pairs.append((question.id, values))
    return pairs


# --- the desk: shared set-up ------------------------------------------------------------------


def make_handout(app) -> int:
    """A finished visit with the sample answers; its handout is still to be rendered."""
    with app.app_context():
        visit = visits.start_visit(kiosk="Test kiosk", language="en")
        visit.answers = sample_answers_for(qn.STEPS)
        visit.completed_steps = list(STEP_IDS)
        db.session.commit()
        return visits.finish_visit(visit).id


def sign_in_again_if_needed(app, desk: Desk, username: str) -> None:
    """Sign `desk` in as `username` unless its session is still open."""
    if desk.get("/desk/").status_code == 200:
        return
    with app.app_context():
        db.session.execute(delete(SignInFailure))
        db.session.commit()
    assert desk.sign_in(username).status_code == 302


def desk_outcome(sent: Sent, how: How, segment: str, exists: bool, *, forbidden: bool = False) -> str:
    """Check the status every desk action shares; return "done" when the
    action itself ran, else why not."""
    target = routed_id(segment)
    if target is None:
        assert sent.status in (308, 404, 405), sent.status
        return "no route"
    if sent.too_large:
        assert sent.status == 413
        return "too large"
    if not how.token_ok:
        assert sent.status == 400
        return "bad token"
    if forbidden:
        assert sent.status == 403
        return "not an admin"
    if not exists:
        assert sent.status == 404
        return "not found"
    return "done"


@dataclass
class World:
    """A desk's day: handouts ready, preparing and failed, print jobs in
    every state that matters, open alerts, two printers besides the folder."""

    ready: int
    preparing: int
    failed: int
    jobs: dict[int, str] = field(default_factory=dict)
    alerts: list[int] = field(default_factory=list)

    @property
    def handouts(self) -> dict[int, str]:
        return {
            self.ready: HandoutState.READY,
            self.preparing: HandoutState.PREPARING,
            self.failed: HandoutState.FAILED,
        }


@pytest.fixture
def world(app, staff) -> World:
    ready = make_handout(app)
    run_worker(app)
    world = World(ready=ready, preparing=make_handout(app), failed=make_handout(app))
    with app.app_context():
        db.session.add_all(
            [
                Printer(name="front-desk", label="Front desk laser", state="idle"),
                Printer(
                    name="\u00e9tage-2 \u2713",
                    label="\u00c9tage 2 \u2014 couleur",
                    state="paused",
                    listed=False,
                ),
            ]
        )
        states = [
            PrintState.FAILED,
            PrintState.WAITING,
            PrintState.QUEUED,
            PrintState.COMPLETED,
            PrintState.HELD,
        ]
        jobs = [
            PrintJob(handout_id=ready, printer="front-desk", state=s, requested_by="maria") for s in states
        ]
        alerts = [
            Alert(visit_id=None, kiosk="Test kiosk", signs=["bladder"]),
            Alert(visit_id=None, kiosk="Test kiosk", signs=["fever", "cancer"]),
            Alert(visit_id=None, kiosk="Test kiosk", signs=["leg_weakness"]),
        ]
        db.session.add_all([*jobs, *alerts])
        db.session.commit()
        world.jobs = {job.id: job.state for job in jobs}
        world.alerts = [alert.id for alert in alerts]
    restore(app, world)
    return world


HANDED_OVER_AT = datetime(2026, 1, 2, 9, 30)


def restore(app, world: World) -> None:
    """Put the world back as it was before the last example."""
    with app.app_context():
        for handout_id, state in world.handouts.items():
            handout = db.session.get(Handout, handout_id)
            handout.state = state
            handout.error = "made to fail for the test" if state == HandoutState.FAILED else ""
            handout.handed_over_at = handout.handed_over_by = None
            if handout_id == world.preparing:  # handed over already, by someone else
                handout.handed_over_at, handout.handed_over_by = HANDED_OVER_AT, "boss"
        for job_id, state in world.jobs.items():
            job = db.session.get(PrintJob, job_id)
            job.state, job.reason = state, "Printer on fire" if state == PrintState.FAILED else ""
        db.session.execute(delete(PrintJob).where(PrintJob.id.not_in(list(world.jobs))))
        for alert_id in world.alerts:
            alert = db.session.get(Alert, alert_id)
            alert.acknowledged_at = alert.acknowledged_by = None
        db.session.commit()


def desk_state(app) -> dict[str, Any]:
    with app.app_context():
        return {
            "handouts": {
                s.id: (s.state, s.handed_over_by, s.handed_over_at)
                for s in db.session.scalars(select(Handout)).all()
            },
            "jobs": {
                j.id: (j.handout_id, j.printer, j.state, j.requested_by)
                for j in db.session.scalars(select(PrintJob))
            },
            "alerts": {a.id: a.acknowledged_by for a in db.session.scalars(select(Alert))},
        }


def offered_printers(desk: Desk, handout_id: int) -> set[str]:
    page = desk.get(f"/desk/handouts/{handout_id}").get_data(as_text=True)
    select_box = re.search(r'<select[^>]*name="printer".*?</select>', page, re.S)
    assert select_box, "no printer list on a ready handout"
    return {html.unescape(v) for v in re.findall(r'<option[^>]*value="([^"]*)"', select_box.group(0))}


# --- desk: sign-in and look-up ------------------------------------------------------------------

SAFE_DESK_PATH = r"/desk(/[A-Za-z0-9_\-/]*)?"
ACCOUNT_NAMES = ["maria", "boss", "gone"]
NAME_SPELLINGS = st.builds(
    "{}{}{}".format,
    st.sampled_from(["", " ", "\t", "\u00a0", "\u200b", "\n"]),
    st.sampled_from(ACCOUNT_NAMES) | st.sampled_from(ACCOUNT_NAMES).map(str.upper),
    st.sampled_from(["", " ", "\u3000", "\x00", "\u200b"]),
)
PASSWORD_SPELLINGS = st.sampled_from(
    [STAFF_PASSWORD, STAFF_PASSWORD + " ", " " + STAFF_PASSWORD, STAFF_PASSWORD.upper(), STAFF_PASSWORD[:-1]]
)
NEXT = mostly(
    st.sampled_from(
        [
            "",
            "/desk/",
            "/desk/staff",
            "//evil.example/",
            "https://evil.example/desk",
            "/desk/../x",
            "/desk\r\nX: y",
        ]
    ),
    TEXT,
)


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@fuzz_settings(120)
@given(
    usernames=one_or_more(mostly(NAME_SPELLINGS)),
    passwords=one_or_more(mostly(st.just(STAFF_PASSWORD), PASSWORD_SPELLINGS | VALUE)),
    extra=EXTRA_FIELDS,
    how=HOW,
    next_page=NEXT,
)
def test_sign_in_lets_in_only_the_right_password(app, staff, usernames, passwords, extra, how, next_page):
    with app.app_context():
        if db.session.scalar(select(Staff).where(Staff.username == "gone")) is None:
            gone = auth.create_staff("gone", STAFF_PASSWORD)
            auth.set_active(gone, False, by="boss")
        db.session.execute(delete(SignInFailure))  # each example gets its password checked
        db.session.commit()
        accounts_before = {
            s.username: (s.password_hash, s.active, s.is_admin) for s in db.session.scalars(select(Staff))
        }
    desk = Desk(app.test_client())
    desk.get("/desk/sign-in")
    pairs = [("username", u) for u in usernames] + [("password", p) for p in passwords] + extra
    query = f"next={_q(next_page)}" if next_page else ""
    sent = send(desk, "/desk/sign-in" + (f"?{query}" if query else ""), pairs, how)
    assert sent.status in (200, 302, 400, 401, 413, 429), sent.status

    username, password = sent.first("username", ""), sent.first("password", "")
    event(f"status {sent.status}")
    right = (
        isinstance(username, str)
        and auth.normalise_username(username) in ("maria", "boss")
        and len(username) <= 80
        and isinstance(password, str)
        and auth.normalise_password(password) == STAFF_PASSWORD  # as typed on any keyboard
    )
    if sent.status == 302:
        assert right, (username, password)
        location = sent.response.headers["Location"]
        assert re.fullmatch(SAFE_DESK_PATH, location), location
        wanted = read_back(b"", query=query).args.get("next", "")
        if not re.fullmatch(SAFE_DESK_PATH, wanted):
            assert location == "/desk/"
        admin = auth.normalise_username(username) == "boss"
        assert desk.get(location).status_code in ((200,) if admin else (200, 403, 404)), location
    elif how.token_ok and not sent.too_large:
        assert not right, f"the right password was refused ({sent.status})"
    with app.app_context():
        typed = db.session.scalars(select(SignInFailure.username)).all()
        typed += db.session.scalars(select(models.AuditEvent.staff)).all()
        assert not any(has_control_characters(name) for name in typed), typed
        accounts_after = {
            s.username: (s.password_hash, s.active, s.is_admin) for s in db.session.scalars(select(Staff))
        }
    assert accounts_after == accounts_before


@fuzz_settings(100)
@given(data=st.data())
def test_look_up_finds_only_the_code_asked_for(app, desk, world, data):
    with app.app_context():
        codes = {s.claim_code: s.id for s in db.session.scalars(select(Handout))}
    code = st.sampled_from(sorted(codes))
    spelt = st.one_of(
        code,
        code.map(str.lower),
        code.map(lambda c: f" {c[:2]} {c[2:]}\t"),
        code.map(lambda c: c + "\u200b"),
        code.map(lambda c: c.translate({ord(ch): ord(ch) + 0xFEE0 for ch in c})),
        code.map(lambda c: c.replace("2", "Z").replace("5", "S")),
        code.map(lambda c: c + "A"),
        code.map(lambda c: c[1:]),
        st.sampled_from(["", "    ", "O0I1", "ssss", "\u00df\u00df", "K7P2K7P2K7P2K"]),
        VALUE,
    )
    values = data.draw(st.lists(spelt, max_size=2), label="code values")
    extra = data.draw(st.lists(st.tuples(FIELD_NAME, VALUE), max_size=2), label="other parameters")
    query = "&".join(f"{_q(name)}={_q(value)}" for name, value in [("code", v) for v in values] + extra)
    for path in ("/desk/lookup", "/desk/"):
        response = desk.get(f"{path}?{query}")
        assert response.status_code < 500, (path, response.status_code)
    assert response.status_code == 200  # the queue, with the code typed kept in its box
    response = desk.get(f"/desk/lookup?{query}")
    assert response.status_code == 302
    location = response.headers["Location"]
    first = read_back(b"", query=query).args.get("code")
    if first is not None and first.strip() and len(first) <= 12:
        expected = codes.get("".join(first.split()).upper())
        assert location == (f"/desk/handouts/{expected}" if expected else "/desk/"), (first, location)
    else:
        assert location == "/desk/", (first, location)
    assert desk.get(location).status_code == 200


# --- desk: one handout ------------------------------------------------------------------------


@fuzz_settings(100)
@given(data=st.data())
def test_print_goes_only_to_a_printer_offered(app, desk, world, data):
    restore(app, world)
    offered = offered_printers(desk, world.ready)
    segment = data.draw(
        either(
            st.just(str(world.ready)),
            st.just(str(world.ready)),
            st.sampled_from([str(world.preparing), str(world.failed)]),
            path_segment(list(world.handouts)),
        ),
        label="handout id",
    )
    printers = data.draw(
        one_or_more(
            either(
                st.sampled_from(sorted(offered)),
                st.sampled_from(sorted(offered)),
                st.sampled_from(sorted(offered)).map(lambda p: p.upper() + " "),
                st.sampled_from(["", "directory ", "../../etc", "front-desk\x00", "nowhere", "\u00e9tage-2"]),
                VALUE,
            )
        ),
        label="printer values",
    )
    pairs = [("printer", p) for p in printers] + data.draw(EXTRA_FIELDS, label="extra")
    how = data.draw(HOW, label="how")
    before = desk_state(app)
    sent = send(desk, f"/desk/handouts/{_q(segment)}/print", pairs, how)
    after = desk_state(app)
    target = routed_id(segment)
    outcome = desk_outcome(sent, how, segment, target in before["handouts"])
    new_jobs = {i: j for i, j in after["jobs"].items() if i not in before["jobs"]}
    assert {i: after["jobs"][i] for i in before["jobs"]} == before["jobs"]
    assert len(new_jobs) <= 1
    for handout_id, printer, state, requested_by in new_jobs.values():
        assert printer in offered, f"a job for {printer!r}, which was not offered"
        assert (handout_id, state, requested_by) == (world.ready, PrintState.QUEUED, "maria")
    if outcome == "done":
        assert sent.status == (200 if how.htmx else 302)
        wanted = sent.first("printer")
        expected = target == world.ready and isinstance(wanted, str) and wanted in offered
        assert bool(new_jobs) == expected, (wanted, offered)
    else:
        assert not new_jobs
    assert after["handouts"] == before["handouts"] and after["alerts"] == before["alerts"]
    follow(desk, sent, how)


ACTIONS = {
    "retry a print job": "/desk/jobs/{}/retry",
    "retry a handout": "/desk/handouts/{}/retry",
    "hand over": "/desk/handouts/{}/handed-over",
    "acknowledge an alert": "/desk/alerts/{}/acknowledge",
}


@fuzz_settings(150)
@given(data=st.data())
def test_desk_actions_change_only_the_row_they_name(app, desk, world, data):
    """Retry a print, retry a handout, hand over, acknowledge an alert: with
    any id in the URL and anything in the form, only the row named by a real
    id changes, and only as that action may change it."""
    restore(app, world)
    action = data.draw(st.sampled_from(sorted(ACTIONS)), label="action")
    rows = {
        "retry a print job": list(world.jobs),
        "retry a handout": list(world.handouts),
        "hand over": list(world.handouts),
        "acknowledge an alert": world.alerts,
    }[action]
    segment = data.draw(row_id(rows), label="id")
    how = data.draw(either(HOW, ANY_HOW), label="how")
    pairs = data.draw(EXTRA_FIELDS, label="fields")
    before = desk_state(app)
    sent = send(desk, ACTIONS[action].format(_q(segment)), pairs, how)
    after = desk_state(app)
    target = routed_id(segment)
    expected = {key: dict(value) for key, value in before.items()}
    if action == "retry a print job":
        exists = target in before["jobs"]
        if exists and before["jobs"][target][2] in (PrintState.FAILED, PrintState.WAITING):
            expected["jobs"][target] = (
                *before["jobs"][target][:2],
                PrintState.QUEUED,
                before["jobs"][target][3],
            )
    elif action == "acknowledge an alert":
        exists = target in before["alerts"]
        if exists:
            expected["alerts"][target] = before["alerts"][target] or "maria"
    else:
        exists = target in before["handouts"]
        state, handed_over_by, handed_over_at = before["handouts"].get(target, (None, None, None))
        if exists and action == "retry a handout" and state == HandoutState.FAILED:
            expected["handouts"][target] = (HandoutState.PREPARING, handed_over_by, handed_over_at)
        if exists and action == "hand over" and handed_over_by is None:
            expected["handouts"][target] = (state, "maria", after["handouts"][target][2] or "a time")
    outcome = desk_outcome(sent, how, segment, exists)
    note(f"{action} {segment!r}: {outcome}")
    if outcome == "done":
        htmx_answers = action != "hand over" and how.htmx
        assert sent.status == (200 if htmx_answers else 302), sent.status
        assert after == expected
    else:
        assert after == before
    follow(desk, sent, how)


@fuzz_settings(80)
@given(data=st.data())
def test_delete_removes_only_the_handout_named(app, desk, data):
    with app.app_context():
        existing = list(db.session.scalars(select(Handout.id)))
    for _ in range(3 - len(existing)):
        existing.append(make_handout(app))
    segment = data.draw(row_id(existing), label="id")
    how = data.draw(HOW, label="how")
    pairs = data.draw(EXTRA_FIELDS, label="fields")
    with app.app_context():
        before = {s.id: s.visit_id for s in db.session.scalars(select(Handout))}
    sent = send(desk, f"/desk/handouts/{_q(segment)}/delete", pairs, how)
    with app.app_context():
        after = {s.id: s.visit_id for s in db.session.scalars(select(Handout))}
        visits_left = set(db.session.scalars(select(Visit.id)))
    target = routed_id(segment)
    outcome = desk_outcome(sent, how, segment, target in before)
    if outcome == "done":
        assert sent.status == 302
        assert after == {i: v for i, v in before.items() if i != target}
        assert before[target] not in visits_left, "the answers outlived their handout"
    else:
        assert after == before
    follow(desk, sent, how)


# --- desk: staff accounts (admin) -------------------------------------------------------------


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _valid_username(name: str) -> bool:
    return (
        0 < len(name) <= 80
        and name == name.strip().lower()
        and all(ch.isalnum() or ch in "._-" for ch in name)
    )


def accounts(app) -> dict[int, tuple]:
    with app.app_context():
        return {
            s.id: (s.username, s.password_hash, s.is_admin, s.active)
            for s in db.session.scalars(select(Staff))
        }


GOOD_USERNAMES = either(
    st.text(st.sampled_from(string.ascii_letters + string.digits + "._-"), min_size=1, max_size=12),
    st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8),
)
ODD_USERNAMES = either(
    st.text(st.sampled_from(string.ascii_letters + string.punctuation + " "), min_size=2, max_size=10),
    st.text(st.characters(categories=["L", "N", "M", "Zs", "Cc", "Cf", "So"]), min_size=1, max_size=8),
    st.sampled_from(
        ["maria", "MARIA", " boss ", "new user", "a" * 80, "a" * 81, "\u0130stanbul", "jos\u00e9", "a\x00b"]
    ),
    VALUE,
)
GOOD_PASSWORDS = either(
    st.just(""),  # one is made up and shown
    st.text(min_size=12, max_size=24),
    st.text(st.sampled_from(string.ascii_letters + " "), min_size=12, max_size=24),
)
ODD_PASSWORDS = either(
    st.text(min_size=1, max_size=11),
    st.text(st.sampled_from(" \t\n\u00a0\u3000"), min_size=12, max_size=20),
    st.sampled_from(["password1234", "Password1234", "qwertyuiopas", " " * 11 + "x", "x" * 200, "x" * 201]),
    VALUE,
)


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@fuzz_settings(150)
@given(data=st.data())
def test_new_staff_accounts_always_have_a_valid_name_and_password(app, admin_desk, desk, data):
    with app.app_context():  # accounts made by earlier examples go
        db.session.execute(delete(Staff).where(Staff.username.not_in(["maria", "boss"])))
        db.session.commit()
    who = data.draw(st.sampled_from(["boss"] * 4 + ["maria"]), label="signed in as")
    session = admin_desk if who == "boss" else desk
    sign_in_again_if_needed(app, session, who)
    odd = data.draw(st.sampled_from(["nothing", "username", "password", "both"]), label="odd")
    usernames = ODD_USERNAMES if odd in ("username", "both") else GOOD_USERNAMES
    passwords = ODD_PASSWORDS if odd in ("password", "both") else GOOD_PASSWORDS
    pairs = (
        [("username", v) for v in data.draw(one_or_more(usernames), label="username")]
        + [("password", v) for v in data.draw(one_or_more(passwords), label="password")]
        + [
            ("is_admin", v)
            for v in data.draw(st.lists(st.sampled_from(["y", "on", "false", ""]) | VALUE, max_size=2))
        ]
        + data.draw(EXTRA_FIELDS, label="extra")
    )
    how = data.draw(HOW, label="how")
    before = accounts(app)
    sent = send(session, "/desk/staff", pairs, how)
    after = accounts(app)
    event(f"{who}: {sent.status}")
    assert sent.status in (200, 400, 403, 413), sent.status
    assert {i: after[i] for i in before} == before, "an existing account changed"
    new = {i: a for i, a in after.items() if i not in before}
    assert len(new) <= 1
    for username, password_hash, _is_admin, active in new.values():
        assert sent.status == 200 and who == "boss"
        assert active
        assert _valid_username(username), f"an account named {username!r}"
        shown = re.search(r'<code class="password">([^<]*)</code>', sent.response.get_data(as_text=True))
        password = html.unescape(shown.group(1)) if shown else sent.first("password", "")
        assert password.strip(), "an account with a blank password"
        assert len(password) >= auth.MIN_PASSWORD_LENGTH, (
            f"an account with a {len(password)}-character password"
        )
        assert check_password_hash(password_hash, auth.normalise_password(password)), (
            "the account's password is not the one chosen"
        )
    if who == "maria" and how.token_ok and not sent.too_large:
        assert sent.status == 403
    follow(session, sent, how)


@pytest.mark.parametrize(
    "username, password, made",
    [
        ("new.user", "", True),
        ("\u043e\u043b\u044f", "correct horse battery staple", True),
        ("  Nurse_2 ", "correct horse battery staple", True),
        ("new user", "correct horse battery staple", False),
        ("new!", "correct horse battery staple", False),
        ("a" * 81, "correct horse battery staple", False),
        ("\u200b", "correct horse battery staple", False),
        ("blank", " " * 12, False),
        ("blank2", "\u3000" * 12, False),
        ("short", "x" * 11, False),
        ("long", "x" * 201, False),
        ("common", "password1234", False),
    ],
)
def test_a_staff_account_needs_a_valid_name_and_password(app, admin_desk, username, password, made):
    before = accounts(app)
    sent = send(admin_desk, "/desk/staff", [("username", username), ("password", password)], How())
    new = [a for i, a in accounts(app).items() if i not in before]
    assert (sent.status, len(new)) == ((200, 1) if made else (400, 0))
    for name, password_hash, *_ in new:
        assert _valid_username(name)
        assert check_password_hash(password_hash, password) or not password


@fuzz_settings(120)
@given(data=st.data())
def test_staff_account_actions_change_only_the_account_named(app, admin_desk, desk, data):
    with app.app_context():
        if db.session.scalar(select(Staff).where(Staff.username == "away")) is None:
            auth.create_staff("carlos", STAFF_PASSWORD)
            away = auth.create_staff("away", STAFF_PASSWORD)
            auth.set_active(away, False, by="boss")
        ids = {s.username: s.id for s in db.session.scalars(select(Staff))}
    who = data.draw(st.sampled_from(["boss"] * 4 + ["maria"]), label="signed in as")
    action = data.draw(st.sampled_from(["disable", "enable", "reset-password"]), label="action")
    # Often the admin's own account: they must not disable it.
    segment = data.draw(either(st.just(str(ids["boss"])), row_id(sorted(ids.values()))), label="id")
    how = data.draw(HOW, label="how")
    pairs = data.draw(EXTRA_FIELDS, label="fields")

    session = admin_desk if who == "boss" else desk
    with app.app_context():
        for member in db.session.scalars(select(Staff)):
            member.active = member.username != "away"
            member.password_hash = _quick_hash(STAFF_PASSWORD)
        db.session.commit()
    sign_in_again_if_needed(app, session, who)
    before = accounts(app)
    sent = send(session, f"/desk/staff/{_q(segment)}/{action}", pairs, how)
    after = accounts(app)
    target = routed_id(segment)
    outcome = desk_outcome(sent, how, segment, target in before, forbidden=who == "maria")
    expected = dict(before)
    if outcome == "done":
        assert sent.status == 200
        name, password_hash, is_admin, active = before[target]
        if action == "disable" and name != "boss":
            expected[target] = (name, password_hash, is_admin, False)
        elif action == "enable":
            expected[target] = (name, password_hash, is_admin, True)
        elif action == "reset-password":
            assert after[target][1] != password_hash, "the password did not change"
            expected[target] = after[target]
            assert after[target][0::2] == before[target][0::2] and after[target][3] == active
    assert after == expected
    assert after[ids["boss"]][3], "the admin disabled their own account"
    follow(session, sent, how)


FILE_FIELDS = [
    ("/desk/sign-in", "username"),
    ("/desk/sign-in", "password"),
    ("/desk/staff", "username"),
    ("/desk/staff", "password"),
    ("/desk/staff", "is_admin"),
    ("/desk/handouts/1/print", "printer"),
    ("/desk/kiosks", "name"),
    ("/desk/kiosks", "location"),
    ("/desk/kiosks", "auto_print_printer"),
]


@pytest.mark.parametrize("url, name", FILE_FIELDS)
def test_a_file_sent_in_a_desk_form_field_is_ignored(app, admin_desk, url, name):
    """A file part where a desk form has a text field or a choice: ignored,
    as if the field were missing; never a 500, never stored."""
    if url.endswith("/print"):
        make_handout(app)
        run_worker(app)
    session = Desk(app.test_client()) if url == "/desk/sign-in" else admin_desk
    session.get(url if url == "/desk/sign-in" else "/desk/")
    fields = {"username": "maria", "password": STAFF_PASSWORD}
    if url == "/desk/staff":
        fields = {"username": "newbie", "password": "a long enough password", "is_admin": "y"}
    if url.endswith("/print"):
        fields = {"printer": "directory"}
    if url == "/desk/kiosks":
        fields = {"name": "Waiting room 2", "location": "By the door", "auto_print_printer": ""}
    pairs = [(n, Upload(b"x" * 12) if n == name else v) for n, v in fields.items()]
    before = accounts(app)
    sent = send(session, url, pairs, How(encoding="multipart"))
    assert sent.status in (200, 302, 400)
    with app.app_context():
        assert db.session.scalar(select(PrintJob)) is None
    for _username, password_hash, is_admin, _active in (
        a for i, a in accounts(app).items() if i not in before
    ):
        assert not check_password_hash(password_hash, "x" * 12)
        assert not (is_admin and name == "is_admin")
    for kiosk_name, location, printer, *_ in kiosk_rows(app).values():
        assert "x" * 12 not in (kiosk_name, location, printer)


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@pytest.mark.parametrize(
    "url, name", [("/desk/sign-in", "username"), ("/desk/kiosks", "name"), ("/desk/kiosks", "location")]
)
def test_a_nul_in_desk_text_is_not_stored(app, admin_desk, url, name):
    """PostgreSQL refuses a NUL in text: names lose control characters first."""
    session = Desk(app.test_client()) if url == "/desk/sign-in" else admin_desk
    session.get(url if url == "/desk/sign-in" else "/desk/")
    fields = {"username": "maria", "password": "not the password"}
    if url == "/desk/kiosks":
        fields = {"name": "Waiting room 2", "location": "By the door", "auto_print_printer": ""}
    fields[name] = fields[name][:3] + "\x00\x1b" + fields[name][3:]
    sent = send(session, url, list(fields.items()), How())
    assert sent.status == (401 if url == "/desk/sign-in" else 200)
    for kiosk_name, location, *_ in kiosk_rows(app).values():
        assert (kiosk_name, location) == ("Waiting room 2", "By the door")


def test_a_blank_auto_print_printer_is_refused(app, admin_desk):
    pairs = [("name", "Waiting room 3"), ("auto_print_printer", " ")]
    assert send(admin_desk, "/desk/kiosks", pairs, How()).status == 400
    assert kiosk_rows(app) == {}


# --- desk: kiosks (admin) and enrolling a kiosk ------------------------------------------------


def kiosk_rows(app) -> dict[int, tuple]:
    with app.app_context():
        return {
            k.id: (k.name, k.location, k.auto_print_printer, k.link_hash, k.token_hash, k.revoked_at)
            for k in db.session.scalars(select(models.Kiosk))
        }


def select_options(session, url: str, name: str) -> set[str]:
    page = session.get(url).get_data(as_text=True)
    box = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    assert box, f"no {name} list on {url}"
    return {html.unescape(v) for v in re.findall(r'<option[^>]*value="([^"]*)"', box.group(0))}


GOOD_KIOSK_NAMES = st.text(
    st.sampled_from(string.ascii_letters + string.digits + " -"), min_size=1, max_size=20
)
WORD = st.text(st.sampled_from(string.ascii_letters + string.digits), min_size=1, max_size=8)
KIOSK_NAMES = st.one_of(
    st.text(st.sampled_from(string.ascii_letters + string.digits + " -"), min_size=1, max_size=20),
    st.builds(
        "{}{}{}{}{}".format,
        st.sampled_from(["", " ", "\t", "\u00a0"]),
        WORD,
        st.sampled_from([" ", "  ", "\t\n", "\u2003", "\x00", "\x1b"]),
        WORD,
        st.sampled_from(["", " ", "\u3000", "\x7f"]),
    ),
    st.sampled_from(
        [
            "Waiting room 1",
            "  Waiting   room\t1 ",
            "\u00a0",
            "a" * 80,
            "a" * 81,
            " " + "a" * 80,
            "Salle d\u2019attente \u2713",
            "\u202eKiosk",
        ]
    ),
    VALUE,
)


@pytest.mark.parametrize("app", DATABASES, indirect=True)
@fuzz_settings(100)
@given(data=st.data())
def test_new_kiosks_have_a_tidy_name_and_an_offered_printer(app, admin_desk, desk, data):
    with app.app_context():
        if db.session.get(Printer, "front-desk") is None:
            db.session.add(Printer(name="front-desk", label="Front desk laser", state="idle"))
            enrolled_kiosks.register("Waiting room 1", "By the door", "", by="boss")
        # kiosks made by earlier examples go
        db.session.execute(delete(models.Kiosk).where(models.Kiosk.name != "Waiting room 1"))
        db.session.commit()
    offered = select_options(admin_desk, "/desk/kiosks", "auto_print_printer")
    who = data.draw(st.sampled_from(["boss"] * 4 + ["maria"]), label="signed in as")
    session = admin_desk if who == "boss" else desk
    printers = mostly(
        st.sampled_from(sorted(offered)), st.sampled_from([" ", "nowhere", "front-desk "]) | VALUE
    )
    pairs = (
        [("name", v) for v in data.draw(one_or_more(mostly(GOOD_KIOSK_NAMES, KIOSK_NAMES)), label="name")]
        + [("location", v) for v in data.draw(st.lists(KIOSK_NAMES, max_size=2), label="location")]
        + [("auto_print_printer", v) for v in data.draw(st.lists(printers, max_size=2), label="printer")]
        + data.draw(EXTRA_FIELDS, label="extra")
    )
    how = data.draw(HOW, label="how")
    before = kiosk_rows(app)
    sent = send(session, "/desk/kiosks", pairs, how)
    after = kiosk_rows(app)
    event(f"{who}: {sent.status}")
    assert sent.status in (200, 400, 403, 413), sent.status
    assert {i: after[i] for i in before} == before, "an existing kiosk changed"
    new = {i: k for i, k in after.items() if i not in before}
    assert len(new) <= 1
    for kiosk_id, (name, location, printer, link_hash, token_hash, revoked_at) in new.items():
        assert sent.status == 200 and who == "boss"
        assert name == " ".join(name.split()) and 0 < len(name) <= 80, f"a kiosk named {name!r}"
        assert location == " ".join(location.split()) and len(location) <= 120, location
        assert not has_control_characters(name + location), (name, location)
        assert printer in offered, f"a kiosk printing on {printer!r}, which was not offered"
        assert link_hash and token_hash is None and revoked_at is None
        code = re.search(r"/enroll#([A-Za-z0-9_-]+)", sent.response.get_data(as_text=True))
        assert code, "no enrollment link shown"
        with app.app_context():
            assert enrolled_kiosks.for_link(code.group(1)).id == kiosk_id
    name = sent.first("name")
    simple = (
        isinstance(name, str)
        and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]{0,19}", name)
        and " ".join(name.split()) not in {k[0] for k in before.values()}
        and all(
            isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9 -]{0,120}", v)
            for v in sent.form.getlist("location")
        )
        and sent.first("auto_print_printer", "") in offered
        and not sent.files
    )
    if who == "boss" and how.token_ok and not sent.too_large and simple:
        assert new, f"a good kiosk was refused ({sent.status})"
    if who == "maria" and how.token_ok and not sent.too_large:
        assert sent.status == 403
    follow(session, sent, how)


@fuzz_settings(100)
@given(data=st.data())
def test_kiosk_link_and_revoke_change_only_the_kiosk_named(app, admin_desk, desk, data):
    with app.app_context():
        if not db.session.scalar(select(models.Kiosk.id)):
            for name in ("Waiting room 1", "Waiting room 2", "Hall"):
                enrolled_kiosks.register(name, "", "", by="boss")
        rows = db.session.scalars(select(models.Kiosk).order_by(models.Kiosk.id)).all()
        if not any(k.token_hash for k in rows):  # one of them enrolled on a device
            enrolled_kiosks.enroll(enrolled_kiosks.new_link(rows[0], by="boss"), app.config["SECRET_KEY"])
        ids = [k.id for k in rows]
    who = data.draw(st.sampled_from(["boss"] * 4 + ["maria"]), label="signed in as")
    action = data.draw(st.sampled_from(["link", "revoke"]), label="action")
    segment = data.draw(row_id(ids), label="id")
    how = data.draw(HOW, label="how")
    pairs = data.draw(EXTRA_FIELDS, label="fields")
    session = admin_desk if who == "boss" else desk
    before = kiosk_rows(app)
    sent = send(session, f"/desk/kiosks/{_q(segment)}/{action}", pairs, how)
    after = kiosk_rows(app)
    target = routed_id(segment)
    outcome = desk_outcome(sent, how, segment, target in before, forbidden=who == "maria")
    if outcome == "done":
        assert sent.status == 200
        name, location, printer, link_hash, token_hash, revoked_at = after[target]
        assert (name, location, printer) == before[target][:3]
        assert token_hash is None, "a revoked or re-linked kiosk kept its device"
        if action == "revoke":
            assert link_hash is None and revoked_at is not None
        else:
            assert link_hash and link_hash != before[target][3] and revoked_at is None
        assert {i: k for i, k in after.items() if i != target} == {
            i: k for i, k in before.items() if i != target
        }
    else:
        assert after == before
    follow(session, sent, how)


@fuzz_settings(80)
@given(data=st.data())
def test_an_enrollment_link_enrolls_only_its_kiosk_and_only_once(app, data):
    with app.app_context():
        if not db.session.scalar(select(models.Kiosk.id)):
            for name in ("Waiting room 1", "Waiting room 2"):
                enrolled_kiosks.register(name, "", "", by="boss")
        codes = {
            k.id: enrolled_kiosks.new_link(k, by="boss") for k in db.session.scalars(select(models.Kiosk))
        }
    used = data.draw(st.sampled_from(sorted(codes)), label="a kiosk enrolled already")
    screen = Kiosk(app.test_client())
    screen.get("/enroll")
    assert screen.post("/enroll", {"code": codes[used], "confirm": "1"}).status_code == 303
    code = data.draw(
        st.sampled_from(sorted(codes.values()))
        | st.sampled_from(sorted(codes.values())).map(lambda c: c.upper())
        | st.sampled_from(sorted(codes.values())).map(lambda c: c + "\x00")
        | st.sampled_from(["", "x" * 9, "x" * 10, "x" * 64, "x" * 65, "%00", "..", "a/b"])
        | TEXT
        | WITH_SURROGATE,
        label="code",
    )
    how = data.draw(HOW, label="how")
    pairs = data.draw(EXTRA_FIELDS, label="fields")
    device = Kiosk(app.test_client())
    device.get("/")
    before = kiosk_rows(app)
    # The code as the kiosk's page posts it, with the tap that confirms.
    sent = send(device, "/enroll", [("code", code), ("confirm", "1"), *pairs], how)
    after = kiosk_rows(app)
    assert sent.status in (303, 400, 404, 413), sent.status
    enrolled = {i for i in after if after[i] != before[i]}
    confirmed = sent.first("confirm") == "1"
    fresh = {i for i, c in codes.items() if i != used and c == sent.first("code") and confirmed}
    if sent.status == 303:
        assert enrolled == fresh and len(enrolled) == 1, (code, enrolled)
        assert device.client.get_cookie(enrolled_kiosks.COOKIE) is not None
        (kiosk_id,) = enrolled
        assert after[kiosk_id][3] is None and after[kiosk_id][4], "the link still works, or no device token"
    else:
        assert not enrolled, (code, sent.status)
        assert device.client.get_cookie(enrolled_kiosks.COOKIE) is None
    if how.token_ok and not sent.too_large and fresh:
        assert sent.status == 303, "a fresh link did not enroll"


DEVICES = [
    "enrolled",
    "tampered",
    "appended",
    "truncated",
    "another key",
    "revoked",
    "re-linked",
    "none",
    "random",
]


@pytest.mark.parametrize("device_kind", DEVICES)
@fuzz_settings(8)
@given(cookie=TEXT, how=HOW, pairs=EXTRA_FIELDS)
def test_only_an_enrolled_kiosk_can_start_a_visit(app, device_kind, cookie, how, pairs):
    app.config["KIOSK_ENROLLMENT"] = 1
    with app.app_context():
        kiosk = db.session.scalar(select(models.Kiosk).where(models.Kiosk.name == "Waiting room 1"))
        if kiosk is None:
            kiosk = enrolled_kiosks.register("Waiting room 1", "", "", by="boss").kiosk
        code = enrolled_kiosks.new_link(kiosk, by="boss")
    screen = Kiosk(app.test_client())
    screen.get("/enroll")
    assert screen.post("/enroll", {"code": code, "confirm": "1"}).status_code == 303
    token = screen.client.get_cookie(enrolled_kiosks.COOKIE).value
    with app.app_context():
        kiosk = db.session.scalar(select(models.Kiosk).where(models.Kiosk.name == "Waiting room 1"))
        if device_kind == "revoked":
            enrolled_kiosks.revoke(kiosk, by="boss")
        if device_kind == "re-linked":
            enrolled_kiosks.new_link(kiosk, by="boss")
    value = {
        "tampered": ("A" if token[0] != "A" else "B") + token[1:],
        "appended": token + "AAAA",
        "truncated": token[:-4],
        "another key": enrolled_kiosks._serializer("another secret").dumps("x" * 43),
        "random": cookie,
        "none": None,
    }.get(device_kind, token)
    device = Kiosk(app.test_client())
    if value is not None:
        device.client.set_cookie(enrolled_kiosks.COOKIE, value)
    device.get("/")
    with app.app_context():
        visits_before = set(db.session.scalars(select(Visit.id)))
    sent = send(device, "/start", pairs, how)
    with app.app_context():
        new = set(db.session.scalars(select(Visit.id))) - visits_before
    event(f"{device_kind}: {sent.status}")
    if sent.status == 303:
        assert device_kind == "enrolled", f"a visit started on a device {device_kind}"
        assert len(new) == 1
    else:
        assert not new
        assert sent.status in (400, 403, 413), sent.status
        if device_kind == "enrolled" and how.token_ok and not sent.too_large:
            raise AssertionError(f"an enrolled kiosk could not start ({sent.status})")


@fuzz_settings(40)
@given(how=HOW, pairs=EXTRA_FIELDS)
def test_sign_out_ends_the_session_only_when_asked_with_a_token(app, staff, how, pairs):
    with app.app_context():
        db.session.execute(delete(SignInFailure))
        db.session.commit()
    session = Desk(app.test_client())
    assert session.sign_in().status_code == 302
    sent = send(session, "/desk/sign-out", pairs, how)
    still_in = session.get("/desk/").status_code == 200
    if sent.too_large:
        assert sent.status == 413 and still_in
    elif not how.token_ok:
        assert sent.status == 400 and still_in
    else:
        assert sent.status == 302 and not still_in
