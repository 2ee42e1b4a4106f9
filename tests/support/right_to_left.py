"""An Arabic kiosk for the right-to-left tests: a clinic that offers
English, Spanish and the shipped Arabic catalog (a draft, so marked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk import content

ARABIC = "ar"
ARABIC_NAME = "العربية"
CLINIC_FILE = 'languages = ["en", "es", "ar"]\ndraft_languages = ["ar"]\n'


def arabic_settings(tmp_path: Path) -> dict[str, Any]:
    """Settings for an app made in `tmp_path` (the suite's make_app) whose
    clinic offers Arabic: its clinic.toml, written where the app reads it."""
    instance = tmp_path / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    (instance / content.FILE_NAME).write_text(CLINIC_FILE, encoding="utf-8")
    return {}
