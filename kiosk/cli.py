"""``flask --app wsgi kiosk ...`` commands."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from .database import upgrade_database
from .models import utcnow
from .storage import write_atomically

kiosk_cli = AppGroup("kiosk", help="Run and look after the visit-prep kiosk.")

RENDER_NICENESS = 5

SAMPLE_ANSWERS = {
    "warning_signs": ["none"],
    "spine_region": "low_back",
    "first_recommendation": ["fusion"],
    "confidence": "2",
    "reasons": ["unsure_surgery", "other_options", "risks"],
    "reasons_other": "",
    "records_exist": ["mri", "xray", "office_notes"],
    "records_requested": "not_yet",
    "records_letter": "no",
    "questions": ["q_options_all", "q_risks_main", "q_exp_count", "q_recovery_time", "q_wait_what"],
    "top_questions": ["q_options_all", "q_risks_main", "q_exp_count"],
    "own_question_1": "",
    "own_question_2": "",
    "companion": "family",
    "advocate_help": "no",
}
"""A typical visit: low back, fusion suggested, three starred questions."""


@kiosk_cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the database tables (safe to run again)."""
    upgrade_database()
    click.echo("Database ready.")


@kiosk_cli.command("sample-handout")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--lang", default="en", show_default=True, help="Language of the handout, as a tag: es, zh-Hans, ar…"
)
@click.option(
    "--paper", type=click.Choice(["letter", "a4"]), default=None, help="Paper size (default: setting)."
)
def sample_handout(out: Path, lang: str, paper: str | None) -> None:
    """Render a typical handout from built-in sample answers, without a visit."""
    from .handout import handout_pdf
    from .languages import NAMES

    if lang not in NAMES:
        raise click.BadParameter(f"{lang!r}: the languages are {', '.join(NAMES)}", param_hint="--lang")
    pdf, pages = handout_pdf(
        SAMPLE_ANSWERS, language=lang, claim_code="K7P2", created_at=utcnow(), paper=paper
    )
    write_atomically(out, pdf, mode=0o644)  # a cut-short PDF is never left behind
    click.echo(f"Wrote {out} ({pages} pages, {len(pdf):,} bytes).")


@kiosk_cli.command("sample-braille")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", default="en", show_default=True, help="Language of the handout.")
@click.option(
    "--cells", type=click.IntRange(min=1), default=None, help="Cells a line (default: BRAILLE_CELLS)."
)
@click.option(
    "--lines", type=click.IntRange(min=1), default=None, help="Lines a page (default: BRAILLE_LINES)."
)
def sample_braille(out: Path, lang: str, cells: int | None, lines: int | None) -> None:
    """Make the typical handout in braille (a BRF file) from built-in sample answers."""
    from .braille import BrailleUnavailable, handout_brf

    try:
        brf, pages = handout_brf(
            SAMPLE_ANSWERS, language=lang, claim_code="K7P2", created_at=utcnow(), cells=cells, lines=lines
        )
    except BrailleUnavailable as error:
        raise click.ClickException(error.reason) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    write_atomically(out, brf, mode=0o644)
    click.echo(f"Wrote {out} ({pages} braille pages, {len(brf):,} bytes).")


@kiosk_cli.command("create-staff")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Allow managing staff accounts and reading the audit log.")
@click.option("--generate", is_flag=True, help="Generate a password instead of asking for one.")
def create_staff_command(name: str, admin: bool, generate: bool) -> None:
    """Add a desk account. Asks for a password, or generates one and prints it once."""
    from . import auth

    interactive = not generate and click.get_text_stream("stdin").isatty()
    password = ""
    if interactive:
        password = click.prompt(
            "Password (leave empty to generate one)",
            default="",
            hide_input=True,
            confirmation_prompt=True,
            show_default=False,
        )
    generated = not password
    password = password or auth.generate_password()
    try:
        staff = auth.create_staff(name, password, is_admin=admin)
    except auth.AccountError as error:
        raise click.ClickException(str(error)) from error
    role = "admin" if staff.is_admin else "desk"
    click.echo(f"Created {role} account {staff.username}.")
    if generated:
        click.echo(f"Password (shown once): {password}")


@kiosk_cli.command("ensure-admin")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="KIOSK_ADMIN_PASSWORD_FILE",
    help="Take the password from the first line of this file (or $KIOSK_ADMIN_PASSWORD_FILE) "
    "instead of generating one and printing it: for unattended installs whose output is logged.",
)
def ensure_admin(password_file: Path | None) -> None:
    """Create a first admin account "admin", if there are no accounts yet."""
    from . import auth

    if auth.staff_count():
        click.echo("Desk accounts already exist; none created.")
        return
    if password_file is not None:
        lines = password_file.read_text().splitlines()
        try:
            auth.create_staff("admin", lines[0] if lines else "", is_admin=True)
        except auth.AccountError as error:
            raise click.ClickException(f"{password_file}: {error}") from error
        click.echo(f"Created the first desk account, admin, with the password in {password_file}.")
        return
    password = auth.generate_password()
    auth.create_staff("admin", password, is_admin=True)
    click.echo("Created the first desk account.")
    click.echo("  Name:     admin")
    click.echo(
        f"  Password: {password}   (shown once: write it down, then change it or add your own accounts)"
    )


@kiosk_cli.command("worker")
@click.option("--once", is_flag=True, help="Do the work that is due now, then stop.")
@click.option(
    "--render-processes",
    type=click.IntRange(min=0),
    default=None,
    help="Processes rendering handouts side by side [default: RENDER_PROCESSES; "
    "0: one a core, less one for the web server].",
)
@click.option("--parent", type=int, default=None, hidden=True, help="Run as a render process of this worker.")
def worker_command(once: bool, render_processes: int | None, parent: int | None) -> None:
    """Render handouts, send and follow print jobs, discard abandoned visits.

    Runs until stopped (Ctrl-C or SIGTERM), finishing the job in hand first.
    Run one beside the web server on every host, or several: they share the
    work without ever doing one job twice."""
    from . import worker

    if once:
        click.echo(f"Done: {worker.run_once()} piece(s) of work.")
        return
    app = current_app._get_current_object()
    if parent is not None:
        # A render process: renders only, and gives way to the web server, so
        # a burst of handouts never slows a patient's screen.
        os.nice(RENDER_NICENESS)
        running = worker.Worker(app, lanes=("render",), parent=parent)
    else:
        from .checks import log_at_start

        log_at_start()
        count = render_processes if render_processes is not None else app.config["RENDER_PROCESSES"]
        script = click.get_current_context().find_object(ScriptInfo)
        app_path = script.app_import_path if script and script.app_import_path else "wsgi"
        renderer = [sys.executable, "-m", "flask", "--app", app_path, "kiosk", "worker"]
        running = worker.Worker(
            app, renderers=renderer, render_processes=count or worker.default_render_processes()
        )

    def stop(_signum: int, _frame: object) -> None:
        running.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    running.run()


@kiosk_cli.command("purge")
def purge_command() -> None:
    """Delete now whatever is past its retention (the worker does it every minute)."""
    from .retention import purge

    click.echo(f"Deleted: {purge(rewrite_now=True)}.")


@kiosk_cli.command("check")
def check_command() -> None:
    """Check the print server's and the database's settings that decide whether
    a patient's words outlive the purge, and, where the desk offers a braille
    embosser, that its braille can be made here. Exits 1 when something must
    change."""
    from .checks import Level, everything

    findings = everything()
    for finding in findings:
        click.echo(f"{finding.level.value.upper()}: {finding.text}")
    if any(finding.level is Level.PROBLEM for finding in findings):
        raise SystemExit(1)


@kiosk_cli.command("check-speech")
@click.option(
    "--wait",
    default=10.0,
    show_default=True,
    help="Seconds a short sentence may take to finish before speech counts as stuck.",
)
def check_speech_command(wait: float) -> None:
    """Check, on the kiosk machine and as its user, that Read to me has local
    voices for the kiosk's languages and that a spoken sentence ends. Says
    what to install; exits 1 when the kiosk could not speak."""
    from .content import languages
    from .voices import can_speak, check

    findings = check(languages(), timeout=wait)
    for finding in findings:
        click.echo(f"{finding.level.value.upper()}: {finding.text}")
    if not can_speak(findings):
        raise SystemExit(1)


@kiosk_cli.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(out: Path) -> None:
    """Copy the SQLite database into OUT, safely while the kiosk runs (0600)."""
    from .database import backup_sqlite

    try:
        backup_sqlite(out)
    except ValueError:
        raise click.ClickException(
            "The database is not a SQLite file: back up PostgreSQL with pg_dump (README, Backups)."
        ) from None
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"Could not write the backup {out}: {error}") from None
    click.echo(f"Backed up the database to {out}.")


@kiosk_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--web-workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, help="Threads per gunicorn worker.")
@click.option(
    "--render-processes",
    type=click.IntRange(min=0),
    default=None,
    help="Processes rendering handouts [default: RENDER_PROCESSES; "
    "0: one a core, less one for the web server].",
)
def serve(host: str, port: int, web_workers: int, threads: int, render_processes: int | None) -> None:
    """Start the web server (gunicorn) and a worker together; Ctrl-C stops both.

    For a clinic's server, run the two as services instead (README)."""
    bin_dir = Path(sys.executable).parent
    commands = {
        "web server": [
            str(bin_dir / "gunicorn"),
            f"--bind={host}:{port}",
            f"--workers={web_workers}",
            f"--threads={threads}",
            # gunicorn 27 otherwise shares one control socket per user, and two
            # servers on one host (a test and a live copy) signal each other.
            "--no-control-socket",
            "--preload",
            "--access-logfile=-",
            "wsgi:app",
        ],
        "worker": [
            *(sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "worker"),
            # Without the option the worker takes the setting, as it does alone.
            *([f"--render-processes={render_processes}"] if render_processes is not None else []),
        ],
    }
    children = {name: subprocess.Popen(command) for name, command in commands.items()}
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    exited = None
    while not stopping and exited is None:
        exited = next((name for name, child in children.items() if child.poll() is not None), None)
        time.sleep(0.2)
    if exited:
        click.echo(
            f"The {exited} stopped (exit status {children[exited].returncode}); stopping the rest.", err=True
        )
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 60
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    if exited:
        raise SystemExit(children[exited].returncode or 1)


translate_cli = AppGroup("translate", help="Keep the patient's languages up to date (Babel catalogs).")
kiosk_cli.add_command(translate_cli)

PROJECT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
TEMPLATE_CATALOG = TRANSLATIONS / "messages.pot"


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    try:
        CommandLineInterface().run(["pybabel", "-q", *args])
    except SystemExit as stop:  # pybabel exits on its own errors
        if stop.code:
            raise click.ClickException(f"pybabel {args[0]} failed") from None


@translate_cli.command("extract")
def translate_extract() -> None:
    """Collect every translatable text into kiosk/translations/messages.pot."""
    TRANSLATIONS.mkdir(exist_ok=True)
    _pybabel(
        "extract", "-F", str(PROJECT / "babel.cfg"), "-k", "N_", "--no-location", "--sort-output",
        "--omit-header", "-o", str(TEMPLATE_CATALOG), str(PROJECT),
    )  # fmt: skip
    click.echo(f"Wrote {TEMPLATE_CATALOG.relative_to(PROJECT)}.")


@translate_cli.command("update")
def translate_update() -> None:
    """Extract, then merge new and changed texts into every language's catalog.

    Each catalog keeps its review (pybabel would drop the header fields it
    does not know); new or changed texts come in untranslated or fuzzy, and a
    clinic cannot turn the language on again until they are translated."""
    from .languages import review_headers, with_review_headers

    translate_extract.callback()
    catalogs = list(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    reviews = {po: review_headers(po.read_text(encoding="utf-8")) for po in catalogs}
    _pybabel("update", "-i", str(TEMPLATE_CATALOG), "-d", str(TRANSLATIONS), "--no-wrap")
    for po, review in reviews.items():
        po.write_text(with_review_headers(po.read_text(encoding="utf-8"), review), encoding="utf-8")
    click.echo("Catalogs updated: translate the empty and fuzzy entries, then compile.")


@translate_cli.command("init")
@click.argument("language")
def translate_init(language: str) -> None:
    """Start a catalog for a new language (e.g. "es")."""
    translate_extract.callback()
    _pybabel("init", "-i", str(TEMPLATE_CATALOG), "-d", str(TRANSLATIONS), "-l", language, "--no-wrap")


@translate_cli.command("compile")
def translate_compile() -> None:
    """Compile the catalogs the app reads (make run and make test do this)."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


def init_app(app: Flask) -> None:
    app.cli.add_command(kiosk_cli)
