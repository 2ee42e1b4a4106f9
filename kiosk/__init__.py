"""The second-opinion visit-prep kiosk: application factory."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, IntegerConverter

from . import config, content
from . import questionnaire as qn
from .clock import load_time_zone
from .extensions import babel, csrf, db, htmx, login_manager, migrate
from .models import MAX_ROW_ID

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class IdConverter(IntegerConverter):
    """Row ids in URLs: a number the database can hold, else 404 (not a 500)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002  (werkzeug's name)
        super().__init__(map, min=1, max=MAX_ROW_ID)


class StepConverter(BaseConverter):
    """A step of the questionnaire in a URL: the Step itself. Only the steps'
    ids match, so any other is no page at all (404, whatever the method)."""

    @classmethod
    def matching(cls, definition: qn.Definition) -> type[StepConverter]:
        """The converter for the definition's steps (the same for every clinic)."""
        regex = "(?:" + "|".join(re.escape(s.id) for s in definition.steps) + ")"
        return type(cls.__name__, (cls,), {"regex": regex})

    def to_python(self, value: str) -> qn.Step | None:
        return content.definition().step(value)

    def to_url(self, value) -> str:
        return super().to_url(getattr(value, "id", value))


def select_locale() -> str:
    from flask import current_app

    lang = session.get("lang")
    if isinstance(lang, str) and lang in current_app.config["LANGUAGES"]:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("KIOSK_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    # Everything the app writes (the database, handouts, the secret key) is
    # for the service user's eyes only.
    os.umask(0o077)
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a folder set up by IT as they chose
        if instance.stat().st_mode & 0o077:
            instance.chmod(0o700)
    app.url_map.converters["id"] = IdConverter

    app.config.from_mapping(config.DEFAULTS)
    app.config.from_mapping(config.defaults(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_mapping(config.from_environment())
        config.enforce_limits(app.config)
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.load_or_create_secret_key(app.instance_path)
    config.apply_https(app.config)
    if proxies := int(app.config.get("TRUSTED_PROXIES") or 0):
        # The client's address and scheme as the trusted proxies saw them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    try:
        app.config["CLINIC_TZ"] = load_time_zone(app.config["CLINIC_TIMEZONE"])
    except ValueError as error:
        raise config.SettingError(str(error)) from None

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "desk.sign_in"
    login_manager.session_protection = "basic"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["STAFF_SESSION_HOURS"])
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    content.init_app(app)
    app.url_map.converters["step"] = StepConverter.matching(content.refresh(app).content.definition)

    from . import database, errors, security

    database.init_app(app)
    security.init_app(app)
    errors.init_app(app)

    from . import cli, fhir, health
    from .desk import bp as desk_bp
    from .patient import bp as patient_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(patient_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(fhir.bp)
    cli.init_app(app)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # WeasyPrint logs every layout step at INFO; keep its warnings only.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # Once per server start: tests and `flask ...` commands (which set
    # FLASK_RUN_FROM_CLI) have no use for it.
    if not app.config.get("TESTING") and os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        from .handout import log_font_subsetter

        log_font_subsetter()
    return app
