"""What the kiosk stores: visits in progress, finished handouts, urgent alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .extensions import db


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

    submission: Mapped[Submission | None] = relationship(back_populates="visit")


class Submission(db.Model):
    """A finished visit: the claim code the desk looks up and the handout PDF."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: finishing twice (a double tap, a retried request) makes one row.
    visit_id: Mapped[str] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), unique=True)
    claim_code: Mapped[str] = mapped_column(String(8), unique=True, index=True)
    kiosk: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    page_count: Mapped[int] = mapped_column(default=0)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))

    visit: Mapped[Visit] = relationship(back_populates="submission")


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
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
