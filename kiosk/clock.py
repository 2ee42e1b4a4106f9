"""Times as the clinic reads them.

Times are stored as naive UTC (``models.utcnow``). The desk and the handout
show them in the clinic's time zone: the ``CLINIC_TIMEZONE`` setting (an IANA
name such as "America/Chicago"), or the server's own when it is empty.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app


def load_time_zone(name: str) -> tzinfo | None:
    """The zone called `name`; None (the server's zone) for an empty name.

    Raises ValueError, saying what to set, for a name that is not a zone."""
    name = (name or "").strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder: IsADirectoryError
        raise ValueError(
            f"CLINIC_TIMEZONE {name!r} is not a time zone. Use a name like "
            "'America/Chicago' or 'Europe/London', or leave it empty for the server's own."
        ) from None


def clinic_time(stored: datetime) -> datetime:
    """A stored UTC time in the clinic's zone."""
    return stored.replace(tzinfo=UTC).astimezone(current_app.config["CLINIC_TZ"])


def clinic_now() -> datetime:
    return datetime.now(UTC).astimezone(current_app.config["CLINIC_TZ"])
