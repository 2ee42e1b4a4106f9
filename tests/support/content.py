"""The clinic's own content file, saved as an admin would."""

from __future__ import annotations

from pathlib import Path

from kiosk import content


def write(app, text: str) -> Path:
    """Save the clinic's file as an admin would, and have the app look at it now."""
    path = Path(app.instance_path) / content.FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    content.refresh(app, force=True)
    return path
