"""The nightly SQLite backup the README describes: a consistent copy, for
the service user's eyes only, whatever umask cron gives it."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def flask(env: dict[str, str], *args: str, umask: str = "022") -> subprocess.CompletedProcess[str]:
    """A `flask --app wsgi kiosk ...` command as cron runs it: a shell with its own umask."""
    command = " ".join(
        [f"umask {umask};", "exec", sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", *args]
    )
    done = subprocess.run(
        ["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_documented_backup_is_a_copy_only_its_owner_can_read(tmp_path):
    readme = (ROOT / "README.md").read_text()
    backups = readme[readme.index("**5. Backups.**") :]
    backups = backups[: backups.index("```", backups.index("```sh") + 5)]
    assert "kiosk backup /var/backups/kiosk/" in backups, "the README's backup is the command tested here"

    env = {**os.environ, "KIOSK_INSTANCE_PATH": str(tmp_path / "instance")}
    env.pop("DATABASE_URL", None)
    flask(env, "init-db")
    flask(env, "create-staff", "nightly", "--generate")
    out = tmp_path / "backups" / "kiosk-2026-12-06.sqlite3"
    flask(env, "backup", str(out))
    flask(env, "backup", str(out))  # the same night again: replaced whole

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name], "one file, nothing left beside it"
    with sqlite3.connect(out) as copy:
        assert copy.execute("SELECT username FROM staff").fetchall() == [("nightly",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_a_backup_of_postgresql_is_refused_with_what_to_use_instead(tmp_path, monkeypatch):
    from kiosk import create_app

    from .conftest import app_config

    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        app_config(tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    )
    result = app.test_cli_runner().invoke(args=["kiosk", "backup", str(tmp_path / "out.sqlite3")])
    assert result.exit_code == 1
    assert "pg_dump" in result.output
    assert not (tmp_path / "out.sqlite3").exists()
