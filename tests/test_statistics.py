"""Statistics with no patient data: where patients stop, alerts and how long
they wait, prints, time and taps to finish, per day and per kiosk; counts that
outlive the purge and lead back to no one."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select

from kiosk import create_app, retention, statistics
from kiosk import questionnaire as qn
from kiosk.clock import clinic_now
from kiosk.extensions import db
from kiosk.models import Alert, AuditEvent, DailyCount, Handout, Visit, utcnow

from .conftest import Kiosk, app_config, run_worker

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
    from .support.desk import finished_visit

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
    with app.app_context():
        allowed_steps = {"", *(step for step, _ in statistics.step_titles())}
    assert all(row.step in allowed_steps and row.metric in set(statistics.Metric) for row in rows)


def test_the_counts_outlive_the_purge_of_visits_handouts_and_alerts(app, desk):
    from .support.desk import finished_visit

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


# --- the page and the CSV ---------------------------------------------------------------------


def test_the_statistics_are_for_admins_only(app, client, desk):
    for url in ("/desk/statistics", "/desk/statistics.csv"):
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/desk/sign-in")
        refused = desk.get(url)
        assert refused.status_code == 403
        assert "This page is for administrators." in refused.get_data(as_text=True)
    assert 'href="/desk/statistics"' not in desk.get("/desk/").get_data(as_text=True)


def test_the_admin_nav_links_to_the_statistics(admin_desk):
    assert 'href="/desk/statistics"' in admin_desk.get("/desk/").get_data(as_text=True)


def cells(page: str, table: str) -> list[list[str]]:
    """The rows of a table on the page, each as its cells' text."""
    body = re.search(rf'<table[^>]*aria-labelledby="{table}"[^>]*>(.*?)</table>', page, re.S)
    assert body, f"no table {table}"
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
        for r in rows
    ]


def walk(app, kiosk_name: str, *, finish: bool = True, stop_after: int = 0, taps: str = "20") -> Kiosk:
    """A patient at a kiosk: finishes, or stops after answering `stop_after` steps."""
    app.config["KIOSK_NAME"] = kiosk_name
    patient = Kiosk(app.test_client())
    patient.start()
    for step in qn.STEPS[: len(qn.STEPS) if finish else stop_after]:
        patient.answer(step.id)
    if finish:
        patient.get("/visit/review")
        patient.post("/visit/finish", {"taps": taps})
    return patient


def test_the_page_and_the_csv_show_where_patients_stop(app, admin_desk):
    # Lobby: two finish (20 and 30 taps), one is wiped on Records, one expires on
    # Situation and is purged. Annex: one finishes after an alert, acknowledged.
    walk(app, "Lobby", taps="20")
    walk(app, "Lobby", taps="30")
    walk(app, "Lobby", finish=False, stop_after=3).post("/reset")
    walk(app, "Lobby", finish=False, stop_after=1)
    age(app, Visit, timedelta(hours=2), "updated_at")
    with app.app_context():
        assert retention.purge().abandoned_visits == 1
    app.config["KIOSK_NAME"] = "Annex"
    annex = Kiosk(app.test_client())
    annex.answer_all({"warning_signs": ["leg_weakness"]})
    annex.get("/visit/review")
    annex.post("/visit/finish")
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
        handout_id = db.session.scalar(select(Handout.id).where(Handout.kiosk == "Annex"))
    admin_desk.post(f"/desk/alerts/{alert_id}/acknowledge")
    run_worker(app)
    admin_desk.post(f"/desk/handouts/{handout_id}/print", {"printer": "directory"})
    run_worker(app)

    page = admin_desk.get("/desk/statistics").get_data(as_text=True)
    totals = dict(cells(page, "totals"))
    assert totals["Visits started"] == "5"
    assert totals["Visits finished"] == "3"
    assert totals["Visits given up"] == "2"
    assert totals["Median taps to finish"] == "25", "20 and 30 (Annex sent none)"
    assert totals["Red-flag alerts"] == "1"
    assert totals["Median minutes until an alert was acknowledged"] == "0.0"
    assert totals["Handouts printed"] == "1"
    drop_off = cells(page, "drop-off")[1:]
    with app.app_context():
        titles = statistics.step_titles()
    assert [row[0] for row in drop_off] == [title for _, title in titles]
    given_up = {row[0]: row[1] for row in drop_off}
    assert given_up[qn.SITUATION.title] == "1" and given_up[qn.STEPS[3].title] == "1"
    assert sum(int(n) for n in given_up.values()) == 2
    by_day = cells(page, "by-day")
    assert len(by_day) == 1 + statistics.DAYS_SHOWN
    with app.app_context():
        today = clinic_now()
    assert by_day[1][:4] == [f"{today:%a %b %d}", "5", "3", "2"]
    assert all(row[1:4] == ["0", "0", "0"] for row in by_day[2:]), "empty days show zero"
    assert page.count('<svg role="img"') == 2
    for chart in ("drop-off-chart", "by-day-chart"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
        assert f'<title id="{chart}-title">' in page and f'<desc id="{chart}-desc">' in page
    assert " style=" not in page

    lobby = admin_desk.get("/desk/statistics?kiosk=Lobby").get_data(as_text=True)
    assert dict(cells(lobby, "totals"))["Visits started"] == "4"
    assert '<option value="Lobby" selected>' in lobby

    response = admin_desk.get("/desk/statistics.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2 * statistics.DAYS_SHOWN, "a row a day for each kiosk"
    today = {row["kiosk"]: row for row in rows if row["day"] == today.date().isoformat()}
    assert today["Lobby"]["visits started"] == "4" and today["Annex"]["visits started"] == "1"
    assert today["Lobby"]["visits abandoned"] == "2"
    assert today["Lobby"][f"abandoned at: {qn.STEPS[3].title}"] == "1"
    assert today["Lobby"]["median taps"] == "25" and today["Annex"]["median taps"] == ""
    assert today["Annex"]["red-flag alerts"] == "1" and today["Annex"]["handouts printed"] == "1"
    one = list(
        csv.DictReader(io.StringIO(admin_desk.get("/desk/statistics.csv?kiosk=Annex").get_data(as_text=True)))
    )
    assert {row["kiosk"] for row in one} == {"Annex"} and len(one) == statistics.DAYS_SHOWN
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("statistics-download") == 2


def test_an_unknown_kiosk_shows_every_kiosk(app, admin_desk):
    walk(app, "Lobby")
    page = admin_desk.get("/desk/statistics?kiosk=%3Cb%3ENowhere").get_data(as_text=True)
    assert dict(cells(page, "totals"))["Visits started"] == "1"
    assert "<b>Nowhere" not in page


def test_a_kiosk_name_cannot_become_a_spreadsheet_formula(app, admin_desk):
    walk(app, "=HYPERLINK(1)")
    text = admin_desk.get("/desk/statistics.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in text


def test_only_the_last_30_days_are_shown(app, admin_desk):
    walk(app, "Lobby")
    age(app, DailyCount, timedelta(days=30), "day")
    page = admin_desk.get("/desk/statistics").get_data(as_text=True)
    assert dict(cells(page, "totals"))["Visits started"] == "0"


def test_the_report_keeps_counts_of_a_step_no_longer_in_the_questionnaire(app):
    with app.app_context():
        db.session.add(
            DailyCount(day=clinic_now().date(), kiosk="Lobby", metric="abandoned", step="old", count=2)
        )
        db.session.commit()
        report = statistics.report()
    assert report.drop_off[-1] == statistics.DropOff("old", "old", 2)
    assert report.total.abandoned == 2


@pytest.mark.parametrize("zone, hours", [("Pacific/Kiritimati", 14), ("Pacific/Pago_Pago", -11)])
def test_a_day_is_the_clinics_day(app, zone, hours):
    app.config["CLINIC_TZ"] = ZoneInfo(zone)
    with app.app_context():
        statistics.visit_started("Lobby")
        db.session.commit()
        day = db.session.scalar(select(DailyCount.day))
    assert day == (utcnow() + timedelta(hours=hours)).date()


def test_period_ends_today_oldest_first():
    days = statistics.period(date(2026, 3, 1), 3)
    assert days == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]


# --- many kiosks at once (PostgreSQL) ---------------------------------------------------


def count_in_a_thread(app, kiosk_name: str, counted: threading.Event) -> threading.Thread:
    """Another request, at the same time: counts a visit started and commits."""

    def count() -> None:
        with app.app_context():
            statistics.visit_started(kiosk_name)
            db.session.commit()
            counted.set()

    thread = threading.Thread(target=count, daemon=True)
    thread.start()
    return thread


def test_visits_at_one_kiosk_count_side_by_side_without_waiting_for_each_other(pg_app):
    # Two visits start at one kiosk at once: the second's transaction commits
    # while the first's is still open, instead of waiting for it to end.
    counted = threading.Event()
    with pg_app.app_context():
        statistics.visit_started("Lobby")
        db.session.flush()  # the first visit's count is written, not yet committed
        other = count_in_a_thread(pg_app, "Lobby", counted)
        waited = not counted.wait(timeout=5)
        db.session.commit()
    other.join(timeout=30)
    assert not waited, "the second visit waited for the first one's transaction"
    assert metric(pg_app, "started") == 2


def test_the_purge_folds_the_counts_into_one_row_a_day_a_kiosk_a_thing_without_waiting(pg_app):
    for _ in range(3):
        with pg_app.app_context():
            statistics.visit_started("Lobby")
            statistics.visit_started("Annex")
            db.session.commit()
    counted = threading.Event()
    with pg_app.app_context():
        statistics.visit_started("Lobby")
        db.session.flush()  # a visit's transaction still open while the worker purges
        purging = threading.Event()

        def purge() -> None:
            with pg_app.app_context():
                retention.purge()
                purging.set()

        threading.Thread(target=purge, daemon=True).start()
        assert purging.wait(timeout=10), "the purge waited for a visit's transaction"
        db.session.commit()
    count_in_a_thread(pg_app, "Lobby", counted).join(timeout=30)
    with pg_app.app_context():
        assert statistics.report().total.started == 8
        retention.purge()
        rows = db.session.execute(
            select(DailyCount.kiosk, DailyCount.metric, DailyCount.count).order_by(DailyCount.kiosk)
        ).all()
    assert rows == [("Annex", "started", 3), ("Lobby", "started", 5)]


def rows_a_day(app) -> dict[int, int]:
    """How many rows hold each day's counts, by how many days ago."""
    with app.app_context():
        today = clinic_now().date()
        days = db.session.scalars(select(DailyCount.day)).all()
    return dict(Counter((today - day).days for day in days))


def counted_on(app, days_ago: int, times: int = 2) -> None:
    """Rows of one count, each as a transaction of its own writes it, on a day `days_ago`."""
    with app.app_context():
        day = clinic_now().date() - timedelta(days=days_ago)
        for _ in range(times):
            db.session.add(DailyCount(day=day, kiosk="Lobby", metric="started", count=1))
            db.session.commit()


def test_the_purge_folds_every_day_once_then_only_the_days_still_counted(app, tmp_path):
    # Counts are written on the clinic's day they happen, so once a process
    # has folded every day, the purge each minute reads only yesterday (a
    # transaction open over midnight) and today: a year of counts does not
    # make it slower, nor hold SQLite's write lock longer.
    counted_on(app, 20)
    counted_on(app, 0)
    with app.app_context():
        retention.purge()
    assert rows_a_day(app) == {0: 1, 20: 1}
    counted_on(app, 0)
    counted_on(app, 1)
    counted_on(app, 5)  # cannot happen once day 5 is over; here, to see what is read
    with app.app_context():
        retention.purge()
        assert statistics.report().total.started == 10
    assert rows_a_day(app) == {0: 1, 1: 1, 5: 2, 20: 1}
    restarted = create_app(app_config(tmp_path))  # the worker started again, on the same database
    with restarted.app_context():
        retention.purge()
    assert rows_a_day(app) == {0: 1, 1: 1, 5: 1, 20: 1}


def test_a_fold_rolled_back_is_done_again_whole(app):
    counted_on(app, 9)
    with app.app_context():
        statistics.fold()
        db.session.rollback()
        statistics.fold()
        db.session.commit()
    assert rows_a_day(app) == {9: 1}
