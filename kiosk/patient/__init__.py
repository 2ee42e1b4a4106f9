"""The patient's face of the kiosk: the touchscreen flow from Welcome to Done."""

from flask import Blueprint

bp = Blueprint("patient", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
