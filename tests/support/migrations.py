"""Checks of the migrations that run on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from kiosk.extensions import db


def check_handouts_keep_their_rows_through_the_rename(app) -> None:
    """Rows stored as ``submission`` are the same rows as ``handout``, and back."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    with app.app_context():
        upgrade(revision="ae502a60cb97")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO visit (id, kiosk, language, answers, completed_steps, created_at, updated_at)"
                    " VALUES ('v1', 'K', 'en', '{}', '[]', '2026-11-28', '2026-11-28')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO submission (id, visit_id, claim_code, kiosk, language, created_at, updated_at,"
                    " state, error, page_count, attempts) VALUES (7, 'v1', 'K7P2', 'K', 'en', '2026-11-28',"
                    " '2026-11-28', 'ready', '', 2, 0)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO print_job (submission_id, printer, state, reason, requested_by,"
                    " requested_at, created_at, updated_at, attempts) VALUES (7, 'desk', 'done', '', 'ana',"
                    " '2026-11-28', '2026-11-28', '2026-11-28', 0)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT id, claim_code FROM handout")).all() == [(7, "K7P2")]
            assert connection.execute(text("SELECT handout_id FROM print_job")).scalar_one() == 7
        db.session.remove()
        downgrade(revision="ae502a60cb97")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT claim_code FROM submission")).scalar_one() == "K7P2"
            assert connection.execute(text("SELECT submission_id FROM print_job")).scalar_one() == 7
        upgrade()
