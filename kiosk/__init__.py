"""The second-opinion visit-prep kiosk: application factory."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter

from . import config, content, extensions, logs, storage
from . import questionnaire as qn
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


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The app, wired: each part sets itself up in its own ``init_app`` or
    ``configure``. ``test_config`` stands in for ``instance/config.py`` and
    the environment."""
    instance_path = os.environ.get("KIOSK_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    storage.keep_private(Path(app.instance_path))
    app.url_map.converters["id"] = IdConverter
    config.configure(app, test_config)

    extensions.init_app(app, migrations=PROJECT_ROOT / "migrations")
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
    logs.init_app(app)
    return app
