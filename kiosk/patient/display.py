"""How the screen looks and sounds for this visit: text size, contrast,
reading aloud, and audio mode (speech and keys, for a patient who cannot see
the screen: its speed and volume, and the screen blanked for privacy).

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

RATES = (0.6, 0.75, 0.9, 1.1, 1.3, 1.6)
"""Speech speeds a patient steps through (Web Speech ``rate``). The usual one
is a little slower than the voice's own: many patients are older, or new to
the language."""
RATE_DEFAULT = 2

VOLUMES = (0.25, 0.5, 0.75, 1.0)
"""Loudness steps (Web Speech ``volume``; 1 is the loudest it goes)."""
VOLUME_DEFAULT = 3

ON, OFF = "on", "off"


def _step(value: Any, steps: tuple[float, ...], default: int) -> int:
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(steps)
        else default
    )


@dataclass(frozen=True)
class Display:
    text_size: int = TEXT_SIZES[0]
    high_contrast: bool = False
    read_aloud: bool = False
    audio: bool = False
    blank_screen: bool = False
    speech_rate: int = RATE_DEFAULT
    speech_volume: int = VOLUME_DEFAULT

    @classmethod
    def from_session(cls, session: Mapping[str, Any]) -> Display:
        size = session.get("text_size")
        audio = session.get("audio") is True
        return cls(
            text_size=size if size in TEXT_SIZES else TEXT_SIZES[0],
            high_contrast=session.get("high_contrast") is True,
            read_aloud=session.get("read_aloud") is True,
            audio=audio,
            # Only ever blank while someone listens: a blank screen with no
            # speech would leave a patient with nothing at all.
            blank_screen=audio and session.get("blank_screen") is True,
            speech_rate=_step(session.get("speech_rate"), RATES, RATE_DEFAULT),
            speech_volume=_step(session.get("speech_volume"), VOLUMES, VOLUME_DEFAULT),
        )

    @property
    def html_class(self) -> str:
        """Classes for the page's root element (kiosk.css sizes everything in rem)."""
        classes = [f"text-{self.text_size}"]
        if self.high_contrast:
            classes.append("high-contrast")
        if self.audio:
            classes.append("audio")
        if self.blank_screen:
            classes.append("audio-blank")
        return " ".join(classes)

    def as_event(self) -> dict[str, Any]:
        """The settings as kiosk.js, speech.js and audio.js receive them after a change."""
        return {
            **asdict(self),
            "html_class": self.html_class,
            "rate": RATES[self.speech_rate],
            "volume": VOLUMES[self.speech_volume],
        }


def update(
    session: MutableMapping[str, Any], form: Mapping[str, str], *, blank_by_default: bool = False
) -> Display:
    """Apply whatever settings the form carries; anything else is ignored.

    Audio mode turned on blanks the screen if the clinic says so
    (``blank_by_default``), unless the patient has chosen already."""
    sizes = {str(size): size for size in TEXT_SIZES}
    if (size := form.get("text_size", "")) in sizes:
        session["text_size"] = sizes[size]
    for name in ("high_contrast", "read_aloud", "audio", "blank_screen"):
        if form.get(name) in (ON, OFF):
            session[name] = form.get(name) == ON
    if session.get("audio") is True and "blank_screen" not in session:
        session["blank_screen"] = blank_by_default
    # Only the steps as the keys send them: "01", "١" or "²" are not steps
    # (and int("²") would fail).
    for name, steps in (("speech_rate", RATES), ("speech_volume", VOLUMES)):
        offered = {str(step): step for step in range(len(steps))}
        if (value := form.get(name, "")) in offered:
            session[name] = offered[value]
    return Display.from_session(session)
