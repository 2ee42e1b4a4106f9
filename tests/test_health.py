"""``/healthz`` probed by several load balancers at once, on SQLite and on
PostgreSQL: every probe of a new database answers, none is refused."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select

from kiosk.extensions import db
from kiosk.models import HealthProbe
from kiosk.worker import beat

PROBES = 8
ROUNDS = 6


def probe_at_once(app) -> list[dict]:
    """PROBES requests to /healthz released together; their bodies."""
    start = threading.Barrier(PROBES)
    answers: list[dict] = []
    lock = threading.Lock()

    def probe() -> None:
        client = app.test_client()
        start.wait()
        response = client.get("/healthz")
        with lock:
            answers.append({"status_code": response.status_code, **response.json})

    threads = [threading.Thread(target=probe) for _ in range(PROBES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request):
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


def test_probes_at_once_on_a_new_database_all_find_it_writable(any_app, caplog):
    app = any_app
    for _ in range(ROUNDS):
        with app.app_context():
            db.session.execute(delete(HealthProbe))  # a new database: no probe row yet
            beat("host:1:abc")  # and a live worker, so that a healthy host answers 200
            db.session.commit()
        answers = probe_at_once(app)
        assert len(answers) == PROBES
        assert all(a["database"] == "ok" for a in answers), answers
        assert all(a["status_code"] == 200 for a in answers), answers
    assert "refused a write" not in caplog.text
    with app.app_context():
        assert len(db.session.scalars(select(HealthProbe)).all()) == 1
