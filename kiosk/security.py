"""Response headers that hold for every page (CSP, no caching of patient pages,
HSTS behind HTTPS), where a form may be posted from, and which proxies are
trusted to say who the client is."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import flask_wtf.csrf
from flask import Flask, Response, current_app, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

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

# A page's address (a visit's step, an enrollment link) never leaves the
# clinic's site, while the site's own requests still say where they come
# from. Not "no-referrer": under it a browser sends no Referer and, on a
# POST, "Origin: null" even to the same site (the Fetch standard), so nothing
# could tell a form of ours from a forged one, and HTTPS posts are refused.
REFERRER_POLICY = "same-origin"


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if current_app.config.get("BEHIND_HTTPS_PROXY") and request.scheme == "https":
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "static":
        # Pages hold a patient's answers: never keep them in a cache, so the
        # browser's Back button must ask the server, which knows the visit ended.
        response.headers["Cache-Control"] = "no-store"
    return response


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """Scheme, host and port of a URL or an Origin header; None for "null" or junk."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port


class CSRFProtect(flask_wtf.csrf.CSRFProtect):
    """Flask-WTF's check of the form's token, and over HTTPS a check that the
    post comes from this site, by its Origin header.

    Flask-WTF's own HTTPS check (WTF_CSRF_SSL_STRICT, off in config.DEFAULTS)
    reads only the Referer, which browsers leave out when a user, an extension
    or a managed profile asks for privacy. Every current browser sends Origin
    on a POST and no page can forge it, so it is asked first, as Django does;
    the Referer is the answer only for a client that sends no Origin. Over
    plain HTTP (a demo, no proxy) the token alone decides, as before.
    """

    def protect(self, *args, **kwargs) -> None:
        super().protect(*args, **kwargs)
        if request.method not in current_app.config["WTF_CSRF_METHODS"] or not request.is_secure:
            return
        sent = request.headers.get("Origin")
        source = sent if sent is not None else request.referrer
        if source is None:
            self._error_response("The post says neither its Origin nor its Referer.")
        origin = _origin(source)
        if origin is None or origin != _origin(request.host_url):
            # An origin is a site's address, never a patient's data (a Referer's
            # path is not logged). Behind a proxy, a post from this very site
            # refused here means the proxy does not pass on the Host it was asked for.
            shown = sent if sent is not None else "a Referer elsewhere"
            log.warning("refused a post from %.100r to %s", shown, request.host_url)
            self._error_response("The post came from another site.")


def csrf_field() -> Markup:
    """The hidden CSRF field every form carries: ``{{ csrf_field() }}`` in a template."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def trust_proxies(app: Flask) -> None:
    """The client's address, scheme and host as the TRUSTED_PROXIES in front
    of the app saw them; none trusted by default."""
    if proxies := int(app.config.get("TRUSTED_PROXIES") or 0):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def init_app(app: Flask) -> None:
    trust_proxies(app)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_field"] = csrf_field
