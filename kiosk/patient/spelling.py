"""The claim code said aloud, a word for each letter ("K as in kite, 7"), so a
patient who hears it on the kiosk can say it at the desk without mixing up
letters that sound alike (B, D, P, T, V)."""

from __future__ import annotations

from ..content import gettext as _
from ..questionnaire import N_
from ..visits import CLAIM_CODE_ALPHABET

LETTER_WORDS = {
    "A": N_("A as in apple"),
    "B": N_("B as in boy"),
    "C": N_("C as in cat"),
    "D": N_("D as in dog"),
    "E": N_("E as in egg"),
    "F": N_("F as in fish"),
    "G": N_("G as in goat"),
    "H": N_("H as in hat"),
    "J": N_("J as in jam"),
    "K": N_("K as in kite"),
    "M": N_("M as in moon"),
    "N": N_("N as in nose"),
    "P": N_("P as in Peter"),
    "Q": N_("Q as in queen"),
    "R": N_("R as in red"),
    "S": N_("S as in sun"),
    "T": N_("T as in tiger"),
    "U": N_("U as in umbrella"),
    "V": N_("V as in van"),
    "W": N_("W as in water"),
    "X": N_("X as in x-ray"),
    "Y": N_("Y as in yellow"),
    "Z": N_("Z as in zebra"),
}
assert set(LETTER_WORDS) == {c for c in CLAIM_CODE_ALPHABET if c.isalpha()}


def spelled(code: str) -> str:
    """The code as it is said, in the visit's language: "K as in kite, 7, P as in Peter, 2"."""
    return ", ".join(_(LETTER_WORDS[c]) if c in LETTER_WORDS else c for c in code)
