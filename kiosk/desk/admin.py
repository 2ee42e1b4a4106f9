"""Administration on the desk console: staff accounts, kiosks, the audit log
and the statistics."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, flash, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import audit, auth, enrolled_kiosks, print_jobs, statistics
from ..auth import AccountError
from ..clock import clinic_now
from ..extensions import db
from ..models import MAX_ROW_ID, AuditEvent, Kiosk, Staff
from . import bp, charts, service
from .forms import KioskForm, StaffForm

AUDIT_PAGE = 200


def _require_admin() -> None:
    if not current_user.is_admin:
        abort(403)


def _staff_page(
    form: StaffForm | None = None, *, new_password: tuple[str, str] | None = None, status: int = 200
):
    staff = db.session.scalars(select(Staff).order_by(Staff.username)).all()
    page = render_template(
        "desk/staff.html",
        title="Staff accounts",
        staff=staff,
        form=form or StaffForm(),
        new_password=new_password,
        failures=auth.recent_failures(),
    )
    return page, status


@bp.get("/staff")
def staff_list():
    _require_admin()
    return _staff_page()


@bp.post("/staff")
def add_staff():
    _require_admin()
    form = StaffForm()
    if not form.validate_on_submit():
        return _staff_page(form, status=400)
    password = form.password.data or auth.generate_password()
    try:
        member = auth.create_staff(
            form.username.data, password, is_admin=form.is_admin.data, by=current_user.username
        )
    except AccountError as error:
        form.form_errors.append(str(error))
        return _staff_page(form, status=400)
    shown = password if not form.password.data else None
    if shown:
        return _staff_page(new_password=(member.username, shown))
    flash(f"Account {member.username} added.")
    return _staff_page()


def _member(staff_id: int) -> Staff:
    return db.session.get(Staff, staff_id) or abort(404)


@bp.post("/staff/<id:staff_id>/disable")
def disable_staff(staff_id: int):
    return _set_active(staff_id, active=False)


@bp.post("/staff/<id:staff_id>/enable")
def enable_staff(staff_id: int):
    return _set_active(staff_id, active=True)


def _set_active(staff_id: int, *, active: bool):
    _require_admin()
    member = _member(staff_id)
    if not active and member.id == current_user.id:
        flash("You cannot disable your own account.")
        return _staff_page()
    auth.set_active(member, active, by=current_user.username)
    state = "enabled" if active else "disabled"
    flash(f"Account {member.username} is {state}.")
    return _staff_page()


@bp.post("/staff/<id:staff_id>/reset-password")
def reset_staff_password(staff_id: int):
    _require_admin()
    member = _member(staff_id)
    password = auth.generate_password()
    auth.set_password(member, password, by=current_user.username)
    return _staff_page(new_password=(member.username, password))


@bp.post("/staff/<id:staff_id>/clear-sign-in-failures")
def clear_sign_in_failures(staff_id: int):
    """Let the real user in while a guesser elsewhere holds their account."""
    _require_admin()
    member = _member(staff_id)
    auth.clear_failures(member, by=current_user.username)
    flash(f"Failed sign-ins for {member.username} are cleared: they can sign in again.")
    return _staff_page()


# --- kiosks ------------------------------------------------------------------------


def _kiosk_form() -> KioskForm:
    form = KioskForm()
    config = current_app.config
    printers = service.printers(
        configured={config["DEFAULT_PRINTER"], config["AUTO_PRINT_PRINTER"]},
        embossers=print_jobs.braille_printers(),
    )
    # Auto-print sends the PDF: never to a braille embosser.
    printers = [p for p in printers if not p.embosser]
    form.auto_print_printer.choices = [("", "No printing by itself"), *((p.name, p.label) for p in printers)]
    return form


def _kiosks_page(form: KioskForm | None = None, *, link: tuple[str, str] | None = None, status: int = 200):
    page = render_template(
        "desk/kiosks.html",
        title="Kiosks",
        kiosks=enrolled_kiosks.all_kiosks(),
        form=form or _kiosk_form(),
        link=link,
        enrollment=current_app.config["KIOSK_ENROLLMENT"],
    )
    return page, status


def _link(kiosk_name: str, code: str) -> tuple[str, str]:
    """The kiosk's one-time enrollment link. The code goes after "#": a
    browser never sends that part, so it is in no access log, proxy log or
    Referer; the kiosk's page reads it there and posts it."""
    return kiosk_name, url_for("patient.enroll_page", _external=True) + "#" + code


@bp.get("/kiosks")
def kiosk_list():
    """Every signed-in staff member sees the kiosks and their last contact; admins manage them."""
    return _kiosks_page()


@bp.post("/kiosks")
def add_kiosk():
    _require_admin()
    form = _kiosk_form()
    chosen = form.auto_print_printer.data or ""
    if chosen and print_jobs.is_embosser(chosen):
        form.form_errors.append(
            f"“{chosen}” is a braille embosser: it is never sent a PDF. "
            "Choose a printer for paper, or no printing by itself."
        )
        return _kiosks_page(form, status=400)
    if not form.validate_on_submit():
        return _kiosks_page(form, status=400)
    try:
        registered = enrolled_kiosks.register(
            form.name.data,
            form.location.data or "",
            form.auto_print_printer.data or "",
            by=current_user.username,
        )
    except enrolled_kiosks.KioskError as error:
        form.form_errors.append(str(error))
        return _kiosks_page(form, status=400)
    return _kiosks_page(link=_link(registered.kiosk.name, registered.link_code))


def _kiosk(kiosk_id: int) -> Kiosk:
    return db.session.get(Kiosk, kiosk_id) or abort(404)


@bp.post("/kiosks/<id:kiosk_id>/link")
def kiosk_link(kiosk_id: int):
    _require_admin()
    kiosk = _kiosk(kiosk_id)
    return _kiosks_page(link=_link(kiosk.name, enrolled_kiosks.new_link(kiosk, by=current_user.username)))


@bp.post("/kiosks/<id:kiosk_id>/revoke")
def revoke_kiosk(kiosk_id: int):
    _require_admin()
    kiosk = _kiosk(kiosk_id)
    enrolled_kiosks.revoke(kiosk, by=current_user.username)
    flash(f"Kiosk {kiosk.name} can no longer start visits. Make a new link to enroll it again.")
    return _kiosks_page()


@bp.get("/audit")
def audit_log():
    _require_admin()
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ROW_ID:
        before = None
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE)
    if before:
        query = query.where(AuditEvent.id < before)
    events = db.session.scalars(query).all()
    return render_template("desk/audit.html", title="Audit log", events=events, page_size=AUDIT_PAGE)


@bp.get("/audit.csv")
def audit_csv():
    """The whole audit log as CSV, oldest first, for the clinic's records."""
    _require_admin()
    rows = db.session.execute(
        select(AuditEvent.at, AuditEvent.staff, AuditEvent.action, AuditEvent.subject).order_by(AuditEvent.id)
    ).all()
    table = [["time (UTC)", "staff", "action", "subject"]]
    table += [
        [at.isoformat(sep=" ", timespec="seconds"), staff, action, subject]
        for at, staff, action, subject in rows
    ]
    return _csv_download("audit", table, "audit-download")


def _csv_download(name: str, rows: list[list], action: str, subject: str = "") -> Response:
    """Rows as a CSV file to save, the download audited. Text a spreadsheet
    would run as a formula (a leading = + - @) is shown as text."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([_cell(value) if isinstance(value, str) else value for value in row])
    audit.record(current_user.username, action, subject)
    db.session.commit()
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{clinic_now():%Y-%m-%d}.csv"'
    return response


def _cell(value: str) -> str:
    """A value a spreadsheet will show, not run: a leading = + - @ starts a formula."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# --- statistics ----------------------------------------------------------------------


def _chosen_kiosk(known: list[str]) -> str | None:
    """The kiosk asked for, if there are counts for it; None: every kiosk."""
    name = request.args.get("kiosk", "")
    return name if name in known else None


@bp.get("/statistics")
def statistics_page():
    """Counts of the last 30 days, every kiosk or one: where patients stop,
    alerts, prints, time and taps to finish."""
    _require_admin()
    known = statistics.kiosk_names()
    report = statistics.report(_chosen_kiosk(known))
    drop_off = charts.horizontal_bars([(row.title, row.abandoned) for row in report.drop_off])
    by_day = charts.day_columns(
        [tally.day for tally in report.days],
        [
            ("finished", "finished", [tally.finished for tally in report.days]),
            ("given-up", "given up", [tally.abandoned for tally in report.days]),
        ],
    )
    return render_template(
        "desk/statistics.html",
        title="Statistics",
        report=report,
        kiosks=known,
        drop_off_chart=drop_off,
        by_day_chart=by_day,
    )


@bp.get("/statistics.csv")
def statistics_csv():
    """The same counts as CSV, one row a day a kiosk, for the clinic's own sums."""
    _require_admin()
    kiosk = _chosen_kiosk(statistics.kiosk_names())
    subject = f"kiosk {kiosk}" if kiosk else "all kiosks"
    return _csv_download("statistics", statistics.csv_rows(kiosk), "statistics-download", subject)
