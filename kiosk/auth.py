"""Staff accounts: passwords, sign-in with slowed-down guessing, desk
sessions kept on the server, and the audit trail.

Guessing is slowed per account *and address*, so that someone guessing the
admin's password from one computer does not lock the real admin out from
the desk PC: after ACCOUNT_FAILURES failures for one account from one
address, each further try waits twice as long as the last (30 s, 1 min,
2 min, ... up to FAILURE_WINDOW). One address is also limited across all
accounts (ADDRESS_FAILURES), more loosely. Failures are stored in the
database, so every app process counts the same ones.

A sign-in for an unknown or disabled account checks a dummy password hash,
so that it takes as long as a wrong password for a real one: the time taken
does not tell which names exist.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .models import AuditEvent, SignInFailure, Staff, StaffSession, utcnow

log = logging.getLogger(__name__)

FAILURE_WINDOW = timedelta(minutes=15)
"""How long a failed sign-in counts."""
ACCOUNT_FAILURES = 5
"""Failures for one account from one address before each try must wait."""
FIRST_DELAY = timedelta(seconds=30)
ADDRESS_FAILURES = 30
"""Failures from one address, for any accounts, before it must wait out the window."""
MIN_PASSWORD_LENGTH = 12
"""For passwords people choose (NIST SP 800-63B); generated ones are longer."""
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


def create_staff(username: str, password: str, *, is_admin: bool = False, by: str | None = None) -> Staff:
    """Add an account; `by` is the admin who added it, audited with it."""
    name = normalise_username(username)
    if not name or len(name) > 80 or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise AccountError("Use letters, digits, dots, dashes or underscores for the name (up to 80).")
    check_password_strength(password)
    if db.session.scalar(select(Staff).where(Staff.username == name)):
        raise AccountError(f"There is already an account called {name}.")
    staff = Staff(username=name, password_hash=generate_password_hash(password), is_admin=is_admin)
    db.session.add(staff)
    if by:
        audit(by, "add-staff", f"staff {name}")
    db.session.commit()
    return staff


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(COMMON_PASSWORDS.read_text().split())


def check_password_strength(password: str) -> None:
    """A password people choose: long enough, not blank, not a common one."""
    if not password.strip():
        raise AccountError("The password cannot be only spaces.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if password.lower() in _common_passwords() or password.strip().lower() in _common_passwords():
        raise AccountError(
            "That password is one of the most common ones, easy to guess. Please choose another."
        )


def set_password(staff: Staff, password: str, *, by: str | None = None) -> None:
    """A new password; every session signed in with the old one ends."""
    check_password_strength(password)
    staff.password_hash = generate_password_hash(password)
    end_all_sessions(staff)
    if by:
        audit(by, "reset-password", f"staff {staff.username}")
    db.session.commit()


def set_active(staff: Staff, active: bool, *, by: str) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    staff.active = active
    if not active:
        end_all_sessions(staff)
    audit(by, f"{'enable' if active else 'disable'}-staff", f"staff {staff.username}")
    db.session.commit()


def staff_count() -> int:
    return db.session.scalar(select(func.count(Staff.id))) or 0


# --- signing in ---------------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def sign_in(username: str, password: str, remote_addr: str) -> SignIn:
    """Check a password, unless this account and address (or this address)
    must wait; then start a desk session. Every outcome is audited."""
    name = normalise_username(username)[:80]
    address = (remote_addr or "unknown")[:64]
    now = utcnow()
    # Record the attempt first, then count: guesses sent in parallel all see
    # each other, so no more than ACCOUNT_FAILURES passwords are checked.
    attempt = SignInFailure(username=name, remote_addr=address, at=now)
    db.session.add(attempt)
    db.session.execute(delete(SignInFailure).where(SignInFailure.at < now - FAILURE_WINDOW))
    db.session.commit()
    wait = _wait(name, address, before=attempt.id, now=now)
    if wait > 0:
        # Not a password check: it does not count as a failure itself.
        db.session.delete(attempt)
        audit(name, "sign-in-refused", f"too many failures from {address}")
        db.session.commit()
        log.warning("sign-in refused: too many failures for an account from one address")
        return SignIn(None, retry_after=math.ceil(wait))

    staff = db.session.scalar(select(Staff).where(Staff.username == name))
    usable = staff is not None and staff.active
    # The same work whether or not the account exists: see the module's note.
    matches = check_password_hash(staff.password_hash if usable else _dummy_hash(), password)
    if usable and matches:
        db.session.execute(
            delete(SignInFailure).where(SignInFailure.username == name, SignInFailure.remote_addr == address)
        )
        staff.last_sign_in_at = now
        token = start_session(staff)
        audit(staff.username, "sign-in", f"from {address}")
        db.session.commit()
        return SignIn(staff, token=token)
    audit(name, "sign-in-failed", f"from {address}")
    db.session.commit()
    return SignIn(None)


def _wait(name: str, address: str, *, before: int, now: datetime) -> float:
    """Seconds this account and address must still wait, or 0."""
    since = now - FAILURE_WINDOW
    earlier = select(SignInFailure.at).where(SignInFailure.at > since, SignInFailure.id < before)
    pair = db.session.scalars(
        earlier.where(SignInFailure.username == name, SignInFailure.remote_addr == address).order_by(
            SignInFailure.at
        )
    ).all()
    wait = timedelta(0)
    if len(pair) >= ACCOUNT_FAILURES:
        delay = min(FAILURE_WINDOW, FIRST_DELAY * 2 ** (len(pair) - ACCOUNT_FAILURES))
        wait = pair[-1] + delay - now
    from_address = db.session.scalars(
        earlier.where(SignInFailure.remote_addr == address)
        .order_by(SignInFailure.at.desc())
        .limit(ADDRESS_FAILURES)
    ).all()
    if len(from_address) >= ADDRESS_FAILURES:
        wait = max(wait, from_address[-1] + FAILURE_WINDOW - now)
    return wait.total_seconds()


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
class Session:
    staff: Staff | None
    # Why there is none: "" (no such session), "ended" (signed out or revoked),
    # "idle" or "expired" (the time limits).
    ended_because: str = ""
    row: StaffSession | None = None


def load_session(token: object, *, idle: timedelta, lifetime: timedelta) -> Session:
    """The staff member signed in with `token`, if that session is still open."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return Session(None)
    row = db.session.get(StaffSession, _digest(token))
    if row is None:
        return Session(None)
    if row.ended_at is not None:
        return Session(None, "ended")
    now = utcnow()
    for too_old, why in (
        (now - row.last_seen_at > idle, "idle"),
        (now - row.created_at > lifetime, "expired"),
    ):
        if too_old:
            row.ended_at = now
            db.session.commit()
            return Session(None, why)
    if not row.staff.active:
        return Session(None, "ended")
    row.staff.session_token = token
    return Session(row.staff, row=row)


def touch(row: StaffSession, every: timedelta = timedelta(seconds=30)) -> None:
    """Note activity in a session (at most one write per `every`)."""
    now = utcnow()
    if now - row.last_seen_at >= every:
        row.last_seen_at = now
        db.session.commit()


def end_session(token: object) -> None:
    if isinstance(token, str):
        db.session.execute(
            update(StaffSession)
            .where(StaffSession.id == _digest(token), StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_all_sessions(staff: Staff) -> None:
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff.id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def record_sign_out(staff: Staff) -> None:
    end_session(staff.session_token)
    audit(staff.username, "sign-out")
    db.session.commit()


# --- the audit trail ---------------------------------------------------------------------


def audit(staff: str, action: str, subject: str = "") -> None:
    """Record a desk action in the transaction that does it: the caller
    commits both together, so neither is stored without the other. Callers
    pass ids and claim codes, never patient text."""
    db.session.add(AuditEvent(staff=staff[:80], action=action[:40], subject=subject[:120]))
