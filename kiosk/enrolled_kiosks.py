"""Enrolled kiosks: an admin registers a kiosk (name, location, optional
auto-print printer) and gets a one-time link; opening it on the touchscreen
enrolls that device, which keeps a long-lived signed token in a cookie of
its own (not the visit's session, which every reset wipes). The admin can
revoke a kiosk at any time.

With enrollment on (KIOSK_ENROLLMENT, the default outside `make run`'s demo
mode), only an enrolled device can start visits; its name is the kiosk name
on alerts and handouts. Only SHA-256 hashes of the link code and the token
are stored, so a copy of the database enrolls nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from . import audit, storage
from .auth import without_controls
from .extensions import db
from .models import Kiosk, utcnow

COOKIE = "kiosk_device"
# A device stays enrolled until revoked; the cookie outlives any plausible reboot cycle.
COOKIE_MAX_AGE = 5 * 365 * 24 * 3600
LINK_VALID = timedelta(hours=24)
# How often a kiosk's last contact is written (each write costs a row update).
SEEN_EVERY = timedelta(seconds=60)


class KioskError(ValueError):
    """A kiosk cannot be registered as asked."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt="kiosk-device")


@dataclass(frozen=True)
class Registered:
    kiosk: Kiosk
    link_code: str  # shown once to the admin, as part of the enrollment link


def register(name: str, location: str, auto_print_printer: str, *, by: str) -> Registered:
    name = " ".join(without_controls(name).split())
    location = " ".join(without_controls(location).split())
    if not name or len(name) > 80:
        raise KioskError("Give the kiosk a name of up to 80 characters, e.g. “Waiting room 1”.")
    if db.session.scalar(select(Kiosk.id).where(Kiosk.name == name)):
        raise KioskError(f"There is already a kiosk called {name}.")
    kiosk = Kiosk(name=name, location=location[:120], auto_print_printer=auto_print_printer)
    db.session.add(kiosk)
    code = _new_link(kiosk)
    audit.record(by, "add-kiosk", f"kiosk {name}")
    db.session.commit()
    return Registered(kiosk, code)


def new_link(kiosk: Kiosk, *, by: str) -> str:
    """A fresh one-time link, to enroll this kiosk again (a new screen, or
    after a revocation). The device enrolled before is signed out."""
    code = _new_link(kiosk)
    kiosk.token_hash = None
    kiosk.revoked_at = None
    audit.record(by, "kiosk-link", f"kiosk {kiosk.name}")
    db.session.commit()
    return code


def _new_link(kiosk: Kiosk) -> str:
    code = secrets.token_urlsafe(18)
    kiosk.link_hash = _digest(code)
    kiosk.link_expires_at = utcnow() + LINK_VALID
    return code


def for_link(code: object) -> Kiosk | None:
    """The kiosk a link code enrolls, while it is unused and unexpired."""
    if not isinstance(code, str) or not 10 <= len(code) <= 64:
        return None
    kiosk = db.session.scalar(select(Kiosk).where(Kiosk.link_hash == _digest(code)))
    if kiosk is None or kiosk.link_expires_at is None or kiosk.link_expires_at < utcnow():
        return None
    return kiosk


def enroll(code: str, secret_key: str) -> tuple[Kiosk, str] | None:
    """Use a link code: the kiosk, and the signed token for the device's
    cookie; None if the link is unknown, used or expired. A link works once,
    even when two screens open it at the same moment."""
    kiosk = for_link(code)
    if kiosk is None:
        return None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    used = db.session.execute(
        update(Kiosk)
        .where(Kiosk.id == kiosk.id, Kiosk.link_hash == _digest(code))
        .values(
            link_hash=None, link_expires_at=None, token_hash=_digest(token), enrolled_at=now, last_seen_at=now
        )
    ).rowcount
    db.session.commit()
    if used != 1:
        return None
    db.session.refresh(kiosk)
    return kiosk, _serializer(secret_key).dumps(token)


def recognise(cookie: object, secret_key: str) -> Kiosk | None:
    """The enrolled, unrevoked kiosk whose signed token this is; notes its contact."""
    if not isinstance(cookie, str) or len(cookie) > 200:
        return None
    try:
        token = _serializer(secret_key).loads(cookie)
    except BadSignature:
        return None
    if not isinstance(token, str):
        return None
    kiosk = db.session.scalar(select(Kiosk).where(Kiosk.token_hash == _digest(token)))
    if kiosk is None or kiosk.revoked_at is not None:
        return None
    now = utcnow()
    if kiosk.last_seen_at is None or now - kiosk.last_seen_at >= SEEN_EVERY:
        _note_contact(kiosk, now)
    return kiosk


def _note_contact(kiosk: Kiosk, now: datetime) -> None:
    """Note the kiosk's contact when there is room for it. On a full disk it
    waits (the desk then sees an older last contact): every idle screen
    writing each minute would fill any space freed, and the kiosk must still
    show its screens."""
    if storage.low_on_space() is not None:
        return
    kiosk.last_seen_at = now
    try:
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        if storage.refusal(error) is None:
            raise


def revoke(kiosk: Kiosk, *, by: str) -> None:
    kiosk.revoked_at = utcnow()
    kiosk.token_hash = None
    kiosk.link_hash = None
    kiosk.link_expires_at = None
    audit.record(by, "revoke-kiosk", f"kiosk {kiosk.name}")
    db.session.commit()


def all_kiosks() -> list[Kiosk]:
    return list(db.session.scalars(select(Kiosk).order_by(Kiosk.name)).all())


def auto_print_printer(kiosk_name: str) -> str:
    """The printer a kiosk prints every handout to, if an admin set one."""
    return db.session.scalar(select(Kiosk.auto_print_printer).where(Kiosk.name == kiosk_name)) or ""
