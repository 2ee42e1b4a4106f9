"""A short load test: ten kiosks doing full visits for ten seconds against
gunicorn and the worker, then every handout checked (``tests/load``).

Counts only, never timings: no server error, no unexpected answer, every
claim code a kiosk showed has its handout, ready and printed exactly once.

On SQLite always; on PostgreSQL when KIOSK_TEST_DATABASE_URL names a
database it may wipe (as tests/test_postgres.py; with KIOSK_REQUIRE_POSTGRES
set, a missing URL is a failure).
"""

from __future__ import annotations

import importlib.util

import pytest

from .conftest import POSTGRES_MISSING, POSTGRES_REQUIRED, POSTGRES_URL
from .load.generator import Pacing
from .load.loadtest import run

pytestmark = pytest.mark.load

KIOSKS = 10
SECONDS = 10
THINK = 1.0


@pytest.fixture(autouse=True)
def locust_installed():
    # Only looked for, never imported here: importing Locust patches the
    # whole process for gevent. It runs in a process of its own.
    if importlib.util.find_spec("locust") is None:
        pytest.fail("Locust is not installed: pip install -e '.[test]'", pytrace=False)


def assert_every_visit_accounted_for(result: dict) -> None:
    summary = {k: result.get(k) for k in ("error_examples", "lost_detail", "duplicated_detail", "logs")}
    assert result["errors_5xx"] == 0, summary
    assert result["errors_other"] == 0, summary
    assert result["lost"] == 0, summary
    assert result["duplicated"] == 0, summary
    assert result["visits_completed"] > 0, summary
    assert result["printed"] == result["visits_completed"], summary


def test_ten_kiosks_on_sqlite():
    result = run(
        kiosks=KIOSKS, seconds=SECONDS, pacing=Pacing(THINK), database_url=None, printer="directory", drain=60
    )
    assert result["database"] == "sqlite"
    assert_every_visit_accounted_for(result)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL and not POSTGRES_REQUIRED, reason=POSTGRES_MISSING)
def test_ten_kiosks_on_postgresql():
    if not POSTGRES_URL:
        pytest.fail(f"{POSTGRES_MISSING}; KIOSK_REQUIRE_POSTGRES is set, so this is a failure", pytrace=False)
    result = run(
        kiosks=KIOSKS,
        seconds=SECONDS,
        pacing=Pacing(THINK),
        database_url=POSTGRES_URL,
        printer="directory",
        drain=60,
    )
    assert result["database"] == "postgresql"
    assert_every_visit_accounted_for(result)
