"""Patient data kept only as long as needed: abandoned and finished visits,
their handouts, print jobs and saved copies, alerts, sign-in traces and the
audit log go when their settings say, and gone means gone from disk."""

from __future__ import annotations

import os
import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from kiosk import auth, braille, retention
from kiosk.extensions import db
from kiosk.models import Alert, AuditEvent, Handout, PrintJob, SignInFailure, StaffSession, Visit, utcnow

from .conftest import Kiosk, run_worker
from .support.braille import LIBLOUIS_MISSING
from .support.desk import finished_visit

CANARY = "Canary-RT5 my sister Philippa drives me"


def purge(app) -> retention.Purged:
    with app.app_context():
        return retention.purge()


def age(app, model, ago: timedelta, *columns: str) -> None:
    """As if these rows' `columns` were `ago` earlier."""
    with app.app_context():
        for row in db.session.scalars(select(model)):
            for column in columns:
                if getattr(row, column) is not None:
                    setattr(row, column, getattr(row, column) - ago)
        db.session.commit()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def printed_copies(app) -> list[Path]:
    return sorted(Path(app.config["PRINT_DIRECTORY"]).glob("*.pdf"))


def print_to_folder(app, desk, handout) -> None:
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    run_worker(app)


def test_an_abandoned_visit_goes_whether_or_not_its_browser_comes_back(app, kiosk):
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["fever"]})
    kiosk.answer("situation")
    assert purge(app).abandoned_visits == 0
    age(app, Visit, timedelta(minutes=61), "updated_at")
    assert purge(app).abandoned_visits == 1
    assert count(app, Visit) == 0
    with app.app_context():
        alert = db.session.scalar(select(Alert))
        assert alert.signs == ["fever"] and alert.visit_id is None, "the desk keeps the alert"


def test_a_finished_visit_goes_with_its_handout_print_jobs_and_copies_after_a_day(app, desk):
    handout = finished_visit(app, own_question_1=CANARY)
    print_to_folder(app, desk, handout)
    assert printed_copies(app)
    age(app, Handout, timedelta(hours=23), "created_at")
    assert purge(app).handouts == 0, "not before its time"

    age(app, Handout, timedelta(hours=1, minutes=1), "created_at")
    purged = purge(app)
    assert (purged.handouts, purged.saved_copies) == (1, 0)  # the copy went with its row
    assert count(app, Visit) == count(app, Handout) == count(app, PrintJob) == 0
    assert printed_copies(app) == []
    assert desk.get(f"/desk/handouts/{handout.id}").status_code == 404


def test_a_handout_handed_over_goes_sooner_when_the_clinic_says_so(app, desk):
    handout = finished_visit(app)
    desk.post(f"/desk/handouts/{handout.id}/handed-over")
    age(app, Handout, timedelta(minutes=31), "handed_over_at")
    assert purge(app).handouts == 0, "off by default"
    app.config["HANDED_OVER_RETENTION_MINUTES"] = 30
    assert purge(app).handouts == 1


def test_an_alert_goes_a_day_after_it_was_acknowledged_and_never_before(app, kiosk, desk):
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["bladder"]})
    age(app, Alert, timedelta(days=3), "created_at")
    assert purge(app).alerts == 0, "an urgent sign waits for staff, however old"
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    desk.post(f"/desk/alerts/{alert_id}/acknowledge")
    age(app, Alert, timedelta(hours=25), "acknowledged_at")
    assert purge(app).alerts == 1


def test_sign_in_traces_and_the_audit_log_go_after_their_time(app, desk):
    with app.app_context():
        db.session.add(SignInFailure(username="maria", remote_addr="10.0.0.9"))
        db.session.commit()
    desk.post("/desk/sign-out")
    age(app, SignInFailure, auth.FAILURE_WINDOW + timedelta(seconds=1), "at")
    age(app, StaffSession, timedelta(days=2), "ended_at")
    purged = purge(app)
    assert (purged.sign_in_attempts, purged.desk_sessions) == (1, 1)
    audited = count(app, AuditEvent)
    age(app, AuditEvent, timedelta(days=2189), "at")
    assert purge(app).audit_events == 0, "kept six years"
    age(app, AuditEvent, timedelta(days=2), "at")
    assert purge(app).audit_events == audited


def test_the_print_folder_sweep_takes_only_its_own_old_copies(app):
    folder = Path(app.config["PRINT_DIRECTORY"])
    folder.mkdir(parents=True, exist_ok=True)
    day_old = time.time() - 25 * 3600
    ours_old, ours_new, theirs = (
        folder / "K7P2-17-3fa0.pdf",
        folder / "K7P2-18-00b1.pdf",
        folder / "budget.pdf",
    )
    for path in (ours_old, ours_new, theirs):
        path.write_bytes(b"%PDF")
    os.utime(ours_old, (day_old, day_old))
    os.utime(theirs, (day_old, day_old))
    assert purge(app).saved_copies == 1
    assert sorted(p.name for p in folder.iterdir()) == ["K7P2-18-00b1.pdf", "budget.pdf"]


def test_the_purge_command(app, runner):
    result = runner.invoke(args=["kiosk", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Deleted: 0 abandoned visits, 0 handouts")


# --- gone from disk --------------------------------------------------------------------------


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_a_purged_visit_leaves_no_trace_of_its_words_in_any_file(app, desk):
    instance = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent
    handout = finished_visit(app, own_question_1=CANARY, reasons=["other"], reasons_other=CANARY)
    print_to_folder(app, desk, handout)
    with app.app_context():
        db.session.execute(update(Handout).values(created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
    assert files_holding(instance, CANARY.encode()), "the check can see the words before the purge"

    purge(app)
    assert files_holding(instance, CANARY.encode()) == []


@pytest.mark.skipif(bool(LIBLOUIS_MISSING), reason=LIBLOUIS_MISSING or "")
def test_a_purged_handout_leaves_no_trace_of_its_braille_in_any_file(app):
    instance = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent
    handout = finished_visit(app, own_question_1=CANARY)
    with app.app_context():
        stored = db.session.get(Handout, handout.id)
        stored.braille, _pages = braille.handout_brf(
            {**stored.visit.answers},
            language="en",
            claim_code=stored.claim_code,
            created_at=stored.created_at,
        )
        stored.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
        [needle] = braille.translate(["Philippa drives"], "en")
    assert files_holding(instance, needle.encode()), "the check can see the braille before the purge"

    assert purge(app).handouts == 1
    assert files_holding(instance, needle.encode()) == []


def test_the_database_handouts_and_instance_folder_are_for_the_service_user_only(tmp_path, monkeypatch):
    from kiosk import create_app
    from kiosk.database import create_tables

    from .conftest import app_config

    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        app_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/instance/kiosk.sqlite3")
    )
    with app.app_context():
        create_tables()
    handout = finished_visit(app)
    with app.app_context():
        db.session.add(PrintJob(handout_id=handout.id, printer="directory", requested_by="maria"))
        db.session.commit()
    run_worker(app)
    instance = tmp_path / "instance"
    written = [instance / "kiosk.sqlite3", instance / "kiosk.sqlite3-wal", *printed_copies(app)]
    assert len(written) == 3
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_the_worker_rewrites_the_patient_tables_at_most_every_few_minutes(app, monkeypatch):
    """Each rewrite locks the patient tables (PostgreSQL): the worker's purge,
    every minute, rewrites after deleting at most every POSTGRES_REWRITE_MINUTES,
    and the purge command at once."""
    rewrites = []
    monkeypatch.setattr(retention, "_vacuum_postgresql", lambda *, full: rewrites.append(full) or True)
    clock = [1000.0]
    monkeypatch.setattr(retention.time, "monotonic", lambda: clock[0])

    def expire_a_visit(kiosk):
        kiosk.start()
        age(app, Visit, timedelta(minutes=61), "updated_at")

    assert not purge(app).anything and rewrites == [], "nothing deleted, nothing to rewrite"
    expire_a_visit(Kiosk(app.test_client()))
    assert purge(app).abandoned_visits == 1 and rewrites == [True]

    expire_a_visit(Kiosk(app.test_client()))
    clock[0] += 14 * 60
    assert purge(app).abandoned_visits == 1 and len(rewrites) == 1, "not due yet: owed"
    clock[0] += 60
    assert not purge(app).anything and len(rewrites) == 2, "the owed rewrite, once due"
    assert not purge(app).anything and len(rewrites) == 2

    expire_a_visit(Kiosk(app.test_client()))
    with app.app_context():
        assert retention.purge(rewrite_now=True).abandoned_visits == 1
    assert len(rewrites) == 3, "kiosk purge does not wait"
