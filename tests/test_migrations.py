"""The committed migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kiosk import create_app
from kiosk.extensions import db

from .conftest import app_config


def test_migrations_match_the_models(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kiosk", "init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert {"visit", "submission", "alert", "print_job", "staff", "audit_event"} <= tables
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == [], "models changed without a migration: run flask db migrate"


def test_init_db_can_run_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = create_app(app_config(tmp_path)).test_cli_runner()
    assert runner.invoke(args=["kiosk", "init-db"]).exit_code == 0
    assert runner.invoke(args=["kiosk", "init-db"]).exit_code == 0
