"""What the kiosk stores: visits in progress, finished handouts, urgent alerts,
and the counts the statistics page shows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Enum, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .extensions import db

# The largest id a row can have (a signed 64-bit integer on PostgreSQL).
MAX_ROW_ID = 2**63 - 1


def utcnow() -> datetime:
    """Naive UTC, the same on SQLite (which drops time zones) and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def _state_column(enum: type[StrEnum], default: StrEnum) -> Mapped[Any]:
    """A state stored as its value ("ready"), a plain string column: no
    database enum type to migrate when a state is added."""
    return mapped_column(
        Enum(enum, native_enum=False, create_constraint=False, length=16, values_callable=_values),
        default=default,
        index=True,
    )


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


class Leased:
    """Work a worker claims before doing it (``kiosk.leases``).

    ``lease_until`` is when the claim runs out: a worker that died mid-job
    (killed while rendering, or while `lp` ran) leaves a lease that expires,
    and the job is picked up again. ``attempts`` counts the claims.
    """

    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)


class Kiosk(db.Model):
    """A touchscreen registered by an admin and enrolled by opening a
    one-time link on it (``kiosk.enrolled_kiosks``). The device keeps a long-lived
    token in a cookie; only hashes of the link's code and of the token are
    stored here."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)  # what the desk sees on alerts and handouts
    location: Mapped[str] = mapped_column(String(120), default="")
    # Print every handout from this kiosk here (empty: the clinic's AUTO_PRINT_PRINTER).
    auto_print_printer: Mapped[str] = mapped_column(String(127), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_expires_at: Mapped[datetime | None]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]


class Visit(db.Model):
    """One patient's pass through the kiosk, saved at every step.

    The id is random and travels only in the kiosk's signed session cookie.
    """

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kiosk: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(8), default="en")
    # The patient turned audio mode on (keypad and speech) during the visit.
    used_audio: Mapped[bool] = mapped_column(server_default=false())
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    completed_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What was on screen, not yet saved, when the patient switched language:
    # {"step": id, "values": {...}}, shown again once in the new language.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    # When its kiosk moved on from a finished visit (a reset, the idle wipe,
    # the end of Done, the next Start). The visit stays for the desk until
    # retention, but the cookie that carried it opens nothing any more, so a
    # copy of it cannot bring back the claim code or the answers.
    closed_at: Mapped[datetime | None]

    handout: Mapped[Handout | None] = relationship(
        back_populates="visit", cascade="all, delete-orphan", passive_deletes=True
    )


class HandoutState(StrEnum):
    PREPARING = "preparing"  # finished by the patient; the worker renders the PDF
    READY = "ready"
    FAILED = "failed"  # rendering failed; ``error`` says why, the desk can retry


class Handout(Leased, db.Model):
    """A finished visit: the claim code the desk looks up and the handout PDF.

    Finishing stores the row at once (state preparing); a worker renders the
    PDF and marks it ready (``kiosk.handout_jobs``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: finishing twice (a double tap, a retried request) makes one row.
    visit_id: Mapped[str] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), unique=True)
    claim_code: Mapped[str] = mapped_column(String(8), unique=True, index=True)
    kiosk: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    state: Mapped[HandoutState] = _state_column(HandoutState, HandoutState.PREPARING)
    # For staff, when rendering failed; never patient text.
    error: Mapped[str] = mapped_column(Text, default="")
    ready_at: Mapped[datetime | None]
    page_count: Mapped[int] = mapped_column(default=0)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # The records letter alone, made by the render lane once a print job asks for it.
    letter_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # The visit used audio mode: the desk offers braille or large print.
    used_audio: Mapped[bool] = mapped_column(server_default=false())
    # The handout in braille (BRF), made by the render lane once an embosser job asks for it.
    braille: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    handed_over_at: Mapped[datetime | None]
    handed_over_by: Mapped[str | None] = mapped_column(String(80))

    visit: Mapped[Visit] = relationship(back_populates="handout")
    print_jobs: Mapped[list[PrintJob]] = relationship(
        back_populates="handout",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="PrintJob.id",
    )

    @property
    def latest_print_job(self) -> PrintJob | None:
        return self.print_jobs[-1] if self.print_jobs else None

    @property
    def ready(self) -> bool:
        return self.state == HandoutState.READY


class Alert(db.Model):
    """A red-flag "yes" from the safety check, for the front desk to act on now.

    It outlives the visit: discarding an abandoned visit keeps the alert.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"), index=True)
    kiosk: Mapped[str] = mapped_column(String(80))
    # Red-flag question ids from the questionnaire, never free text.
    signs: Mapped[list[str]] = mapped_column(JSON)
    # The patient was using audio mode: staff know to go to them, not to call out.
    used_audio: Mapped[bool] = mapped_column(server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(Text)


class AlertReport(db.Model):
    """A red-flag report as the kiosk page sent it, by the random key the page
    made for it. The key is unique: a report the page sends again (its answer
    was lost, or the database was away) is stored once. ``alert_id`` is the
    alert it raised or updated (none when the desk had acknowledged the same
    signs already); the report goes with its alert.
    """

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PrintState(StrEnum):
    QUEUED = "queued"  # stored; a worker sends it as soon as the handout is ready
    WAITING = "waiting"  # the print server did not answer; sent again once it does
    SENT = "sent"  # CUPS has it, waiting its turn
    PRINTING = "printing"
    HELD = "held"  # the printer is paused, or CUPS holds the job
    COMPLETED = "completed"
    FAILED = "failed"  # ``reason`` says why; staff can retry


class PrintJob(Leased, db.Model):
    """One request to print a handout, and what CUPS says became of it.

    The desk (or auto-print) only stores the row; a worker sends it and
    follows it (``kiosk.print_jobs``). ``reason`` is for staff to read, never
    compared by code: the state says what the job is doing.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    handout_id: Mapped[int] = mapped_column(ForeignKey("handout.id", ondelete="CASCADE"), index=True)
    printer: Mapped[str] = mapped_column(String(127))
    # What to print: the whole handout, or its records-request letter alone.
    part: Mapped[str] = mapped_column(String(16), default="handout", server_default="handout")
    state: Mapped[PrintState] = _state_column(PrintState, PrintState.QUEUED)
    reason: Mapped[str] = mapped_column(Text, default="")
    # The title the job was handed to the printer under, unique to this job
    # and attempt. Set before `lp` runs: when it is set with no CUPS job id,
    # an earlier send may or may not have reached CUPS, so CUPS is asked for
    # a job of this title before sending again (no second copy).
    sent_title: Mapped[str | None] = mapped_column(String(160))
    cups_job_id: Mapped[str | None] = mapped_column(String(160))
    # Where the directory printer saved its copy, to show and to delete it.
    saved_path: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(80))
    # When it was last asked for (printed, or retried): a job waiting for the
    # print server is sent by itself only for PRINT_RESEND_MINUTES after it.
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    # When a worker should next look at it: ask CUPS about a sent job, or
    # check whether the print server is back for a waiting one.
    check_after: Mapped[datetime | None] = mapped_column(index=True)

    handout: Mapped[Handout] = relationship(back_populates="print_jobs")

    # Handed to CUPS and not finished: CUPS is asked how they are doing.
    AT_PRINTER = (PrintState.SENT, PrintState.PRINTING, PrintState.HELD)
    # Not finished at all: the desk keeps watching them.
    ACTIVE_STATES = (PrintState.QUEUED, PrintState.WAITING, *AT_PRINTER)

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class Printer(db.Model):
    """A printer as the worker last found it in CUPS, for the desk to offer
    without asking CUPS inside a web request."""

    name: Mapped[str] = mapped_column(String(127), primary_key=True)
    label: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))  # idle | printing | paused | unknown
    reason: Mapped[str] = mapped_column(Text, default="")
    # False once CUPS stops listing it (or cannot be asked); kept so that the
    # usual printer stays selectable while the print server is down.
    listed: Mapped[bool] = mapped_column(default=True)
    # A braille embosser (its driver says so, or BRAILLE_PRINTERS): offered
    # for the braille handout only, never for a PDF.
    embosser: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HealthProbe(db.Model):
    """Written by ``/healthz``, one row a web host, to prove the database
    accepts a write."""

    host: Mapped[str] = mapped_column(String(120), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerBeat(db.Model):
    """A running worker's sign of life, so the desk can tell staff when no
    worker is preparing and printing handouts."""

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # "host:pid:random"
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Staff(UserMixin, db.Model):
    """A front-desk or admin account for the desk console."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    # True when the hash is of the normalised password (``auth.normalise_password``);
    # accounts made before that are checked as typed once, then re-hashed.
    password_normalised: Mapped[bool] = mapped_column(default=True, server_default=false())
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]

    sessions: Mapped[list[StaffSession]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", passive_deletes=True
    )

    # The token of the desk session this request is signed in with (set by
    # ``auth.load_sign_in``); Flask-Login keeps it as the user's id.
    session_token = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.active

    def get_id(self) -> str | None:
        return self.session_token


class StaffSession(db.Model):
    """One signed-in desk session, kept on the server so that it can be ended:
    by signing out, by disabling the account or changing its password, or by
    the idle and absolute time limits. The browser holds only a random token;
    the table holds its SHA-256, so a copy of the database opens no session."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(index=True)

    staff: Mapped[Staff] = relationship(back_populates="sessions")


class SignInFailure(db.Model):
    """A sign-in attempt, kept for an hour to slow down password guessing.

    Each attempt is stored before its password is checked (and removed when it
    succeeds), so parallel guesses are counted too. ``device`` names the
    browser when it is one the account signed in on before (``auth``'s known
    browsers), whose failures are counted apart from strangers'.

    Stored in the database, not in one process's memory, so every app
    process behind a load balancer counts the same failures.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    device: Mapped[str] = mapped_column(String(32), default="", server_default="")
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEvent(db.Model):
    """Who did what on the desk, and when. Never any patient text."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    staff: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    # What it was done to, e.g. "handout K7P2" or "staff maria".
    subject: Mapped[str] = mapped_column(String(120), default="")


class DailyCount(db.Model):
    """One number for the statistics page: how often something happened at a
    kiosk on a day (``kiosk.statistics``).

    Counters only, never a visit: no visit id, claim code, answer or typed
    word is stored, so nothing here leads back to a patient, and the counts
    outlive the purge of the visits they were counted from. A count may be
    in several rows (one for each transaction that counted it, until the
    purge folds them): read their sum.
    """

    __table_args__ = (Index("ix_daily_count_key", "day", "kiosk", "metric", "step", "bucket"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]  # the clinic's local date (the unique key starts with it)
    kiosk: Mapped[str] = mapped_column(String(80))
    metric: Mapped[str] = mapped_column(String(40))
    # The step a visit was abandoned on (a questionnaire step id); "" otherwise.
    step: Mapped[str] = mapped_column(String(40), default="")
    # For a measure (seconds, taps): the lower edge of the range counted; 0 otherwise.
    bucket: Mapped[int] = mapped_column(default=0)
    count: Mapped[int] = mapped_column(default=0)
