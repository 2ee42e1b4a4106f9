"""The same app on PostgreSQL, as a health system runs it.

Needs KIOSK_TEST_DATABASE_URL (an empty database it may wipe; CI makes one
with .ci/postgres-setup). Without it these tests skip, saying why, unless
KIOSK_REQUIRE_POSTGRES is set (CI), where that is a failure.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from kiosk import create_app
from kiosk.auth import create_staff
from kiosk.extensions import db
from kiosk.models import Alert, Handout, PrintJob

from .conftest import (
    POSTGRES_MISSING,
    POSTGRES_REQUIRED,
    POSTGRES_URL,
    STAFF_PASSWORD,
    Desk,
    Kiosk,
    app_config,
    run_worker,
)

if not POSTGRES_URL and not POSTGRES_REQUIRED:
    pytest.skip(POSTGRES_MISSING, allow_module_level=True)


def test_migrations_build_the_models_schema_on_postgresql(pg_app):
    with pg_app.app_context(), db.engine.connect() as connection:
        assert connection.dialect.name == "postgresql"
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []


def test_a_visit_an_alert_and_a_print_on_postgresql(pg_app):
    kiosk = Kiosk(pg_app.test_client())
    kiosk.answer_all({"warning_signs": ["fever"], "own_question_1": "¿Puedo nadar? 🏊"})
    assert kiosk.finish().headers["Location"] == "/visit/done"
    run_worker(pg_app)
    with pg_app.app_context():
        create_staff("maria", STAFF_PASSWORD)
        handout = db.session.scalar(select(Handout))
        assert handout.pdf.startswith(b"%PDF")
        assert db.session.scalar(select(Alert.signs)) == ["fever"]
        assert handout.visit.answers["own_question_1"] == "¿Puedo nadar? 🏊"
    desk = Desk(pg_app.test_client())
    assert desk.sign_in().status_code == 302
    assert "Urgent" in desk.get("/desk/queue").get_data(as_text=True)
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    run_worker(pg_app)
    with pg_app.app_context():
        assert db.session.scalar(select(PrintJob.state)) == "completed"


def test_a_visit_resumes_in_another_app_process(tmp_path, pg_app):
    kiosk = Kiosk(pg_app.test_client())
    kiosk.start()
    kiosk.answer("safety")
    cookie = kiosk.client.get_cookie("kiosk_session")
    other = create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=POSTGRES_URL)).test_client()
    other.set_cookie(cookie.key, cookie.value)
    assert other.get("/visit/situation").status_code == 200


def test_a_finish_raced_from_several_processes_makes_one_handout(pg_app):
    kiosk = Kiosk(pg_app.test_client())
    kiosk.answer_all()
    kiosk.get("/visit/review")
    cookie = kiosk.client.get_cookie("kiosk_session")

    def finish(_):
        client = pg_app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        return client.post("/visit/finish", data={"csrf_token": kiosk.token}).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(finish, range(8)))
    assert set(statuses) == {303}
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(Handout.id))) == 1


def test_handouts_keep_their_rows_through_the_rename_on_postgresql(pg_app):
    from flask_migrate import downgrade

    from .support.migrations import check_handouts_keep_their_rows_through_the_rename

    with pg_app.app_context():
        downgrade(revision="ae502a60cb97")
    check_handouts_keep_their_rows_through_the_rename(pg_app)
    with pg_app.app_context(), db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []


def test_statistics_count_every_visit_started_at_once_and_a_raced_finish_once(pg_app):
    from datetime import timedelta

    from kiosk import retention
    from kiosk.models import DailyCount, Visit

    def start(_):
        kiosk = Kiosk(pg_app.test_client())
        kiosk.start()
        return kiosk.answer("safety").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(start, range(16))) == {303}
    test_a_finish_raced_from_several_processes_makes_one_handout(pg_app)
    with pg_app.app_context():
        for visit in db.session.scalars(select(Visit).where(Visit.finished_at.is_(None))):
            visit.updated_at -= timedelta(hours=2)
        db.session.commit()
        assert retention.purge().abandoned_visits == 16
        totals = dict(
            db.session.execute(
                select(DailyCount.metric, func.sum(DailyCount.count)).group_by(DailyCount.metric)
            ).all()
        )
        abandoned_at = db.session.scalar(select(DailyCount.step).where(DailyCount.metric == "abandoned"))
    assert totals == {"started": 17, "finished": 1, "abandoned": 16}
    assert abandoned_at == "situation"
