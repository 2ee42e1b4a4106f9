"""The front desk's face: sign-in, the live queue, printing, staff accounts.

Every URL here requires a signed-in staff member, except the sign-in page.
"""

from flask import Blueprint

bp = Blueprint("desk", __name__, url_prefix="/desk")

from . import admin, views  # noqa: E402,F401  (registers the routes)
