"""Where the app's log goes and what it says at start.

Everything logs through the standard ``logging`` module to standard error,
which systemd's journal (or the container's log) keeps. No patient data is
ever logged: errors say where they happened, not what a patient typed.
"""

from __future__ import annotations

import logging
import os

from flask import Flask

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def init_app(app: Flask) -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    # WeasyPrint logs every layout step at INFO; keep its warnings only.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # Once per server start: tests and `flask ...` commands (which set
    # FLASK_RUN_FROM_CLI) have no use for it.
    if not app.config.get("TESTING") and os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        from .handout import log_font_subsetter

        log_font_subsetter()
