"""The front-desk console: sign-in, the live queue, alerts, handouts, staff."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from kiosk import create_app
from kiosk.clock import clinic_time, load_time_zone
from kiosk.database import create_tables
from kiosk.extensions import db
from kiosk.models import Alert, AuditEvent, Handout, PrintJob, Visit, utcnow

from .conftest import STAFF_PASSWORD, Desk, Kiosk, app_config, run_worker
from .support.desk import finished_visit

# --- who may see the desk ---------------------------------------------------------


# Admin pages; every other desk page is for any signed-in staff member.
ADMIN_ONLY = {
    "desk.staff_list",
    "desk.add_staff",
    "desk.disable_staff",
    "desk.enable_staff",
    "desk.reset_staff_password",
    "desk.clear_sign_in_failures",
    "desk.add_kiosk",
    "desk.kiosk_link",
    "desk.revoke_kiosk",
    "desk.audit_log",
    "desk.audit_csv",
    "desk.statistics_page",
    "desk.statistics_csv",
}
# In kiosk/desk/admin.py, yet for every signed-in staff member.
FOR_ALL_STAFF_IN_ADMIN = {"desk.kiosk_list"}


def desk_urls(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every desk URL but sign-in, ids filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/desk") or rule.endpoint == "desk.sign_in":
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", "1", rule.rule)
        urls += [(rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_every_desk_url_requires_sign_in(app):
    """Signed out, with the page's valid CSRF token (from the sign-in page, in
    the same session), every desk URL is refused by the sign-in check itself:
    a redirect to the sign-in page, or 401 with HX-Redirect for htmx."""
    desk = Desk(app.test_client())
    desk.get("/desk/sign-in")
    assert desk.token
    checked = 0
    for _endpoint, method, url in desk_urls(app):
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            if method == "POST":
                response = desk.post(url, headers=headers)
            else:
                response = desk.client.open(url, method=method, headers=headers)
            if htmx:
                assert response.status_code == 401, (method, url, response.status_code)
                assert response.headers["HX-Redirect"] == "/desk/sign-in", (method, url)
            else:
                assert response.status_code == 302, (method, url, response.status_code)
                assert response.headers["Location"].startswith("/desk/sign-in"), (method, url)
        checked += 1
    assert checked >= 15


def test_a_desk_post_without_the_pages_token_is_refused(app, staff):
    """Signed in or not, a POST without the CSRF token changes nothing."""
    signed_in = Desk(app.test_client())
    assert signed_in.sign_in().status_code == 302
    for client in (app.test_client(), signed_in.client):
        for _endpoint, method, url in desk_urls(app):
            if method == "POST":
                response = client.post(url)
                assert response.status_code == 400, (url, response.status_code)


def test_every_admin_url_refuses_staff_who_are_not_admins(app, desk):
    """A signed-in member of staff who is no admin, posting with a valid token,
    is refused by the role check (403) on every admin URL."""
    admin_views = {
        endpoint for endpoint, view in app.view_functions.items() if view.__module__ == "kiosk.desk.admin"
    }
    assert admin_views == ADMIN_ONLY | FOR_ALL_STAFF_IN_ADMIN, "say who may use a new admin page"
    checked = 0
    for endpoint, method, url in desk_urls(app):
        if endpoint not in ADMIN_ONLY:
            continue
        response = desk.post(url) if method == "POST" else desk.client.open(url, method=method)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "for administrators" in response.get_data(as_text=True)
        checked += 1
    assert checked == len(ADMIN_ONLY)
    assert desk.get("/desk/").status_code == 200, "the refusals signed no one out"


def test_an_htmx_poll_without_sign_in_is_sent_to_the_sign_in_page(client):
    response = client.get("/desk/queue", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/desk/sign-in"


def test_staff_sign_in_and_out(app, staff):
    desk = Desk(app.test_client())
    assert desk.sign_in().headers["Location"] == "/desk/"
    assert "Handouts and alerts" in desk.get("/desk/").get_data(as_text=True)
    desk.post("/desk/sign-out")
    assert desk.get("/desk/").status_code == 302


def test_a_wrong_password_is_refused_calmly(app, staff):
    response = Desk(app.test_client()).sign_in(password="wrong password")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)


def test_repeated_failures_are_slowed_down(app, staff):
    desk = Desk(app.test_client())
    for _ in range(5):
        assert desk.sign_in(password="guess guess guess").status_code == 401
    response = desk.sign_in()  # even the right password waits now
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_failures_are_counted_across_app_processes(tmp_path, app, staff):
    for _ in range(5):
        Desk(app.test_client()).sign_in(password="guess guess guess")
    other_process = create_app(app_config(tmp_path))
    assert Desk(other_process.test_client()).sign_in().status_code == 429


def test_a_disabled_account_cannot_sign_in(app, admin_desk):
    with app.app_context():
        maria_id = db.session.execute(db.text("select id from staff where username='maria'")).scalar()
    admin_desk.post(f"/desk/staff/{maria_id}/disable")
    assert Desk(app.test_client()).sign_in().status_code == 401


def age_desk_sessions(app, **ago: timedelta) -> None:
    """As if the desk sessions had been signed in, or last used, `ago`."""
    from kiosk.models import StaffSession

    with app.app_context():
        values = {f"{field}_at": utcnow() - delta for field, delta in ago.items()}
        db.session.execute(update(StaffSession).values(**values))
        db.session.commit()


def test_the_desk_signs_out_after_inactivity(app, desk):
    age_desk_sessions(app, last_seen=timedelta(hours=9))
    response = desk.get("/desk/")
    assert response.headers["Location"].startswith("/desk/sign-in")
    assert "period without activity" in desk.get("/desk/sign-in").get_data(as_text=True)


def test_the_desk_signs_out_after_twelve_hours_however_busy(app, desk):
    age_desk_sessions(app, created=timedelta(hours=12, minutes=1), last_seen=timedelta(minutes=1))
    assert desk.get("/desk/").headers["Location"].startswith("/desk/sign-in")


def test_polling_alone_does_not_keep_the_desk_signed_in(app, desk):
    from kiosk.models import StaffSession

    age_desk_sessions(app, last_seen=timedelta(hours=1))
    with app.app_context():
        seen = db.session.scalar(select(StaffSession.last_seen_at))
    desk.get("/desk/queue")
    with app.app_context():
        assert db.session.scalar(select(StaffSession.last_seen_at)) == seen
    desk.get("/desk/")
    with app.app_context():
        assert db.session.scalar(select(StaffSession.last_seen_at)) > seen


# --- the queue ------------------------------------------------------------------


def test_finished_handouts_show_newest_first(app, desk):
    first = finished_visit(app)
    second = finished_visit(app)
    page = desk.get("/desk/").get_data(as_text=True)
    assert page.index(second.claim_code) < page.index(first.claim_code)
    assert "Test kiosk" in page
    assert "English" in page
    assert "Not printed" in page


def test_an_urgent_alert_is_pinned_on_top_until_acknowledged(app, desk):
    finished_visit(app)
    Kiosk(app.test_client()).answer_all({"warning_signs": ["leg_weakness"]})
    page = desk.get("/desk/queue").get_data(as_text=True)
    assert page.index("Urgent: a patient reported a warning sign") < page.index("<table")
    assert "Reports new or worsening leg weakness or numbness" in page
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    desk.post(f"/desk/alerts/{alert_id}/acknowledge", headers={"HX-Request": "true"})
    assert "Urgent:" not in desk.get("/desk/queue").get_data(as_text=True)
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.acknowledged_by == "maria"
        assert alert.acknowledged_at is not None


def test_an_idle_poll_costs_a_304(app, desk):
    first = desk.get("/desk/queue")
    etag = first.headers["ETag"]
    again = desk.client.get("/desk/queue", headers={"If-None-Match": etag, "HX-Request": "true"})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_a_new_alert_changes_the_poll(app, desk):
    etag = desk.get("/desk/queue").headers["ETag"]
    kiosk = Kiosk(app.test_client())
    kiosk.start()
    kiosk.answer("safety", {"warning_signs": ["bowel"]})
    response = desk.client.get("/desk/queue", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Reports new trouble controlling the bowels" in response.get_data(as_text=True)


def test_a_change_committed_late_by_another_process_still_changes_the_poll(app, desk):
    handout = finished_visit(app)
    with app.app_context():
        for number in (7, 8):
            db.session.add(
                PrintJob(handout_id=handout.id, printer="front", state="sent", cups_job_id=f"front-{number}")
            )
        db.session.commit()
        latest = db.session.scalar(select(func.max(PrintJob.updated_at)))
    etag = desk.get("/desk/queue").headers["ETag"]
    with app.app_context():
        # Another process stamped this change before the latest one, and commits it now.
        db.session.execute(
            update(PrintJob)
            .where(PrintJob.cups_job_id == "front-7")
            .values(state="completed", updated_at=latest - timedelta(seconds=1))
        )
        db.session.commit()
    response = desk.client.get("/desk/queue", headers={"If-None-Match": etag})
    assert response.status_code == 200


def test_the_desk_chimes_for_alerts_by_default(desk):
    assert 'data-chime="on"' in desk.get("/desk/").get_data(as_text=True)


@pytest.mark.parametrize("typed", ["{code}", "{lower}", " {spaced} "])
def test_look_up_a_handout_by_claim_code(app, desk, typed):
    handout = finished_visit(app)
    code = handout.claim_code
    text = typed.format(code=code, lower=code.lower(), spaced=" ".join(code))
    response = desk.get("/desk/lookup", query_string={"code": text})
    assert response.headers["Location"] == f"/desk/handouts/{handout.id}"


def test_an_unknown_claim_code_says_so(desk):
    desk.get("/desk/lookup", query_string={"code": "ZZZZ"})
    assert "No handout has the code ZZZZ" in desk.get("/desk/").get_data(as_text=True)
    desk.get("/desk/lookup", query_string={"code": "<b>"})
    assert "A claim code is 4 letters and digits" in desk.get("/desk/").get_data(as_text=True)


# --- one handout ----------------------------------------------------------------


def test_preview_the_pdf_inline(app, desk):
    handout = finished_visit(app)
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert f'src="/desk/handouts/{handout.id}/pdf"' in page
    response = desk.get(f"/desk/handouts/{handout.id}/pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.get_data().startswith(b"%PDF")


def test_print_to_the_directory_printer(app, desk):
    handout = finished_visit(app)
    response = desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(PrintJob.state)) == "queued"
    assert "Waiting to send" in desk.get("/desk/queue").get_data(as_text=True)
    run_worker(app)
    with app.app_context():
        job = db.session.scalar(select(PrintJob))
        assert job.state == "completed"
        assert job.requested_by == "maria"
    printed = list(Path(app.config["PRINT_DIRECTORY"]).glob("*.pdf"))
    assert len(printed) == 1
    assert printed[0].read_bytes().startswith(b"%PDF")
    assert handout.claim_code in printed[0].name
    assert "Printed" in desk.get("/desk/queue").get_data(as_text=True)
    # The receptionist is told where the file went.
    assert f"Saved as <code>{printed[0]}</code>" in desk.get(f"/desk/handouts/{handout.id}").get_data(
        as_text=True
    )


def test_reprint_makes_a_second_job(app, desk):
    handout = finished_visit(app)
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    run_worker(app)
    with app.app_context():
        assert db.session.scalar(select(func.count(PrintJob.id))) == 2
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "print" in actions and "reprint" in actions
    assert len(list(Path(app.config["PRINT_DIRECTORY"]).glob("*.pdf"))) == 2


def test_an_unknown_printer_is_refused(app, desk):
    handout = finished_visit(app)
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "../../etc"})
    with app.app_context():
        assert db.session.scalar(select(func.count(PrintJob.id))) == 0
    assert "Please choose one of the printers" in desk.get(f"/desk/handouts/{handout.id}").get_data(
        as_text=True
    )


def test_mark_handed_over(app, desk):
    handout = finished_visit(app)
    desk.post(f"/desk/handouts/{handout.id}/handed-over")
    with app.app_context():
        stored = db.session.get(Handout, handout.id)
        assert stored.handed_over_by == "maria"
        assert stored.handed_over_at is not None


def test_delete_removes_the_handout_and_the_answers(app, desk):
    handout = finished_visit(app)
    assert "cannot be undone" in desk.get(f"/desk/handouts/{handout.id}/delete").get_data(as_text=True)
    desk.post(f"/desk/handouts/{handout.id}/delete")
    with app.app_context():
        assert db.session.get(Handout, handout.id) is None
        assert db.session.scalar(select(func.count(Visit.id))) == 0
    assert desk.get(f"/desk/handouts/{handout.id}").status_code == 404


def test_the_audit_log_records_who_did_what_without_patient_text(app, desk):
    handout = finished_visit(app, own_question_1="Is my knitting circle safe?", top_questions=[])
    desk.get(f"/desk/handouts/{handout.id}/pdf")
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    desk.post(f"/desk/handouts/{handout.id}/handed-over")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    actions = [e.action for e in events]
    assert actions == ["sign-in", "preview", "print", "hand-over"]
    assert all(e.staff == "maria" and e.at for e in events)
    assert not any("knitting" in e.subject for e in events)


def test_auto_print_when_the_patient_finishes(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(tmp_path, AUTO_PRINT_PRINTER="directory"))
    with app.app_context():
        create_tables()
    finished_visit(app)
    with app.app_context():
        job = db.session.scalar(select(PrintJob))
        assert job.state == "completed"
        assert job.requested_by == "Test kiosk"
    assert len(list(Path(app.config["PRINT_DIRECTORY"]).glob("*.pdf"))) == 1


# --- administration ---------------------------------------------------------------


def test_only_admins_manage_staff(desk, admin_desk):
    assert desk.get("/desk/staff").status_code == 403
    assert "for administrators" in desk.get("/desk/audit").get_data(as_text=True)
    assert admin_desk.get("/desk/staff").status_code == 200


def test_an_admin_adds_an_account_with_a_generated_password(app, admin_desk):
    page = admin_desk.post("/desk/staff", {"username": "Lee", "password": ""}).get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    assert Desk(app.test_client()).sign_in("lee", password).status_code == 302


def test_an_admin_resets_a_password(app, admin_desk):
    with app.app_context():
        maria_id = db.session.execute(db.text("select id from staff where username='maria'")).scalar()
    page = admin_desk.post(f"/desk/staff/{maria_id}/reset-password").get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    assert Desk(app.test_client()).sign_in("maria", STAFF_PASSWORD).status_code == 401
    assert Desk(app.test_client()).sign_in("maria", password).status_code == 302


def test_a_short_password_is_refused(admin_desk):
    response = admin_desk.post("/desk/staff", {"username": "kim", "password": "short"})
    assert response.status_code == 400
    assert "at least 12 characters" in response.get_data(as_text=True)


def test_create_staff_command_generates_and_prints_a_password(app, runner):
    result = runner.invoke(args=["kiosk", "create-staff", "sam", "--admin", "--generate"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once\): (\S+)", result.output).group(1)
    assert Desk(app.test_client()).sign_in("sam", password).status_code == 302


def test_ensure_admin_creates_one_account_once(runner):
    first = runner.invoke(args=["kiosk", "ensure-admin"])
    assert "Name:     admin" in first.output
    assert re.search(r"Password: \S{19}", first.output)
    second = runner.invoke(args=["kiosk", "ensure-admin"])
    assert "none created" in second.output


# --- hardening ------------------------------------------------------------------


def test_no_desk_page_and_no_patient_tap_talks_to_cups(app, desk, kiosk, monkeypatch):
    """Web requests only read and write rows: a slow or hung print server can
    hold up no page. Every CUPS call is refused here, and every page works."""
    from kiosk import printing

    def no_cups(args, stdin=None, timeout=0):
        raise AssertionError(f"a web request ran {args[0]}")

    monkeypatch.setattr(printing, "run_tool", no_cups)
    kiosk.answer_all({"warning_signs": ["fever"]})
    assert kiosk.finish().headers["Location"] == "/visit/done"
    assert "claim-code" in kiosk.get("/visit/done").get_data(as_text=True)
    with app.app_context():
        handout_id = db.session.scalar(select(Handout.id))
        alert_id = db.session.scalar(select(Alert.id))
        db.session.execute(update(Handout).values(state="ready", pdf=b"%PDF-1.4 stand-in"))
        db.session.add(PrintJob(handout_id=handout_id, printer="front", state="sent", cups_job_id="front-7"))
        db.session.commit()
    pages = [
        "/desk/",
        "/desk/queue",
        f"/desk/handouts/{handout_id}",
        f"/desk/handouts/{handout_id}/panel",
        f"/desk/handouts/{handout_id}/jobs",
        f"/desk/handouts/{handout_id}/pdf",
    ]
    for page in pages:
        assert desk.get(page).status_code == 200, page
    assert desk.post(f"/desk/handouts/{handout_id}/print", {"printer": "front"}).status_code == 302
    assert desk.post(f"/desk/alerts/{alert_id}/acknowledge").status_code == 302
    assert desk.post(f"/desk/handouts/{handout_id}/handed-over").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(PrintJob.id)).where(PrintJob.state == "queued")) == 1


def test_a_handout_shows_preparing_until_the_worker_has_made_it(app, desk):
    handout = finished_visit(app, ready=False)
    with app.app_context():
        stored = db.session.get(Handout, handout.id)
        assert stored.state == "preparing" and stored.pdf is None
    assert "Preparing…" in desk.get("/desk/queue").get_data(as_text=True)
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert "Preparing the handout" in page
    assert "/pdf" not in page
    assert desk.get(f"/desk/handouts/{handout.id}/pdf").status_code == 404
    run_worker(app)
    panel = desk.get(f"/desk/handouts/{handout.id}/panel").get_data(as_text=True)
    assert f'src="/desk/handouts/{handout.id}/pdf"' in panel
    assert "every 1s" not in panel  # the panel's poll stops once it is ready
    assert desk.get(f"/desk/handouts/{handout.id}/pdf").get_data().startswith(b"%PDF")


def test_a_print_asked_for_before_the_handout_is_ready_is_refused_calmly(app, desk):
    handout = finished_visit(app, ready=False)
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    with app.app_context():
        assert db.session.scalar(select(func.count(PrintJob.id))) == 0
    assert "still being prepared" in desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)


def test_the_desk_says_when_no_worker_is_running(app, desk):
    from kiosk.worker import beat, forget

    assert "the background worker is not running" in desk.get("/desk/queue").get_data(as_text=True)
    with app.app_context():
        beat("test-worker")
    etag = desk.get("/desk/queue").headers["ETag"]
    assert "not running" not in desk.get("/desk/queue").get_data(as_text=True)
    with app.app_context():
        forget("test-worker")
    assert desk.get("/desk/queue", headers={"If-None-Match": etag}).status_code == 200


def test_the_poll_changes_at_midnight_since_the_times_shown_do(app, desk, monkeypatch):
    from kiosk.desk import queue as queue_views

    finished_visit(app)
    etag = desk.get("/desk/queue").headers["ETag"]
    assert desk.get("/desk/queue", headers={"If-None-Match": etag}).status_code == 304
    tomorrow = clinic_now_in(app) + timedelta(days=1)
    monkeypatch.setattr(queue_views, "clinic_now", lambda: tomorrow)
    assert desk.get("/desk/queue", headers={"If-None-Match": etag}).status_code == 200


def clinic_now_in(app) -> datetime:
    from kiosk.clock import clinic_now

    with app.app_context():
        return clinic_now()


def test_an_audit_entry_is_stored_with_its_action_or_not_at_all(app, desk, monkeypatch):
    from kiosk.desk import service

    handout = finished_visit(app)

    def broken_commit():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service.db.session, "commit", broken_commit)
    assert desk.post(f"/desk/handouts/{handout.id}/handed-over").status_code == 500
    monkeypatch.undo()
    with app.app_context():
        assert db.session.get(Handout, handout.id).handed_over_at is None
        assert "hand-over" not in db.session.scalars(select(AuditEvent.action)).all()


def test_parallel_guesses_are_counted_too(app, staff):
    from concurrent.futures import ThreadPoolExecutor

    def guess(_):
        return Desk(app.test_client()).sign_in("boss", "guess guess guess").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(guess, range(16)))
    assert statuses.count(401) <= 5
    assert statuses.count(429) >= 11


def test_a_password_reset_ends_sessions_signed_in_with_the_old_one(app, desk, admin_desk):
    with app.app_context():
        maria_id = db.session.execute(db.text("select id from staff where username='maria'")).scalar()
    assert desk.get("/desk/").status_code == 200
    admin_desk.post(f"/desk/staff/{maria_id}/reset-password")
    assert desk.get("/desk/").headers["Location"].startswith("/desk/sign-in")


def test_deleting_a_handout_deletes_the_directory_printers_copy(app, desk):
    handout = finished_visit(app)
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": "directory"})
    run_worker(app)
    assert list(Path(app.config["PRINT_DIRECTORY"]).glob("*.pdf"))
    desk.post(f"/desk/handouts/{handout.id}/delete")
    assert list(Path(app.config["PRINT_DIRECTORY"]).glob("*.pdf")) == []


@pytest.mark.parametrize(
    "target", ["/desk%0d%0aX", "//evil.example/", "https://evil.example/desk", "/desk/../x"]
)
def test_sign_in_goes_only_to_plain_desk_pages(app, staff, target):
    desk = Desk(app.test_client())
    desk.get(f"/desk/sign-in?next={target}")
    response = desk.post(f"/desk/sign-in?next={target}", {"username": "maria", "password": STAFF_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/desk/"


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/desk/handouts/99999999999999999999999"),
        ("post", "/desk/handouts/99999999999999999999999/print"),
        ("post", "/desk/staff/99999999999999999999999/reset-password"),
        ("get", "/desk/handouts/0"),
    ],
)
def test_impossible_ids_are_not_found(admin_desk, method, url):
    response = getattr(admin_desk, method)(url)
    assert response.status_code == 404


def test_an_impossible_audit_page_is_the_first_page(admin_desk):
    assert admin_desk.get("/desk/audit?before=99999999999999999999999").status_code == 200


@pytest.mark.parametrize(
    "forged",
    [{"lang": ["en"]}, {"_user_id": ["1"]}, {"_user_id": "1:1"}, {"_user_id": "x" * 40}, {"visit": {"a": 1}}],
)
def test_a_session_with_odd_values_is_treated_as_empty(app, staff, forged):
    client = app.test_client()
    cookie = app.session_interface.get_signing_serializer(app).dumps(forged)
    client.set_cookie("kiosk_session", cookie)
    for url in ("/", "/desk/", "/visit/safety"):
        assert client.get(url).status_code in (200, 302, 303), url


def test_the_desk_shows_times_in_the_clinics_time_zone(app, desk):
    handout = finished_visit(app)
    with app.app_context():
        db.session.get(Handout, handout.id).created_at = datetime(2026, 1, 5, 12, 0)
        db.session.commit()
    app.config["CLINIC_TZ"] = load_time_zone("Asia/Kolkata")  # UTC+5:30
    assert "Jan 05 17:30" in desk.get("/desk/queue").get_data(as_text=True)

    def now() -> str:
        with app.app_context():
            return clinic_time(utcnow()).strftime("%H:%M")

    before = now()
    desk.post(f"/desk/handouts/{handout.id}/handed-over")
    page = desk.get(f"/desk/handouts/{handout.id}").get_data(as_text=True)
    assert any(f"Handed over by maria at {time}" in page for time in {before, now()})
