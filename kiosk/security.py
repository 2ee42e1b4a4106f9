"""Response headers that hold for every page: CSP, no caching of patient pages, HSTS behind HTTPS."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

# Scripts and styles from our own origin only: no inline code, no eval.
# htmx is configured (templates/base.html) to inject no inline styles.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Behind HTTPS: browsers use only HTTPS for this host for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if current_app.config.get("BEHIND_HTTPS_PROXY") and request.scheme == "https":
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "static":
        # Pages hold a patient's answers: never keep them in a cache, so the
        # browser's Back button must ask the server, which knows the visit ended.
        response.headers["Cache-Control"] = "no-store"
    return response


def csrf_field() -> Markup:
    """The hidden CSRF field every form carries: ``{{ csrf_field() }}`` in a template."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def init_app(app: Flask) -> None:
    app.after_request(_headers)
    app.jinja_env.globals["csrf_field"] = csrf_field
