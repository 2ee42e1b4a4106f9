"""The application shell: health check, headers, static assets, no outside hosts."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from kiosk import create_app
from kiosk.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_is_ok_with_a_writable_database_and_a_live_worker(app, client):
    from kiosk.worker import beat

    with app.app_context():
        beat("host:1:abc")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "disk": "ok", "worker": "running"}


def test_healthz_fails_while_no_worker_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "ok"
    assert response.json["disk"] == "ok"
    assert response.json["worker"] == "not running"
    assert "No worker" in response.json["reason"]


def test_healthz_reports_a_broken_database(app, client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("UPDATE health_probe", {}, Exception("gone"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unavailable"


def test_healthz_fails_when_the_database_is_read_only(tmp_path, monkeypatch):
    from kiosk.database import create_tables
    from kiosk.worker import beat

    from .conftest import app_config

    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    database = tmp_path / "kiosk.sqlite3"
    writable = create_app(app_config(tmp_path))
    with writable.app_context():
        create_tables()
        beat("host:1:abc")
    read_only = create_app(
        app_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///file:{database}?mode=ro&uri=true")
    )
    response = read_only.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "read-only"
    assert "read-only" in response.json["reason"]


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_patient_pages_are_never_cached(kiosk):
    kiosk.start()
    assert kiosk.get("/visit/safety").headers["Cache-Control"] == "no-store"


def test_htmx_is_configured_to_keep_no_history_and_inject_no_styles(client):
    page = client.get("/").get_data(as_text=True)
    config = re.search(r'name="htmx-config" content=\'([^\']+)\'', page).group(1)
    assert '"historyCacheSize": 0' in config
    assert '"includeIndicatorStyles": false' in config
    assert '"allowEval": false' in config


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_or_style(template):
    source = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", source)
    assert not re.search(r"<style", source)
    assert not re.search(r'\sstyle="', source)
    assert not re.search(r"\son[a-z]+=", source)


def test_nothing_is_loaded_from_another_host(client):
    page = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not re.match(r"^(https?:)?//", url), url
    css = (ROOT / "static/css/kiosk.css").read_text() + (ROOT / "static/css/handout.css").read_text()
    assert "http" not in css


def test_htmx_is_the_recorded_pinned_version():
    script = (ROOT / "static/vendor/htmx/htmx.min.js").read_bytes()
    notes = (ROOT / "static/vendor/htmx/README.md").read_text()
    version = re.search(rb'version:"(2\.0\.\d+)"', script).group(1).decode()
    assert f"# htmx {version}" in notes
    assert hashlib.sha256(script).hexdigest() in notes
    assert (ROOT / "static/vendor/htmx/LICENSE").exists()


def test_a_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_idle_warning_never_gives_less_than_twenty_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    monkeypatch.setenv("IDLE_WARNING_SECONDS", "5")
    assert create_app().config["IDLE_WARNING_SECONDS"] == 20


@pytest.mark.parametrize("zone", ["America/Springfield", "America", "../../etc/passwd", "Not a zone"])
def test_a_time_zone_that_does_not_exist_stops_the_app_with_a_clear_message(tmp_path, monkeypatch, zone):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    monkeypatch.setenv("CLINIC_TIMEZONE", zone)
    with pytest.raises(ValueError, match=f"{zone!r} is not a time zone. Use a name like"):
        create_app()
    monkeypatch.setenv("CLINIC_TIMEZONE", "America/Chicago")
    assert str(create_app().config["CLINIC_TZ"]) == "America/Chicago"


def test_fractional_hours_from_the_environment_are_taken_as_they_are(tmp_path, monkeypatch):
    from datetime import timedelta

    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    monkeypatch.setenv("STAFF_SESSION_HOURS", "0.02")
    monkeypatch.setenv("STAFF_SESSION_MAX_HOURS", " 1.5 ")
    monkeypatch.setenv("RETENTION_HOURS", "0.5")
    monkeypatch.setenv("IDLE_SECONDS", "45")
    config = create_app().config
    assert config["STAFF_SESSION_HOURS"] == 0.02
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=0.02)
    assert config["STAFF_SESSION_MAX_HOURS"] == 1.5 and config["RETENTION_HOURS"] == 0.5
    assert config["IDLE_SECONDS"] == 45 and isinstance(config["IDLE_SECONDS"], int)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("STAFF_SESSION_HOURS", "abc", "STAFF_SESSION_HOURS must be a number of hours"),
        ("STAFF_SESSION_HOURS", "-1", "STAFF_SESSION_HOURS must be a number of hours"),
        ("RETENTION_HOURS", "nan", "RETENTION_HOURS must be a number of hours"),
        ("RETENTION_HOURS", "inf", "RETENTION_HOURS must be a number of hours"),
        ("IDLE_SECONDS", "1.5", "IDLE_SECONDS must be a whole number"),
        ("VISIT_EXPIRY_MINUTES", "-5", "VISIT_EXPIRY_MINUTES must be a whole number"),
        ("KIOSK_ENROLLMENT", "yes", "KIOSK_ENROLLMENT must be a whole number"),
        ("AUDIT_RETENTION_DAYS", "99999999", "AUDIT_RETENTION_DAYS may be at most 36,500 days"),
        ("RETENTION_HOURS", "1e300", "RETENTION_HOURS may be at most 876,000 hours"),
    ],
)
def test_a_setting_that_is_not_a_number_stops_the_app_with_a_clear_message(
    tmp_path, monkeypatch, name, value, says
):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(says)) as refused:
        create_app()
    assert repr(value) in str(refused.value)


def test_the_server_refuses_a_bad_setting_in_one_sentence_not_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "KIOSK_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'k.sqlite3'}",
        "STAFF_SESSION_HOURS": "abc",
    }
    started = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "init-db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "Traceback" not in started.stderr, started.stderr
    assert "STAFF_SESSION_HOURS must be a number of hours" in started.stderr, started.stderr
