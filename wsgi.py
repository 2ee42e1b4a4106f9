"""Entry point for WSGI servers: ``gunicorn wsgi:app``, ``flask --app wsgi``."""

from kiosk import create_app

app = create_app()
