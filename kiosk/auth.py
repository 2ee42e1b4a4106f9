"""Staff accounts: passwords, sign-in with slowed-down guessing, audit trail."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .models import AuditEvent, SignInFailure, Staff, utcnow

log = logging.getLogger(__name__)

MAX_FAILURES = 5
"""Failed sign-ins allowed per account or per address within FAILURE_WINDOW."""
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A staff account cannot be created or changed as asked."""


@dataclass(frozen=True)
class SignIn:
    staff: Staff | None
    # Seconds to wait before trying again, when too many attempts failed.
    retry_after: int = 0


def generate_password() -> str:
    """A random password that is easy to read aloud and type: four groups of four."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def normalise_username(username: str) -> str:
    return username.strip().lower()


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


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")


def set_password(staff: Staff, password: str, *, by: str | None = None) -> None:
    check_password_strength(password)
    staff.password_hash = generate_password_hash(password)
    staff.session_version += 1  # sessions signed in with the old password end
    if by:
        audit(by, "reset-password", f"staff {staff.username}")
    db.session.commit()


def set_active(staff: Staff, active: bool, *, by: str) -> None:
    staff.active = active
    audit(by, f"{'enable' if active else 'disable'}-staff", f"staff {staff.username}")
    db.session.commit()


def staff_count() -> int:
    return db.session.scalar(select(func.count(Staff.id))) or 0


def sign_in(username: str, password: str, remote_addr: str) -> SignIn:
    """Check a password, counting failures per account and per address.

    After MAX_FAILURES failures in FAILURE_WINDOW, further attempts are
    refused without checking the password until the window has passed.
    """
    name = normalise_username(username)[:80]
    address = (remote_addr or "unknown")[:64]
    since = utcnow() - FAILURE_WINDOW
    # Record the attempt first, then count: guesses sent in parallel all see
    # each other, so no more than MAX_FAILURES passwords are ever checked.
    attempt = SignInFailure(username=name, remote_addr=address)
    db.session.add(attempt)
    db.session.execute(delete(SignInFailure).where(SignInFailure.at < since))
    db.session.commit()
    earlier = select(SignInFailure.at).where(
        SignInFailure.at > since,
        SignInFailure.id < attempt.id,
        or_(SignInFailure.username == name, SignInFailure.remote_addr == address),
    )
    failures = db.session.scalars(earlier.order_by(SignInFailure.at)).all()
    if len(failures) >= MAX_FAILURES:
        oldest_counted = failures[-MAX_FAILURES]
        wait = int((oldest_counted + FAILURE_WINDOW - utcnow()).total_seconds()) + 1
        log.warning("sign-in refused: too many failures for an account or address")
        return SignIn(None, retry_after=max(wait, 1))

    staff = db.session.scalar(select(Staff).where(Staff.username == name))
    if staff is not None and staff.active and check_password_hash(staff.password_hash, password):
        db.session.execute(delete(SignInFailure).where(SignInFailure.username == name))
        db.session.execute(delete(SignInFailure).where(SignInFailure.id == attempt.id))
        staff.last_sign_in_at = utcnow()
        audit(staff.username, "sign-in")
        db.session.commit()
        return SignIn(staff)
    return SignIn(None)


def audit(staff: str, action: str, subject: str = "") -> None:
    """Record a desk action in the transaction that does it: the caller
    commits both together, so neither is stored without the other. Callers
    pass ids and claim codes, never patient text."""
    db.session.add(AuditEvent(staff=staff[:80], action=action[:40], subject=subject[:120]))


def record_sign_out(staff: str) -> None:
    audit(staff, "sign-out")
    db.session.commit()
