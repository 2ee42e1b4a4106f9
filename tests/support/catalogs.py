"""The patient's languages as the catalogs in kiosk/translations hold them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent.parent / "kiosk" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
SPANISH = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path):
    with path.open("rb") as file:
        return read_po(file)


def msgids() -> list[str]:
    return [message.id for message in read_catalog(TEMPLATE) if message.id]
