"""Entry point for WSGI servers: ``gunicorn wsgi:app``, ``flask --app wsgi``."""

from kiosk import create_app
from kiosk.config import SettingError

try:
    app = create_app()
except SettingError as error:
    # One sentence that says what to set, not a traceback to read through.
    raise SystemExit(f"The kiosk cannot start: {error}") from None
