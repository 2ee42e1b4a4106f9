"""Statistics with no patient data: where patients stop, alerts and how long
they wait, prints, time and taps to finish, per day and per kiosk; counts that
outlive the purge and lead back to no one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from kiosk import questionnaire as qn
from kiosk import retention, statistics
from kiosk.extensions import db
from kiosk.models import Alert, DailyCount, Handout, Visit

from .conftest import Kiosk, run_worker

# --- medians from buckets, buckets, taps ------------------------------------------------


@pytest.mark.parametrize(
    "histogram, expected",
    [
        ({}, None),
        ({0: 0}, None),
        ({7: 1}, 7),
        ({3: 1, 9: 1}, 6),  # an even count: the mean of the two middle values
        ({10: 2, 20: 1}, 10),
        ({10: 1, 20: 1, 30: 1, 40: 1}, 25),
        ({1: 1, 2: 5, 100: 1}, 2),  # one long visit does not move the median
        ({22: 3, 18: 4}, 18),  # buckets in any order
    ],
)
def test_the_median_is_read_from_the_buckets(histogram, expected):
    assert statistics.median(histogram) == expected


@pytest.mark.parametrize(
    "seconds, bucket",
    [
        (0, 0),
        (14.9, 0),
        (15, 15),
        (599, 585),
        (600, 600),
        (659, 600),
        (7199, 7140),
        (7200, 7200),
        (10**7, 86400),
    ],
)
def test_times_are_counted_in_buckets_finer_for_short_times(seconds, bucket):
    assert statistics.seconds_bucket(seconds) == bucket


@pytest.mark.parametrize(
    "raw, taps",
    [
        ("22", 22),
        ("0", 0),
        ("2000", 2000),
        (" 7 ", 7),
        ("2001", None),
        ("-3", None),
        ("3.5", None),
        ("1e3", None),
        ("٣", None),  # an Arabic-Indic digit is a digit to Python, not a tap count
        ("", None),
        ("9" * 5000, None),
        (None, None),
    ],
)
def test_a_tap_count_is_a_whole_number_up_to_2000_or_nothing(raw, taps):
    assert statistics.parse_taps(raw) == taps


# --- counting ---------------------------------------------------------------------------


def counts(app) -> dict[tuple[str, str, int], int]:
    """Every counter: (metric, step, bucket) -> count, over all days and kiosks."""
    with app.app_context():
        totals: dict[tuple[str, str, int], int] = {}
        for row in db.session.scalars(select(DailyCount)):
            key = (row.metric, row.step, row.bucket)
            totals[key] = totals.get(key, 0) + row.count
        return totals


def metric(app, name: str) -> int:
    return sum(n for (m, _, _), n in counts(app).items() if m == name)


def abandoned_at(app) -> dict[str, int]:
    return {step: n for (m, step, _), n in counts(app).items() if m == "abandoned"}


def age(app, model, ago: timedelta, column: str) -> None:
    """As if every row's `column` were `ago` earlier."""
    with app.app_context():
        for row in db.session.scalars(select(model)):
            if getattr(row, column) is not None:
                setattr(row, column, getattr(row, column) - ago)
        db.session.commit()


def test_a_finished_visit_counts_once_with_its_time_and_taps(app, kiosk):
    kiosk.answer_all()
    kiosk.get("/visit/review")
    assert kiosk.post("/visit/finish", {"taps": "23"}).status_code == 303
    kiosk.post("/visit/finish", {"taps": "24"})  # a double tap: the same visit
    assert metric(app, "started") == 1
    assert metric(app, "finished") == 1
    assert {b: n for (m, _, b), n in counts(app).items() if m == "taps"} == {23: 1}
    assert metric(app, "abandoned") == 0


def test_a_finish_without_taps_or_with_garbage_is_counted_without_taps(app):
    for taps in (None, "lots", "-1", "99999", "<script>"):
        kiosk = Kiosk(app.test_client())
        kiosk.answer_all()
        kiosk.get("/visit/review")
        response = kiosk.post("/visit/finish", {} if taps is None else {"taps": taps})
        assert response.status_code == 303 and response.headers["Location"] == "/visit/done"
    assert metric(app, "finished") == 5
    assert metric(app, "taps") == 0


def test_a_wiped_visit_counts_as_given_up_at_the_step_it_was_on(app, kiosk):
    kiosk.start()
    kiosk.post("/reset")  # the idle timer, on the first step
    kiosk.start()
    kiosk.answer("safety")
    kiosk.answer("situation")
    kiosk.start()  # "Start over": the visit on screen is given up
    for step in qn.STEPS:
        kiosk.answer(step.id)
    kiosk.post("/reset")  # everything answered, never finished: given up at review
    assert abandoned_at(app) == {"safety": 1, "reasons": 1, "review": 1}
    assert metric(app, "started") == 3
    assert metric(app, "finished") == 0


def test_a_finished_visit_wiped_after_done_is_not_given_up(app, kiosk):
    kiosk.answer_all()
    kiosk.finish()
    kiosk.post("/reset")
    assert metric(app, "abandoned") == 0


def test_a_visit_left_to_expire_counts_once_whether_its_browser_comes_back_or_not(app):
    came_back, never_did = Kiosk(app.test_client()), Kiosk(app.test_client())
    came_back.start()
    came_back.answer("safety")
    never_did.start()
    for step in qn.STEPS[:3]:
        never_did.answer(step.id)
    age(app, Visit, timedelta(minutes=61), "updated_at")

    came_back.get("/visit/situation")  # expired on load
    with app.app_context():
        assert retention.purge().abandoned_visits == 1
        assert retention.purge().abandoned_visits == 0
    assert abandoned_at(app) == {"situation": 1, qn.STEPS[3].id: 1}


def test_an_alert_counts_once_and_its_wait_when_acknowledged(app, kiosk, desk):
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["fever"]})
    kiosk.get("/visit/safety")
    kiosk.answer("safety", {"warning_signs": ["fever", "cancer"]})  # back, and one more: the same alert
    assert metric(app, "alert") == 1
    age(app, Alert, timedelta(minutes=3, seconds=20), "created_at")
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    desk.post(f"/desk/alerts/{alert_id}/acknowledge")
    desk.post(f"/desk/alerts/{alert_id}/acknowledge")  # a second tap, or a colleague's
    assert {b: n for (m, _, b), n in counts(app).items() if m == "acknowledged"} == {195: 1}


def test_a_printed_handout_counts_once_each_print(app, desk):
    from .test_desk import finished_visit

    handout = finished_visit(app)
    for _ in range(2):  # printed, then reprinted
        desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
        run_worker(app)
        run_worker(app)
    assert metric(app, "printed") == 2


def test_counts_add_up_in_one_row_a_day_a_kiosk_a_thing(app):
    with app.app_context():
        for _ in range(3):
            statistics.visit_started("Lobby")
        statistics.visit_started("Annex")
        db.session.commit()
        rows = db.session.execute(select(DailyCount.kiosk, DailyCount.count).order_by(DailyCount.kiosk)).all()
    assert rows == [("Annex", 1), ("Lobby", 3)]


def test_a_count_is_kept_only_if_its_event_is(app):
    with app.app_context():
        statistics.visit_started("Lobby")
        db.session.rollback()
    assert counts(app) == {}


# --- no patient data, and it outlives the purge ---------------------------------------------


def test_the_counts_hold_no_visit_ids_claim_codes_or_words(app, kiosk):
    typed = "Canary-ST7 my neighbour Ottoline"
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["bladder"]})
    for step in qn.STEPS[1:]:
        kiosk.answer(step.id, {"reasons": ["other"], "reasons_other": typed, "own_question_1": typed})
    kiosk.finish()
    kiosk.start()
    kiosk.answer("safety")
    kiosk.post("/reset")
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("daily_count")}
        assert columns == {"id", "day", "kiosk", "metric", "step", "bucket", "count"}
        secrets_ = {db.session.scalar(select(Handout.claim_code))}
        secrets_ |= set(db.session.scalars(select(Visit.id)))
        rows = db.session.execute(select(DailyCount.__table__)).all()
    assert secrets_ and rows
    stored = repr(rows)
    for secret in [*secrets_, typed, "Canary", "bladder"]:
        assert secret not in stored
    allowed_steps = {"", *(step for step, _ in statistics.STEP_TITLES)}
    assert all(row.step in allowed_steps and row.metric in set(statistics.Metric) for row in rows)


def test_the_counts_outlive_the_purge_of_visits_handouts_and_alerts(app, desk):
    from .test_desk import finished_visit

    handout = finished_visit(app, warning_signs=["fever"])
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    run_worker(app)
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    desk.post(f"/desk/alerts/{alert_id}/acknowledge")
    before = counts(app)
    age(app, Handout, timedelta(hours=25), "created_at")
    age(app, Alert, timedelta(hours=25), "acknowledged_at")
    with app.app_context():
        purged = retention.purge()
    assert (purged.handouts, purged.alerts) == (1, 1)
    assert counts(app) == before
    assert {m for m, _, _ in before} == {"started", "finished", "alert", "acknowledged", "printed"}
