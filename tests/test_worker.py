"""The worker: handouts made after Finish, failures retried then shown,
abandoned visits discarded, and a worker that stops when told."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import select, update

from kiosk import handout_jobs, leases
from kiosk.extensions import db
from kiosk.models import AuditEvent, Handout, HandoutState, utcnow
from kiosk.worker import render_due

from .conftest import run_worker
from .support.desk import finished_visit

CANARY = "Canary-7Q: my neighbour Mrs Ortega drives me"


def wait_for(condition, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.05)


def stored(app, handout_id: int) -> Handout:
    with app.app_context():
        handout = db.session.get(Handout, handout_id)
        db.session.expunge(handout)
        return handout


def test_a_running_worker_makes_the_handout_after_the_patient_finishes(app, kiosk, running_worker):
    kiosk.answer_all()
    assert kiosk.finish().headers["Location"] == "/visit/done"

    def ready() -> bool:
        with app.app_context():
            return db.session.scalar(select(Handout.state)) == HandoutState.READY

    wait_for(ready, "the handout to be made")
    with app.app_context():
        handout = db.session.scalar(select(Handout))
        assert handout.pdf.startswith(b"%PDF") and handout.lease_owner is None


def test_a_handout_that_fails_to_render_is_tried_again_then_shown_to_the_desk(app, desk, monkeypatch, caplog):
    handout = finished_visit(app, ready=False, own_question_1=CANARY)

    def broken(answers, **_):
        raise RuntimeError(f"layout failed near {answers['own_question_1']!r}")

    monkeypatch.setattr(handout_jobs, "handout_pdf", broken)
    caplog.set_level(logging.INFO)
    for attempt in range(1, handout_jobs.MAX_ATTEMPTS + 1):
        run_worker(app)
        after = stored(app, handout.id)
        assert after.attempts == attempt
        if attempt < handout_jobs.MAX_ATTEMPTS:
            assert after.state == HandoutState.PREPARING, "tried again a little later"
            assert after.lease_until > utcnow()
            with app.app_context():  # as if that little while had passed
                db.session.execute(update(Handout).values(lease_until=utcnow()))
                db.session.commit()
    assert (after.state, after.error) == (HandoutState.FAILED, handout_jobs.RENDER_FAILED)
    assert "RuntimeError" in caplog.text
    assert "Canary-7Q" not in caplog.text, "the log says where rendering failed, not what the patient wrote"

    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "The handout could not be made" in page and "Retry" in page
    assert "Could not be made" in desk.get("/desk/queue").get_data(as_text=True)

    monkeypatch.undo()
    desk.post(f"/desk/handouts/{handout.id}/retry")
    assert stored(app, handout.id).state == HandoutState.PREPARING
    run_worker(app)
    assert stored(app, handout.id).state == HandoutState.READY
    with app.app_context():
        assert "retry-handout" in db.session.scalars(select(AuditEvent.action)).all()


def test_a_render_whose_worker_died_is_taken_over_once_its_lease_runs_out(app):
    handout = finished_visit(app, ready=False)
    with app.app_context():
        dead = leases.claim(
            Handout,
            Handout.state == HandoutState.PREPARING,
            owner="killed-mid-render",
            seconds=60,
            order_by=Handout.id,
        )
        assert dead is not None
        assert render_due("worker-b") == 0, "a live lease is left alone"
        db.session.execute(update(Handout).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert render_due("worker-b") == 1
    after = stored(app, handout.id)
    assert (after.state, after.attempts, after.lease_owner) == (HandoutState.READY, 2, None)


def test_the_worker_stops_when_told_and_says_goodbye(app, running_worker):
    from kiosk import health

    with app.app_context():
        wait_for(health.worker_running, "the worker's first beat")
    running_worker.stop.set()
    with app.app_context():
        wait_for(lambda: not health.worker_running(), "the worker to leave")


def test_the_worker_command_once_does_what_is_due(app, runner):
    handout = finished_visit(app, ready=False)
    result = runner.invoke(args=["kiosk", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Done: 1 piece(s) of work." in result.output
    assert stored(app, handout.id).state == HandoutState.READY


def test_the_idle_render_lane_looks_for_letters_without_reading_every_ready_handout(app):
    """Idle, the render lane asks twice a second whether a print job waits for
    a records letter. The answer comes from the queued letter jobs, so it
    costs the same with a day's handouts kept as with a few (counted in
    SQLite's own steps, which do not depend on the machine's speed)."""
    from sqlalchemy import event

    from kiosk.models import PrintJob, PrintState, Visit

    def add_ready_handouts(count: int) -> None:
        start = db.session.scalar(select(db.func.count(Handout.id)))
        for number in range(start, start + count):
            visit = Visit(id=f"visit-{number}", kiosk="k", language="en", answers={}, finished_at=utcnow())
            handout = Handout(
                visit=visit, claim_code=f"C{number:05d}", kiosk="k", language="en", pdf=b"%PDF" * 4000
            )
            handout.state = HandoutState.READY
            db.session.add(PrintJob(handout=handout, printer="p", part="letter", state=PrintState.COMPLETED))
        db.session.commit()

    def idle_steps() -> int:
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        def watch(connection, *_args) -> None:
            connection.connection.driver_connection.set_progress_handler(count, 1)

        event.listen(db.engine, "before_cursor_execute", watch)
        try:
            assert handout_jobs.render_letter_next("idle") is False
        finally:
            event.remove(db.engine, "before_cursor_execute", watch)
        return steps

    with app.app_context():
        add_ready_handouts(10)
        few = idle_steps()
        add_ready_handouts(300)
        many = idle_steps()
    assert many < few * 1.5, (few, many)
