"""An Arabic kiosk for the right-to-left tests: the shipped Arabic catalog
where there is one, else a small one made for the test (a few words in
Arabic, the rest falling back to English: the page is Arabic, and runs right
to left, either way)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from .catalogs import TRANSLATIONS

ARABIC = "ar"
ARABIC_NAME = "العربية"
# What the test catalog says in Arabic (when the shipped one is missing).
WORDS = {
    "Back": "رجوع",
    "Next": "التالي",
    "Finish": "إنهاء",
    "Code": "الرمز",
    "Step %(number)s of %(total)s": "الخطوة %(number)s من %(total)s",
    "My plan for a second opinion": "خطتي للحصول على رأي ثان",
    "In my words:": "بكلماتي:",
    "This is your right": "هذا حقك",
}


def arabic_settings(tmp_path: Path) -> dict[str, Any]:
    """App settings for a kiosk that offers English, Spanish and Arabic."""
    settings: dict[str, Any] = {"LANGUAGES": {"en": "English", "es": "Español", ARABIC: ARABIC_NAME}}
    if (TRANSLATIONS / ARABIC / "LC_MESSAGES" / "messages.mo").exists():
        return settings
    folder = tmp_path / "translations" / ARABIC / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(locale=ARABIC)
    for english, arabic in WORDS.items():
        catalog.add(english, arabic, flags=["python-format"] if "%(" in english else [])
    with (folder / "messages.mo").open("wb") as file:
        write_mo(file, catalog)
    return settings | {"BABEL_TRANSLATION_DIRECTORIES": f"translations;{tmp_path / 'translations'}"}
