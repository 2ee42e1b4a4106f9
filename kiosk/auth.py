"""Staff accounts: passwords, sign-in with slowed-down guessing, desk
sessions kept on the server (the audit trail: ``kiosk.audit``).

**Guessing is slowed at four levels**, counted from failures stored in the
database, so every app process counts the same ones:

- one account from one address: after ACCOUNT_FAILURES failures in
  SHORT_WINDOW, each further try waits twice as long as the last (30 s,
  1 min, 2 min, ... up to 15 min);
- one address, any accounts: ADDRESS_FAILURES failures in SHORT_WINDOW, then
  it waits out the window;
- one account from every address together (ASVS 2.2.1, NIST 800-63B 5.2.2):
  after ACCOUNT_SLOW_AFTER failures in FAILURE_WINDOW each try waits 10 s,
  20 s, ... up to 5 minutes after the last, and never more than
  ACCOUNT_MAX_FAILURES an hour are checked;
- a *known browser* (one that this account signed in on before: it holds a
  signed cookie naming the account and the password it used) is held by none
  of those, which strangers' failures trigger, only by its own:
  KNOWN_BROWSER_FAILURES, then the doubling waits. So a guesser elsewhere, or
  at the same shared front-desk PC's address, never locks the real user out
  of a computer they use; and an admin can clear an account's failures on
  the Staff page (``clear_failures``). This is OWASP's "device cookie" design.

A successful sign-in clears the failures of its own address or known
browser, not those from elsewhere: the real user signing in must not give a
guesser elsewhere a fresh allowance.

Each attempt is stored *after* a read-only check of the limits and *before*
its password is checked, so guesses sent in parallel all see each other.

**When nothing can be written** (a full disk, a read-only database: the
attempt cannot be stored), staff can still sign in *to read only*, so that
the queue and its urgent alerts stay in sight. The stored failures are still
read first; then, since this attempt cannot be stored, the checks are
counted in the app process's memory (``UnsavedLimits``): UNSAVED_LIMITS, per
account and per address. Each app process counts its own, so with P
processes an account gets at most 5·P checks a minute and 30·P an hour (a
restart forgets them). A right password gives a signed cookie, not a
session (``read_only_cookie``): the account's id and a fingerprint of its
password hash (a new password or a disabled account ends it), valid
READ_ONLY_MINUTES from the last request, renewed while nothing can be saved, and within the desk session's
idle and lifetime limits. It opens only pages that write nothing (the desk
decides which). It is never turned into a session once writes work again:
it was given without the attempt, the audit entry or a session a sign-out
or an admin could end, so the user signs in anew, on the record.

A sign-in for an unknown or disabled account checks a dummy password hash,
so that it takes as long as a wrong password for a real one: the time taken
does not tell which names exist.

**Passwords** are normalised before they are checked or hashed (NFKC, the
normalisation NIST 800-63B 5.1.1.2 asks for, and without invisible format
characters such as U+200B), so a password is the same however a keyboard or
a paste types it. Strength is judged by zxcvbn, a strength estimator that
knows common passwords, words, names, dates, repeats, sequences and keyboard
runs, and which recognises the clinic's and the account's names: a list of
breached passwords alone would stop little, as few are 12 characters or
longer, and a large one is not something to ship in a kiosk's package.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, storage
from .extensions import db
from .models import SignInFailure, Staff, StaffSession, utcnow

log = logging.getLogger(__name__)

SHORT_WINDOW = timedelta(minutes=15)
"""How long a failure counts for its address, or for its account from one address."""
FAILURE_WINDOW = timedelta(hours=1)
"""How long a failed sign-in is kept, and counts for its account from every address."""
ACCOUNT_FAILURES = 5
"""Failures for one account from one address before each try must wait."""
FIRST_DELAY = timedelta(seconds=30)
ADDRESS_FAILURES = 30
"""Failures from one address, for any accounts, before it must wait out SHORT_WINDOW."""
ACCOUNT_SLOW_AFTER = 10
"""Failures for one account from anywhere in FAILURE_WINDOW before each try must wait."""
ACCOUNT_FIRST_DELAY = timedelta(seconds=10)
ACCOUNT_LONGEST_DELAY = timedelta(minutes=5)
ACCOUNT_MAX_FAILURES = 100
"""Never more than this many passwords checked for one account in FAILURE_WINDOW."""
KNOWN_BROWSER_FAILURES = 5
"""Failures on a known browser for its account before each try must wait."""

UNSAVED_LIMITS = (("account", 60, 5), ("account", 3600, 30), ("address", 60, 10))
"""(what, seconds, checks): password checks allowed while attempts cannot be
stored, counted by each app process in its memory."""
READ_ONLY_MINUTES = 15
"""A read-only sign-in ends this long after its last request."""
READ_ONLY_COOKIE = "kiosk_desk_read_only"

KNOWN_BROWSER_COOKIE = "kiosk_desk_device"
KNOWN_BROWSER_DAYS = 365
KNOWN_BROWSER_ACCOUNTS = 20

MIN_PASSWORD_LENGTH = 12
"""For passwords people choose (NIST SP 800-63B); generated ones are longer."""
MIN_GUESSES_LOG10 = 10
"""zxcvbn's estimate of guesses needed, as a power of ten: 10^10 is its top
score: about 12 days to try them all for one account, for an attacker with a
stolen copy of the database trying 10,000 scrypt hashes a second."""
ESTIMATED_LENGTH = 72
"""zxcvbn refuses longer input; the first 72 characters are judged."""
COMMON_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt"


class AccountError(ValueError):
    """A staff account cannot be created or changed as asked."""


@dataclass(frozen=True)
class SignIn:
    staff: Staff | None
    # Seconds to wait before trying again, when too many attempts failed.
    retry_after: int = 0
    # The new desk session's token, when the password was right.
    token: str | None = None
    # Which limit holds ("account": tries from everywhere, so the real user
    # may ask an admin to clear them), when retry_after is set.
    held_by: str = ""
    # True when nothing could be saved (a full disk, a read-only database)
    # and the password was right: `staff` may read, without a session (see
    # the module's note).
    read_only: bool = False


def generate_password() -> str:
    """A random password that is easy to read aloud and type: four groups of four."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def without_controls(text: str) -> str:
    """Typed text without control characters (a NUL, say), which no name
    needs and some databases refuse."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")


def normalise_username(username: str) -> str:
    return without_controls(username).strip().lower()


def normalise_password(password: str) -> str:
    """The password as it is checked and hashed: without format characters
    (zero-width spaces and joiners, direction marks: invisible, and added
    by some keyboards and pastes), then in NFKC form, so that fullwidth
    letters, a no-break space or a ligature mean what they look like."""
    visible = "".join(ch for ch in password if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", visible)


def _hash(password: str) -> str:
    return generate_password_hash(normalise_password(password), method=_hash_method())


def _hash_method() -> str:
    return current_app.config["PASSWORD_HASH_METHOD"]


def create_staff(username: str, password: str, *, is_admin: bool = False, by: str | None = None) -> Staff:
    """Add an account; `by` is the admin who added it, audited with it."""
    name = normalise_username(username)
    if not name or len(name) > 80 or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise AccountError("Use letters, digits, dots, dashes or underscores for the name (up to 80).")
    check_password_strength(password, username=name)
    if db.session.scalar(select(Staff).where(Staff.username == name)):
        raise AccountError(f"There is already an account called {name}.")
    staff = Staff(username=name, password_hash=_hash(password), password_normalised=True, is_admin=is_admin)
    db.session.add(staff)
    if by:
        audit.record(by, "add-staff", f"staff {name}")
    db.session.commit()
    return staff


# --- how strong a password is ------------------------------------------------------


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(COMMON_PASSWORDS.read_text().split())


CHOOSE_ANOTHER = " Please choose another: three or four unrelated words make a strong one."
REPEATS = "That password repeats the same letters or words (like aaaa or abcabc), so it is easy to guess."
RUN = "That password is mostly a run of letters or digits (like abcd or 1234), so it is easy to guess."
KEYBOARD = "That password is mostly keys next to each other (like qwerty), so it is easy to guess."
COMMON = "That password is one of the most common ones, so it is easy to guess."
BUILT_FROM = "That password is built from {names}, so it is easy to guess."
GUESSABLE = "That password is easy to guess: it is made of common words, names, dates or patterns."

_estimator = threading.Lock()  # zxcvbn keeps the names it is given in a module-level table


def check_password_strength(password: str, *, username: str = "") -> None:
    """A password people choose: long enough, not blank, and not easy to
    guess, judged in the form it is hashed in. Raises AccountError saying why."""
    # Long enough as typed (what a compatibility character such as "¼" stands
    # for does not make it longer) and as hashed (invisible characters do not count).
    typed = "".join(ch for ch in password if unicodedata.category(ch) != "Cf")
    password = normalise_password(password)
    if not password.strip():
        raise AccountError("The password cannot be blank or only spaces.")
    if any(unicodedata.category(ch) == "Cc" for ch in password):
        raise AccountError("The password cannot contain control characters (a tab or a line break, say).")
    if min(len(typed), len(password)) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    lowered = password.strip().lower()
    if password.lower() in _common_passwords() or lowered in _common_passwords():
        raise AccountError(COMMON + CHOOSE_ANOTHER)
    names = {"the account's name": [username], "the clinic's name": _clinic_names()}
    if built_from := _built_from(lowered, names):
        raise AccountError(BUILT_FROM.format(names=built_from) + CHOOSE_ANOTHER)
    why = _why_guessable(password[:ESTIMATED_LENGTH], [n for ns in names.values() for n in ns])
    if why:
        raise AccountError(why + CHOOSE_ANOTHER)


def _clinic_names() -> list[str]:
    """The clinic's name as the settings and its content file give it."""
    from . import content

    names = [current_app.config.get("CLINIC_NAME", ""), content.clinic().name]
    return [name for name in names if name]


def _built_from(lowered: str, names: dict[str, list[str]]) -> str:
    """Whose names the password is made of, when little else is left once they,
    digits, spaces and punctuation are taken out ("spineclinic1",
    "maria.2024", the user name three times)."""
    found = []
    rest = lowered
    for whose, spellings in names.items():
        parts: set[str] = set()
        for spelling in spellings:
            spelling = spelling.lower()
            words = [w for w in re.split(r"[\W_]+", spelling) if len(w) >= 3]
            parts.update(words)
            parts.add("".join(words))
        for part in sorted(parts, key=len, reverse=True):
            if len(part) >= 3 and part in rest:
                rest = rest.replace(part, " ")
                if whose not in found:
                    found.append(whose)
    if found and len(re.sub(r"[\W\d_]+", "", rest)) < 4:
        return " and ".join(found)
    return ""


def _why_guessable(password: str, names: list[str]) -> str:
    """Why zxcvbn finds the password too easy to guess, or "" if it does not."""
    from zxcvbn import matching, zxcvbn

    with _estimator:
        estimate = zxcvbn(password, user_inputs=[n.lower() for n in names if n])
        if estimate["guesses_log10"] >= MIN_GUESSES_LOG10:
            return ""
        lowered = password.lower()
        for matcher, why in (
            (matching.repeat_match, REPEATS),
            (matching.sequence_match, RUN),
            (matching.spatial_match, KEYBOARD),
        ):
            if any(2 * len(match["token"]) >= len(lowered) for match in matcher(lowered)):
                return why
    found = {match.get("dictionary_name") for match in estimate["sequence"]}
    if "user_inputs" in found:
        return BUILT_FROM.format(names="a name of the account or the clinic")
    if "passwords" in found:
        return COMMON
    return GUESSABLE


def set_password(staff: Staff, password: str, *, by: str | None = None) -> None:
    """A new password; every session signed in with the old one ends."""
    check_password_strength(password, username=staff.username)
    staff.password_hash = _hash(password)
    staff.password_normalised = True
    end_all_sessions(staff)
    if by:
        audit.record(by, "reset-password", f"staff {staff.username}")
    db.session.commit()


def set_active(staff: Staff, active: bool, *, by: str) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    staff.active = active
    if not active:
        end_all_sessions(staff)
    audit.record(by, f"{'enable' if active else 'disable'}-staff", f"staff {staff.username}")
    db.session.commit()


def staff_count() -> int:
    return db.session.scalar(select(func.count(Staff.id))) or 0


# --- when nothing can be written -----------------------------------------------------


class _Saved:
    ok = True


@contextmanager
def _saving(what: str) -> Iterator[_Saved]:
    """Do the writes in the block and commit them; `.ok` is False (all rolled
    back, and logged) when the database cannot save them."""
    saved = _Saved()
    try:
        yield saved
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        if not storage.cannot_write(error):
            raise
        log.warning("could not save %s: the database cannot be written (%s)", what, type(error).__name__)
        saved.ok = False


# --- known browsers ----------------------------------------------------------------------


@dataclass(frozen=True)
class KnownBrowser:
    """A browser some accounts signed in on before: its id, and for each
    account (by id) a fingerprint of the password hash it signed in with, so
    a new password makes it a stranger again until it signs in anew."""

    id: str
    accounts: dict[str, str] = field(default_factory=dict)


def _browsers() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="desk-known-browser")


def _fingerprint(staff: Staff) -> str:
    """Of the account's password hash: a new password makes a cookie given
    with the old one (a known browser, a read-only sign-in) count for nothing."""
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:16]


def _signed(signer: URLSafeSerializer, cookie: object, *, longest: int, **loads) -> dict | None:
    """What a cookie this app signed holds, or None: not a cookie of ours
    (forged, too long, not a dict) or, for a timed signer, expired."""
    if not isinstance(cookie, str) or len(cookie) > longest:
        return None
    try:
        value = signer.loads(cookie, **loads)
    except BadSignature:  # forged, or expired
        return None
    return value if isinstance(value, dict) else None


def read_known_browser(cookie: object) -> KnownBrowser | None:
    """The known browser a cookie names, if it is one this app signed."""
    value = _signed(_browsers(), cookie, longest=4000)
    if value is None or not isinstance(value.get("id"), str):
        return None
    accounts = value.get("accounts")
    if not isinstance(accounts, dict):
        accounts = {}
    return KnownBrowser(value["id"][:32], {str(k): str(v) for k, v in accounts.items()})


def remember_browser(known: KnownBrowser | None, staff: Staff) -> str:
    """The cookie for a browser `staff` has just signed in on (or changed
    their password on), keeping the accounts it knew (the latest few)."""
    accounts = dict(known.accounts) if known else {}
    accounts.pop(str(staff.id), None)
    accounts[str(staff.id)] = _fingerprint(staff)
    kept = dict(list(accounts.items())[-KNOWN_BROWSER_ACCOUNTS:])
    browser_id = known.id if known else secrets.token_hex(16)
    return _browsers().dumps({"id": browser_id, "accounts": kept})


def _device(known: KnownBrowser | None, staff: Staff | None) -> str:
    """The browser's id when it is known to this account with its current password, else ""."""
    if known is None or staff is None:
        return ""
    return known.id if known.accounts.get(str(staff.id)) == _fingerprint(staff) else ""


# --- signing in ---------------------------------------------------------------------


def _dummy_hash() -> str:
    """A hash of nothing anyone types, made as staff hashes are, so that
    checking it takes as long as checking theirs."""
    return _dummy_hash_for(_hash_method())


@cache
def _dummy_hash_for(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


@dataclass(frozen=True)
class _Attempt:
    username: str
    address: str
    device: str  # "" for a stranger: a browser not known to this account


@dataclass(frozen=True)
class _Held:
    seconds: float
    by: str  # "pair", "address", "account", "device"


@dataclass
class _Checked:
    held: _Held | None = None
    cannot_save: bool = False
    matches: bool = False


def _checked(attempt: _Attempt, verify: Callable[[], bool], *, refused_action: str) -> _Checked:
    """Check the limits (reading only), store the attempt, count again with
    the attempts stored meanwhile, and only then run `verify` (the password
    check). The attempt stays stored as a failure; the caller removes it on
    success."""
    now = utcnow()
    if held := _held(attempt, now=now):
        _refuse(attempt, held, refused_action)
        return _Checked(held=held)
    row = SignInFailure(username=attempt.username, remote_addr=attempt.address, device=attempt.device, at=now)
    with _saving("a sign-in attempt") as saved:
        db.session.add(row)
        db.session.execute(delete(SignInFailure).where(SignInFailure.at < now - FAILURE_WINDOW))
    if not saved.ok:
        return _Checked(cannot_save=True)
    if held := _held(attempt, now=now, before=row.id):
        db.session.delete(row)  # not a password check: it does not count as a failure itself
        _refuse(attempt, held, refused_action)
        return _Checked(held=held)
    return _Checked(matches=verify())


def _refuse(attempt: _Attempt, held: _Held, action: str) -> None:
    why = {
        "account": f"too many failures for the account (from {attempt.address})",
        "device": f"too many failures on a known browser (from {attempt.address})",
    }.get(held.by, f"too many failures from {attempt.address}")
    with _saving("a refused sign-in"):
        audit.record(attempt.username, action, why)
    log.warning("sign-in refused: too many failures (%s)", held.by)


def _doubling(
    times: list[datetime], after: int, first: timedelta, longest: timedelta, now: datetime
) -> float:
    """Seconds still to wait when `after` or more failures each double the wait."""
    if len(times) < after:
        return 0.0
    delay = min(longest, first * 2 ** min(len(times) - after, 30))
    return (times[-1] + delay - now).total_seconds()


def _capped(times: list[datetime], most: int, window: timedelta, now: datetime) -> float:
    """Seconds still to wait when `most` failures in `window` are all that may be checked."""
    if len(times) < most:
        return 0.0
    return (times[-most] + window - now).total_seconds()


def _held(attempt: _Attempt, *, now: datetime, before: int | None = None) -> _Held | None:
    """How long this attempt must still wait and which limit holds it, or None."""

    def times(*where, since: timedelta) -> list[datetime]:
        query = select(SignInFailure.at).where(SignInFailure.at > now - since, *where)
        if before is not None:
            query = query.where(SignInFailure.id < before)
        return list(db.session.scalars(query.order_by(SignInFailure.at)))

    name, address = SignInFailure.username == attempt.username, SignInFailure.remote_addr == attempt.address
    waits: list[_Held] = []
    if attempt.device:
        mine = times(name, SignInFailure.device == attempt.device, since=SHORT_WINDOW)
        waits.append(_Held(_doubling(mine, KNOWN_BROWSER_FAILURES, FIRST_DELAY, SHORT_WINDOW, now), "device"))
    else:
        stranger = SignInFailure.device == ""
        pair = times(name, address, stranger, since=SHORT_WINDOW)
        waits.append(_Held(_doubling(pair, ACCOUNT_FAILURES, FIRST_DELAY, SHORT_WINDOW, now), "pair"))
        from_address = times(address, stranger, since=SHORT_WINDOW)
        waits.append(_Held(_capped(from_address, ADDRESS_FAILURES, SHORT_WINDOW, now), "address"))
        account = times(name, stranger, since=FAILURE_WINDOW)
        slowed = _doubling(account, ACCOUNT_SLOW_AFTER, ACCOUNT_FIRST_DELAY, ACCOUNT_LONGEST_DELAY, now)
        capped = _capped(account, ACCOUNT_MAX_FAILURES, FAILURE_WINDOW, now)
        waits.append(_Held(max(slowed, capped), "account"))
    longest = max(waits, key=lambda held: held.seconds)
    return longest if longest.seconds > 0 else None


def _matches(staff: Staff | None, password: str) -> bool:
    """One password hash checked, whether or not the account exists and is
    active (see the module's note). A hash made before passwords were
    normalised is checked against the password as typed."""
    if staff is None or not staff.active:
        check_password_hash(_dummy_hash(), normalise_password(password))
        return False
    typed = normalise_password(password) if staff.password_normalised else password
    return check_password_hash(staff.password_hash, typed)


def _clear_own_failures(attempt: _Attempt) -> None:
    """The failures of this address (as a stranger) or this known browser."""
    mine = and_(SignInFailure.remote_addr == attempt.address, SignInFailure.device == "")
    if attempt.device:
        mine = or_(mine, SignInFailure.device == attempt.device)
    db.session.execute(delete(SignInFailure).where(SignInFailure.username == attempt.username, mine))


def sign_in(username: str, password: str, remote_addr: str, known: KnownBrowser | None = None) -> SignIn:
    """Check a password, unless a limit holds this attempt (see the module's
    note); then start a desk session. Every outcome is audited."""
    name = normalise_username(username)[:80]
    address = (remote_addr or "unknown")[:64]
    staff = db.session.scalar(select(Staff).where(Staff.username == name))
    attempt = _Attempt(name, address, _device(known, staff))
    checked = _checked(attempt, lambda: _matches(staff, password), refused_action="sign-in-refused")
    if checked.held:
        return SignIn(None, retry_after=math.ceil(checked.held.seconds), held_by=checked.held.by)
    if checked.cannot_save:
        return _sign_in_to_read(attempt, staff, password)
    if not checked.matches:
        with _saving("a failed sign-in"):  # the attempt is stored: it counts all the same
            audit.record(name, "sign-in-failed", f"from {address}")
        return SignIn(None)
    assert staff is not None
    with _saving("a sign-in") as saved:
        _clear_own_failures(attempt)
        if not staff.password_normalised:
            staff.password_hash = _hash(password)
            staff.password_normalised = True
        staff.last_sign_in_at = utcnow()
        token = start_session(staff)
        audit.record(staff.username, "sign-in", f"from {address}")
    if not saved.ok:  # the disk filled since the attempt was stored
        return SignIn(staff, read_only=True)
    return SignIn(staff, token=token)


# --- signing in to read only ---------------------------------------------------------


class UnsavedLimits:
    """Password checks while attempts cannot be stored, counted in this
    process's memory (see the module's note): each (what, seconds, checks) of
    UNSAVED_LIMITS allows that many checks in that many seconds for one
    account name or one address."""

    MAX_KEYS = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._times: dict[tuple[str, str], deque[float]] = {}
        self._swept = clock()

    def take(self, username: str, address: str) -> float:
        """Seconds to wait, or 0.0 with this check counted."""
        keys = {"account": ("account", username), "address": ("address", address)}
        longest = max(seconds for _, seconds, _ in UNSAVED_LIMITS)
        with self._lock:
            now = self._clock()
            self._forget(now, longest)
            wait = 0.0
            for what, seconds, checks in UNSAVED_LIMITS:
                recent = [at for at in self._times.get(keys[what], ()) if at > now - seconds]
                if len(recent) >= checks:
                    wait = max(wait, recent[-checks] + seconds - now)
            if wait > 0:
                return wait
            for key in keys.values():
                times = self._times.setdefault(key, deque())
                times.append(now)
                while times[0] <= now - longest:
                    times.popleft()
            return 0.0

    def _forget(self, now: float, longest: float) -> None:
        """Drop names and addresses not seen for `longest` (once a minute),
        and the oldest when there are too many to keep."""
        if now - self._swept < 60 and len(self._times) < self.MAX_KEYS:
            return
        self._swept = now
        for key in [key for key, times in self._times.items() if times[-1] <= now - longest]:
            del self._times[key]
        for key in list(self._times)[: max(0, len(self._times) - self.MAX_KEYS + 1)]:
            del self._times[key]


def _unsaved_limits() -> UnsavedLimits:
    return current_app.extensions.setdefault("kiosk_unsaved_sign_in_limits", UnsavedLimits())


def _sign_in_to_read(attempt: _Attempt, staff: Staff | None, password: str) -> SignIn:
    """The attempt cannot be stored: check the password within the limits
    kept in memory. Nothing is written, so the log is the only record."""
    wait = _unsaved_limits().take(attempt.username, attempt.address)
    if wait:
        log.warning("sign-in refused while nothing can be saved: too many attempts")
        return SignIn(None, retry_after=math.ceil(wait), held_by="unsaved")
    if not _matches(staff, password):
        log.warning("a failed sign-in could not be saved: the database cannot be written")
        return SignIn(None)
    assert staff is not None
    log.warning(
        "%s signed in to read only from %s: the database cannot be written", staff.username, attempt.address
    )
    return SignIn(staff, read_only=True)


def _read_only_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="desk-read-only-sign-in")


@dataclass(frozen=True)
class ReadOnly:
    """A read-only sign-in: who, when it began and when it was last used (Unix seconds)."""

    staff: Staff
    since: int
    seen: int

    @classmethod
    def begin(cls, staff: Staff) -> ReadOnly:
        now = int(time.time())
        return cls(staff, now, now)


def read_only_cookie(found: ReadOnly, *, active: bool) -> str:
    """The signed cookie of a read-only sign-in, valid READ_ONLY_MINUTES from
    now; `active`: a request by the user, not a poll of an open page, which
    counts for the idle limit."""
    seen = int(time.time()) if active else found.seen
    value = {"id": found.staff.id, "standing": _fingerprint(found.staff), "since": found.since, "seen": seen}
    return _read_only_signer().dumps(value)


def load_read_only(cookie: object, *, idle: timedelta, lifetime: timedelta) -> ReadOnly | None:
    """The read-only sign-in a cookie holds, while it is in time and the
    account is still enabled, with the password it was given with."""
    value = _signed(_read_only_signer(), cookie, longest=1000, max_age=READ_ONLY_MINUTES * 60)
    if value is None or not all(isinstance(value.get(k), int) for k in ("id", "since", "seen")):
        return None
    now = time.time()
    if now - value["seen"] > idle.total_seconds() or now - value["since"] > lifetime.total_seconds():
        return None
    staff = db.session.get(Staff, value["id"])
    if staff is None or not staff.active:
        return None
    if not secrets.compare_digest(_fingerprint(staff), str(value.get("standing"))):
        return None
    return ReadOnly(staff, value["since"], value["seen"])


@dataclass(frozen=True)
class PasswordChange:
    """What came of a staff member changing their own password."""

    error: str = ""
    retry_after: int = 0
    held_by: str = ""
    cannot_save: bool = False

    @property
    def done(self) -> bool:
        return not (self.error or self.retry_after or self.cannot_save)


def change_own_password(
    staff: Staff, current: str, new: str, *, remote_addr: str, known: KnownBrowser | None, keep_token: str
) -> PasswordChange:
    """A signed-in staff member's new password, under the same rules as any,
    given their current one (whose checks count as sign-in failures: a
    session left open is no way to guess it). Their other sessions end; the
    one they are using (`keep_token`) goes on."""
    try:
        check_password_strength(new, username=staff.username)
    except AccountError as error:
        return PasswordChange(error=str(error))
    if normalise_password(new) == normalise_password(current):
        return PasswordChange(error="The new password is the same as the current one. Please choose another.")
    attempt = _Attempt(staff.username, (remote_addr or "unknown")[:64], _device(known, staff))
    checked = _checked(attempt, lambda: _matches(staff, current), refused_action="change-password-refused")
    if checked.held:
        return PasswordChange(retry_after=math.ceil(checked.held.seconds), held_by=checked.held.by)
    if checked.cannot_save:
        return PasswordChange(cannot_save=True)
    if not checked.matches:
        with _saving("a failed password change") as saved:
            audit.record(staff.username, "change-password-failed", f"from {attempt.address}")
        if not saved.ok:
            return PasswordChange(cannot_save=True)
        return PasswordChange(error="Your current password is not right. Please type it again.")
    with _saving("a password change") as saved:
        _clear_own_failures(attempt)
        staff.password_hash = _hash(new)
        staff.password_normalised = True
        end_all_sessions(staff, keep_token=keep_token)
        audit.record(staff.username, "change-password", f"from {attempt.address}")
    return PasswordChange(cannot_save=not saved.ok)


def recent_failures() -> dict[str, int]:
    """Failed sign-ins in the last FAILURE_WINDOW, by account name."""
    rows = db.session.execute(
        select(SignInFailure.username, func.count())
        .where(SignInFailure.at > utcnow() - FAILURE_WINDOW)
        .group_by(SignInFailure.username)
    )
    return {name: count for name, count in rows}


def clear_failures(staff: Staff, *, by: str) -> None:
    """Forget an account's failed sign-ins, from everywhere: an admin lets
    the real user in while a guesser elsewhere holds the account."""
    db.session.execute(delete(SignInFailure).where(SignInFailure.username == staff.username))
    audit.record(by, "clear-sign-in-failures", f"staff {staff.username}")
    db.session.commit()


# --- desk sessions --------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(staff: Staff) -> str:
    """A new desk session for `staff`; its token goes in the browser's cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(id=_digest(token), staff=staff))
    staff.session_token = token
    return token


@dataclass(frozen=True)
class DeskSignIn:
    """A desk sign-in found from its cookie's token: the staff member and
    their session's row (``models.StaffSession``), or why there is none."""

    staff: Staff | None
    # Why there is none: "" (no such session), "ended" (signed out or revoked),
    # "idle" or "expired" (the time limits).
    ended_because: str = ""
    row: StaffSession | None = None


def load_sign_in(token: object, *, idle: timedelta, lifetime: timedelta) -> DeskSignIn:
    """The staff member signed in with `token`, if that session is still open."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return DeskSignIn(None)
    row = db.session.get(StaffSession, _digest(token))
    if row is None:
        return DeskSignIn(None)
    if row.ended_at is not None:
        return DeskSignIn(None, "ended")
    now = utcnow()
    for too_old, why in (
        (now - row.last_seen_at > idle, "idle"),
        (now - row.created_at > lifetime, "expired"),
    ):
        if too_old:
            with _saving("the end of a desk session"):  # ended all the same
                row.ended_at = now
            return DeskSignIn(None, why)
    if not row.staff.active:
        return DeskSignIn(None, "ended")
    row.staff.session_token = token
    return DeskSignIn(row.staff, row=row)


def touch(row: StaffSession, every: timedelta = timedelta(seconds=30)) -> bool:
    """Note activity in a session (at most one write per `every`). False when
    it could not be saved (a full disk): the staff member reads on all the
    same, and the time limits count from the last activity that was saved."""
    now = utcnow()
    if now - row.last_seen_at < every:
        return True
    with _saving("a desk session's activity") as saved:
        row.last_seen_at = now
    return saved.ok


def end_session(token: object) -> None:
    if isinstance(token, str):
        db.session.execute(
            update(StaffSession)
            .where(StaffSession.id == _digest(token), StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_all_sessions(staff: Staff, *, keep_token: str | None = None) -> None:
    """End every open session of `staff`, except the one signed in with `keep_token`."""
    query = update(StaffSession).where(StaffSession.staff_id == staff.id, StaffSession.ended_at.is_(None))
    if keep_token:
        query = query.where(StaffSession.id != _digest(keep_token))
    db.session.execute(query.values(ended_at=utcnow()))


def record_sign_out(staff: Staff) -> None:
    end_session(staff.session_token)
    audit.record(staff.username, "sign-out")
    db.session.commit()
