"""On PostgreSQL, a purged visit's words leave the tables' files too: a
deleted row stays in its table's data file as a dead tuple (and in the
page's free space after a plain VACUUM) until the table is rewritten, so
the purge rewrites the patient tables.

Reads the tables' files from the cluster's data directory after a
CHECKPOINT, as the postgres user runs it: needs the test database on this
machine and root (CI has both). Like the other PostgreSQL tests it runs when
KIOSK_TEST_DATABASE_URL names a database it may wipe.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text, update

from kiosk import retention
from kiosk.extensions import db
from kiosk.models import Alert, Handout, PrintJob, Visit, utcnow

from .conftest import POSTGRES_REQUIRED, POSTGRES_URL, ok
from .support.desk import finished_visit

PATIENT_TABLES = [model.__tablename__ for model in (Visit, Handout, PrintJob, Alert)]


def as_postgres(sql: str, database: str = "postgres") -> str:
    """Run SQL as the cluster's superuser (the app's role may not CHECKPOINT)."""
    done = subprocess.run(
        ["su", "postgres", "-c", f'psql -qtAX -d {database} -c "{sql}"'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def data_directory(pg_app) -> Path:
    """The cluster's data directory, readable here: a cluster on this machine, and root."""
    why = ""
    if os.geteuid() != 0:
        why = "reading PostgreSQL's data files needs root"
    elif subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        why = "there is no postgres user on this machine"
    if why:
        if POSTGRES_REQUIRED:
            pytest.fail(f"{why}; KIOSK_REQUIRE_POSTGRES is set, so this is a failure", pytrace=False)
        pytest.skip(why)
    return Path(as_postgres("SHOW data_directory"))


def table_files(app, data_directory: Path) -> set[Path]:
    """Every file of the patient tables: their heaps, TOAST tables and indexes, all segments."""
    with app.app_context():
        paths = db.session.scalars(
            text(
                """
                SELECT pg_relation_filepath(c.oid) FROM pg_class c
                WHERE c.oid IN (SELECT unnest(ARRAY[t.oid, t.reltoastrelid]) FROM pg_class t
                                WHERE t.relname = ANY(:tables) AND t.relkind = 'r')
                   OR c.oid IN (SELECT indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                                WHERE t.relname = ANY(:tables) OR t.oid IN (
                                    SELECT reltoastrelid FROM pg_class WHERE relname = ANY(:tables)))
                """
            ),
            {"tables": PATIENT_TABLES},
        ).all()
    files = set()
    for relative in filter(None, paths):
        base = data_directory / relative
        files |= {base, *base.parent.glob(f"{base.name}.*"), *base.parent.glob(f"{base.name}_*")}
    return files


def holding(files: set[Path], needles: list[bytes]) -> list[Path]:
    found = []
    for path in sorted(files):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a rewritten table's old file, removed at the checkpoint
            continue
        if any(needle in data for needle in needles):
            found.append(path)
    return found


def pdf_pieces(pdf: bytes, others: list[bytes]) -> list[bytes]:
    """Pieces of a handout's PDF found in no other handout (their fonts and
    layout are alike): TOAST cuts a stored value into ~2 kB chunks, and
    pieces of 48 bytes every 256 find it whatever the cuts."""
    pieces = [pdf[at : at + 48] for at in range(0, len(pdf) - 48, 256)]
    return [piece for piece in pieces if not any(piece in other for other in others)]


def test_after_the_purge_no_file_of_the_patient_tables_holds_the_visit(pg_app, data_directory, desk):
    app = pg_app
    canary = f"Canary{secrets.token_hex(4)}Philippa"
    handout = finished_visit(app, own_question_1=canary, reasons=["other"], reasons_other=canary)
    others = [finished_visit(app) for _ in range(3)]  # live rows on the same pages, before and after
    with app.app_context():
        pdf = db.session.get(Handout, handout.id).pdf
        pieces = pdf_pieces(pdf, [db.session.get(Handout, other.id).pdf for other in others])
    assert len(pieces) > 10
    as_postgres("CHECKPOINT")
    before = table_files(app, data_directory)
    assert holding(before, [canary.encode()]), "the search sees the words in the table's file"
    assert holding(before, pieces), "and the handout's PDF in its TOAST table"

    with app.app_context():
        db.session.execute(
            update(Handout).where(Handout.id == handout.id).values(created_at=utcnow() - timedelta(hours=25))
        )
        db.session.commit()
    with app.app_context():
        assert retention.purge().handouts == 1
    as_postgres("CHECKPOINT")

    files = before | table_files(app, data_directory)
    assert holding(files, [canary.encode()]) == []
    server_logs = {p for p in Path("/var/log/postgresql").glob("*") if p.is_file()}
    assert holding(server_logs, [canary.encode()]) == [], "the server's log holds no answer either"
    assert holding(files, pieces) == []
    with app.app_context():
        assert db.session.scalars(select(Handout.id).order_by(Handout.id)).all() == [h.id for h in others]


def test_a_rewrite_that_cannot_get_its_lock_is_done_after_the_next_purge(
    pg_app, data_directory, monkeypatch, caplog
):
    """A long reader holds the rewrite up: the purge does not wait on it for
    more than a moment (every kiosk would queue behind), and the next purge,
    though it deletes nothing, rewrites the tables."""
    import time

    app = pg_app
    canary = f"Canary{secrets.token_hex(4)}Philippa"
    finished_visit(app, own_question_1=canary)
    with app.app_context():
        db.session.execute(update(Handout).values(created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
        reader = db.engine.connect()
        reader.execute(select(Visit.id).limit(1)).all()  # its transaction stays open
        try:
            started = time.monotonic()
            assert retention.purge().handouts == 1
            assert time.monotonic() - started < 3, "the purge waited on the reader"
        finally:
            reader.rollback()
            reader.close()
    assert "could not vacuum the patient tables" in caplog.text
    as_postgres("CHECKPOINT")
    assert holding(table_files(app, data_directory), [canary.encode()]), "not rewritten yet"

    with app.app_context():
        assert not retention.purge().anything
    as_postgres("CHECKPOINT")
    assert holding(table_files(app, data_directory), [canary.encode()]) == []


def test_the_check_says_when_the_purge_cannot_rewrite_a_table_it_does_not_own(pg_app, data_directory, cups):
    cups(
        {
            "lpstat -H": ok("/run/cups/cups.sock\n"),
            "cupsctl": ok("PreserveJobFiles=No\n"),
            "lpstat -v": ok(""),
        }
    )
    database = make_url(POSTGRES_URL).database
    role = make_url(POSTGRES_URL).username
    as_postgres("ALTER TABLE visit OWNER TO postgres", database)
    try:
        result = pg_app.test_cli_runner().invoke(args=["kiosk", "check"])
    finally:
        as_postgres(f"ALTER TABLE visit OWNER TO {role}", database)
    assert result.exit_code == 1
    assert "PROBLEM: The database role does not own the tables visit: the purge cannot rewrite them" in (
        result.output
    )
