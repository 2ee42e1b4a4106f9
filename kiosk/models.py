"""What the kiosk stores: visits in progress, finished handouts, urgent alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .extensions import db

# The largest id a row can have (a signed 64-bit integer on PostgreSQL).
MAX_ROW_ID = 2**63 - 1


def utcnow() -> datetime:
    """Naive UTC, the same on SQLite (which drops time zones) and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class Visit(db.Model):
    """One patient's pass through the kiosk, saved at every step.

    The id is random and travels only in the kiosk's signed session cookie.
    """

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kiosk: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(8), default="en")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    completed_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]

    submission: Mapped[Submission | None] = relationship(
        back_populates="visit", cascade="all, delete-orphan", passive_deletes=True
    )


class Submission(db.Model):
    """A finished visit: the claim code the desk looks up and the handout PDF."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: finishing twice (a double tap, a retried request) makes one row.
    visit_id: Mapped[str] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), unique=True)
    claim_code: Mapped[str] = mapped_column(String(8), unique=True, index=True)
    kiosk: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    page_count: Mapped[int] = mapped_column(default=0)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    handed_over_at: Mapped[datetime | None]
    handed_over_by: Mapped[str | None] = mapped_column(String(80))

    visit: Mapped[Visit] = relationship(back_populates="submission")
    print_jobs: Mapped[list[PrintJob]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PrintJob.id",
    )

    @property
    def latest_print_job(self) -> PrintJob | None:
        return self.print_jobs[-1] if self.print_jobs else None


class Alert(db.Model):
    """A red-flag "yes" from the safety check, for the front desk to act on now.

    It outlives the visit: discarding an abandoned visit keeps the alert.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"), index=True)
    kiosk: Mapped[str] = mapped_column(String(80))
    # Red-flag question ids from the questionnaire, never free text.
    signs: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(Text)


class PrintJob(db.Model):
    """One request to print a handout, and what CUPS says became of it.

    States: queued (stored, not yet handed to CUPS) → sent → printing →
    completed; or held (the printer is paused) or failed (``reason`` says why).
    A job that failed only because the print server was down is sent again
    when it is back (``print_jobs.resend_waiting_jobs``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    printer: Mapped[str] = mapped_column(String(127))
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    cups_job_id: Mapped[str | None] = mapped_column(String(160))
    # Where the directory printer saved its copy, to delete it with the handout.
    saved_path: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    submission: Mapped[Submission] = relationship(back_populates="print_jobs")

    # Handed to CUPS and not finished: CUPS is asked how they are doing.
    AT_PRINTER = ("sent", "printing", "held")
    # Not finished at all: the desk keeps watching them.
    ACTIVE_STATES = ("queued", *AT_PRINTER)

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class Staff(UserMixin, db.Model):
    """A front-desk or admin account for the desk console."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    # Goes up when the password changes: sessions signed in before end.
    session_version: Mapped[int] = mapped_column(default=1)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class SignInFailure(db.Model):
    """A sign-in attempt, kept briefly to slow down password guessing.

    Each attempt is stored before its password is checked (and removed when it
    succeeds), so parallel guesses are counted too.

    Stored in the database, not in one process's memory, so every app
    process behind a load balancer counts the same failures.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEvent(db.Model):
    """Who did what on the desk, and when. Never any patient text."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    staff: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    # What it was done to, e.g. "handout K7P2" or "staff maria".
    subject: Mapped[str] = mapped_column(String(120), default="")
