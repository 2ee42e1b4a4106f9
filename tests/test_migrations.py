"""The committed migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kiosk import create_app
from kiosk.extensions import db

from .conftest import app_config
from .support.migrations import check_handouts_keep_their_rows_through_the_rename


def test_migrations_match_the_models(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kiosk", "init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert {"visit", "handout", "alert", "print_job", "staff", "audit_event"} <= tables
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == [], "models changed without a migration: run flask db migrate"


def test_init_db_can_run_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = create_app(app_config(tmp_path)).test_cli_runner()
    assert runner.invoke(args=["kiosk", "init-db"]).exit_code == 0
    assert runner.invoke(args=["kiosk", "init-db"]).exit_code == 0


def test_visits_stored_with_one_answer_a_sign_are_moved_to_the_one_list(tmp_path, monkeypatch):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from kiosk import visits
    from kiosk.models import Visit

    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path))
    no_to_all = {sign: "no" for sign in ("bladder", "bowel", "saddle_numbness", "leg_weakness")}
    old = {
        "all-no": ({**no_to_all, "fever": "no", "spine_region": "neck"}, ["safety", "situation"]),
        "fever": ({**no_to_all, "fever": "yes", "cancer": "yes"}, ["safety", "records", "support"]),
        "fresh": ({}, []),
    }
    with app.app_context():
        upgrade(revision="3d45c5ea4f03")
        with db.engine.begin() as connection:
            for visit_id, (answers, steps) in old.items():
                connection.execute(
                    Visit.__table__.insert().values(
                        id=visit_id, kiosk="K", language="en", answers=answers, completed_steps=steps
                    )
                )
        upgrade()
        stored = {v.id: v for v in db.session.scalars(select(Visit))}
        assert stored["all-no"].answers == {"warning_signs": ["none"], "spine_region": "neck"}
        assert stored["fever"].answers == {"warning_signs": ["fever", "cancer"]}
        assert visits.red_flags_reported(stored["fever"].answers) == ["fever", "cancer"]
        assert stored["fever"].completed_steps == ["safety", "records"]
        assert stored["fresh"].answers == {}
        db.session.close()

        downgrade(revision="3d45c5ea4f03")
        with db.engine.connect() as connection:
            rows = dict(connection.execute(select(Visit.__table__.c.id, Visit.__table__.c.answers)).all())
        assert rows["fever"]["fever"] == "yes" and rows["fever"]["bladder"] == "no"
        assert "warning_signs" not in rows["fever"]


def test_handouts_keep_their_rows_through_the_rename(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    check_handouts_keep_their_rows_through_the_rename(create_app(app_config(tmp_path)))
