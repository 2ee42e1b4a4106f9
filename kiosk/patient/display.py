"""How the screen looks and sounds for this visit: text size, contrast, reading aloud.

Kept in the signed session cookie, so a choice lasts for the visit and goes
with it: the reset that wipes a visit clears the session, and the next patient
starts at the usual size, in the usual colours, with a silent screen.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import asdict, dataclass
from typing import Any

TEXT_SIZES = (100, 125, 150)
"""Text sizes a patient can choose, in percent of the usual size."""

ON, OFF = "on", "off"


@dataclass(frozen=True)
class Display:
    text_size: int = TEXT_SIZES[0]
    high_contrast: bool = False
    read_aloud: bool = False

    @classmethod
    def from_session(cls, session: Mapping[str, Any]) -> Display:
        size = session.get("text_size")
        return cls(
            text_size=size if size in TEXT_SIZES else TEXT_SIZES[0],
            high_contrast=session.get("high_contrast") is True,
            read_aloud=session.get("read_aloud") is True,
        )

    @property
    def html_class(self) -> str:
        """Classes for the page's root element (kiosk.css sizes everything in rem)."""
        classes = [f"text-{self.text_size}"]
        if self.high_contrast:
            classes.append("high-contrast")
        return " ".join(classes)

    def as_event(self) -> dict[str, Any]:
        """The settings as kiosk.js and speech.js receive them after a change."""
        return {**asdict(self), "html_class": self.html_class}


def update(session: MutableMapping[str, Any], form: Mapping[str, str]) -> Display:
    """Apply whatever settings the form carries; anything else is ignored."""
    sizes = {str(size): size for size in TEXT_SIZES}
    if (size := form.get("text_size", "")) in sizes:
        session["text_size"] = sizes[size]
    for name in ("high_contrast", "read_aloud"):
        if form.get(name) in (ON, OFF):
            session[name] = form.get(name) == ON
    return Display.from_session(session)
