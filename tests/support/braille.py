"""The braille handout as a test reads it: its BRF pages, and its text read
back with liblouis. Without liblouis those tests skip, saying why, unless
KIOSK_REQUIRE_LIBLOUIS is set (CI), where that is a failure."""

from __future__ import annotations

import os
import shutil

import pytest

from kiosk import braille

REQUIRED = os.environ.get("KIOSK_REQUIRE_LIBLOUIS", "").strip() not in ("", "0")
LIBLOUIS_MISSING = (
    ""
    if shutil.which("lou_translate")
    else "liblouis is not installed (apt-get install liblouis-bin liblouis-data)"
)
if LIBLOUIS_MISSING and REQUIRED:
    pytest.fail(f"{LIBLOUIS_MISSING}; KIOSK_REQUIRE_LIBLOUIS is set, so this is a failure", pytrace=False)


def brf_pages(brf: bytes) -> list[list[str]]:
    """The BRF's pages, each a list of its lines."""
    return [page.decode("ascii").removesuffix("\r\n").split("\r\n") for page in brf.split(b"\f")]


def back_translated(app, brf: bytes, language: str) -> str:
    """What the BRF says, read back by liblouis line by line (page numbers
    left out), on one line: the words as a braille reader reads them."""
    lines = [line for page in brf_pages(brf) for line in page[:-1] if line.strip()]
    with app.app_context():
        text = braille.translate(lines, language, backward=True)
    return " ".join(" ".join(text).split())
