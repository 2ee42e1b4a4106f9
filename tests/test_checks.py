"""`flask --app wsgi kiosk check`, and the worker at start-up, say when the
print server keeps copies of printed handouts after the purge: CUPS keeps
each job's document a day unless told not to, and a cups-pdf queue keeps a
PDF of every handout in a folder for ever."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from kiosk import checks, printing
from kiosk.extensions import db
from kiosk.printing import SpoolSettings, parse_spool_settings, spool_problems

from .conftest import error, ok
from .support import cups
from .support.braille import LIBLOUIS_MISSING
from .support.serve import free_port

ROOT = Path(__file__).resolve().parent.parent
# cupsctl's own listing: what cupsd.conf sets, and nothing about job files.
CUPSCTL_DEFAULTS = "_remote_admin=0\n_share_printers=0\nWebInterface=Yes\n"
CUPSCTL_SET_UP = CUPSCTL_DEFAULTS + "PreserveJobFiles=No\nPreserveJobHistory=3600\n"


@pytest.fixture(autouse=True)
def cups_tools_installed(monkeypatch):
    """The played-back tools stand in for CUPS's, installed or not."""
    monkeypatch.setattr(printing, "cups_available", lambda: True)


def test_without_cups_there_is_only_the_folder_the_kiosk_empties(runner, monkeypatch):
    monkeypatch.setattr(printing, "cups_available", lambda: False)
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 0
    assert result.output == "OK: CUPS is not installed: handouts are only saved to the kiosk's folder.\n"


def test_cupsd_conf_is_read_as_cupsd_reads_it():
    text = """
PreserveJobFiles Yes
<Location /admin>
  PreserveJobFiles No
</Location>
PreserveJobFiles 2h
PreserveJobHistory 1d
"""
    settings = parse_spool_settings(text, "cupsd.conf")
    assert (settings.job_files, settings.job_history) == (7200, 86400), "inside a block does not count"
    defaults = parse_spool_settings("LogLevel warn\n", "cupsd.conf")
    assert (defaults.job_files, defaults.job_history) == (86400, math.inf), "CUPS 2.4's defaults"
    assert parse_spool_settings("PreserveJobFiles=Off\nPreserveJobHistory=No", "cupsctl").job_files == 0


def test_keeping_job_files_or_forgetting_jobs_at_once_is_a_problem():
    assert spool_problems(SpoolSettings(0, 3600, "cupsctl")) == []
    (kept,) = spool_problems(SpoolSettings(86400, math.inf, "cupsctl"))
    assert "keeps a copy of every printed handout for 24 hours" in kept and "PreserveJobFiles No" in kept
    (forgets,) = spool_problems(SpoolSettings(0, 0, "cupsctl"))
    assert "forgets a job as soon as it has printed" in forgets


def test_the_check_says_what_to_change_and_fails(runner, cups):
    cups({"lpstat -H": ok("/run/cups/cups.sock\n"), "cupsctl": ok(CUPSCTL_DEFAULTS), "lpstat -v": ok("")})
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 1
    assert result.output.startswith(
        "PROBLEM: The print server keeps a copy of every printed handout for 24 hours"
    )
    assert "PreserveJobFiles No" in result.output


def test_the_check_passes_a_server_set_up_as_the_readme_says(runner, cups):
    cups({"lpstat -H": ok("/run/cups/cups.sock\n"), "cupsctl": ok(CUPSCTL_SET_UP), "lpstat -v": ok("")})
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: This machine's print server keeps no copy of a printed handout")


def test_a_cups_pdf_queue_is_a_problem(runner, cups):
    cups(
        {
            "lpstat -H": ok("/run/cups/cups.sock\n"),
            "cupsctl": ok(CUPSCTL_SET_UP),
            "lpstat -v": ok("device for front-desk: ipp://10.0.0.5/ipp/print\ndevice for pdf: cups-pdf:/\n"),
        }
    )
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 1
    assert "PROBLEM: The printer “pdf” is a cups-pdf PDF printer" in result.output
    assert "front-desk" not in result.output


def test_a_local_server_cupsctl_cannot_ask_is_read_from_its_cupsd_conf(runner, cups, tmp_path, monkeypatch):
    (tmp_path / "cupsd.conf").write_text("Listen localhost:631\nPreserveJobFiles 300\n")
    monkeypatch.setenv("CUPS_SERVERROOT", str(tmp_path))
    cups({"lpstat -H": ok("localhost:631\n"), "cupsctl": error("cupsctl: Forbidden"), "lpstat -v": ok("")})
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 1
    assert f"for 300 seconds (PreserveJobFiles, read from {tmp_path / 'cupsd.conf'})" in result.output


def test_a_remote_server_is_never_judged_by_this_machines_cupsd_conf(runner, cups, tmp_path, monkeypatch):
    (tmp_path / "cupsd.conf").write_text("PreserveJobFiles No\nPreserveJobHistory 3600\n")
    monkeypatch.setenv("CUPS_SERVERROOT", str(tmp_path))
    cups(
        {
            "lpstat -H": ok("printhost.clinic:631\n"),
            "cupsctl": error("cupsctl: Unauthorized"),
            "lpstat -v": ok(""),
        }
    )
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 0
    assert result.output.startswith(
        "CHECK BY HAND: Could not read the settings of the print server printhost.clinic:631."
    )
    assert "OK" not in result.output


def test_the_worker_warns_at_start_when_the_print_server_keeps_handouts(app, cups, caplog):
    cups({"lpstat -H": ok("/run/cups/cups.sock\n"), "cupsctl": ok(CUPSCTL_DEFAULTS), "lpstat -v": ok("")})
    with app.app_context():
        checks.log_at_start()
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "keeps a copy of every printed handout" in warning.getMessage()


def test_a_check_that_breaks_does_not_stop_the_worker(app, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(printing, "run_tool", broken)
    with app.app_context():
        checks.log_at_start()
    assert "could not check the print server's and the database's settings" in caplog.text


# --- a real cupsd of the test's own -------------------------------------------------------------


@pytest.fixture
def own_cupsd(tmp_path):
    """Start a cupsd of this test's own on a free port, set with the given
    directives; yields its CUPS_SERVER. The shared one is never touched."""
    if cups.missing() or os.geteuid() != 0:
        reason = cups.missing() or "running a cupsd needs root"
        if cups.REQUIRED:
            pytest.fail(f"{reason}; KIOSK_REQUIRE_CUPS is set, so this is a failure", pytrace=False)
        pytest.skip(reason)
    started: list[subprocess.Popen] = []

    def start(*directives: str) -> str:
        root = tmp_path / f"cups{len(started)}"
        for folder in ("spool/tmp", "cache", "state", "log"):
            (root / folder).mkdir(parents=True)
        port = free_port()
        (root / "cupsd.conf").write_text(
            "\n".join([f"Listen 127.0.0.1:{port}", "WebInterface No", *directives, ""])
        )
        (root / "cups-files.conf").write_text(
            f"ServerRoot {root}\nRequestRoot {root}/spool\nTempDir {root}/spool/tmp\nCacheDir {root}/cache\n"
            f"StateDir {root}/state\nErrorLog {root}/log/error_log\nAccessLog {root}/log/access_log\n"
            f"PageLog {root}/log/page_log\n"
        )
        process = subprocess.Popen(
            [str(cups.CUPSD), "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        server = f"127.0.0.1:{port}"
        cups.wait_until(
            lambda: (
                cups.run("lpstat", "-r", check=False, env={"CUPS_SERVER": server}).stdout.strip()
                == "scheduler is running"
            ),
            f"our own cupsd on {server}",
        )
        return server

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.cups
def test_the_check_reads_a_real_print_server(own_cupsd, runner, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", own_cupsd())
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 1
    assert "keeps a copy of every printed handout for 24 hours (PreserveJobFiles, read from cupsctl)" in (
        result.output
    )

    monkeypatch.setenv("CUPS_SERVER", own_cupsd("PreserveJobFiles No", "PreserveJobHistory 3600"))
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 0, result.output
    assert "keeps no copy of a printed handout, and a job's history (no patient text) for 1 hour" in (
        result.output
    )


@pytest.mark.cups
def test_the_worker_command_warns_when_it_starts(own_cupsd, tmp_path):
    env = {**os.environ, "KIOSK_INSTANCE_PATH": str(tmp_path / "instance"), "CUPS_SERVER": own_cupsd()}
    env.pop("DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [*flask, "worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while "keeps a copy of every printed handout" not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no warning within 30 s:\n{log.read_text()}"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert "WARNING" in log.read_text()


@pytest.mark.cups
def test_the_ci_print_server_is_set_up_as_the_readme_says():
    if cups.missing():
        pytest.skip(cups.missing())
    cups.start_cupsd()
    settings = printing.spool_settings(printing.print_server())
    assert settings is not None
    assert spool_problems(settings) == [], "run .ci/cups-setup"


def test_on_postgresql_the_check_says_whether_the_purge_can_rewrite_the_tables(pg_app, cups):
    cups({"lpstat -H": ok("/run/cups/cups.sock\n"), "cupsctl": ok(CUPSCTL_SET_UP), "lpstat -v": ok("")})
    result = pg_app.test_cli_runner().invoke(args=["kiosk", "check"])
    assert result.exit_code == 0, result.output
    assert "OK: The purge can rewrite the patient tables (the role owns them)." in result.output
    with pg_app.app_context():
        recycled = db.session.scalar(text("SHOW wal_recycle")) == "on"
    assert ("NOTE: PostgreSQL reuses old write-ahead log files" in result.output) is recycled


@pytest.mark.parametrize(
    ("server", "local"),
    [
        ("/run/cups/cups.sock", True),
        ("localhost:631", True),
        ("127.0.0.1", True),
        ("[::1]:631", True),
        ("127.0.0.1:6331", False),  # another cupsd on this machine, with its own settings
        ("printhost.clinic:631", False),
        ("10.0.0.5", False),
    ],
)
def test_only_this_machines_own_cupsd_is_judged_by_its_cupsd_conf(server, local):
    assert printing.is_local_server(server) is local


# --- the braille embosser and liblouis -----------------------------------------------------------

WELL_SET_UP = {"lpstat -H": ok("/run/cups/cups.sock\n"), "cupsctl": ok(CUPSCTL_SET_UP), "lpstat -v": ok("")}


def embosser_found(app, name: str = "embosser") -> None:
    """As if the worker had found a queue whose driver is a braille embosser."""
    from kiosk.models import Printer

    with app.app_context():
        db.session.add(Printer(name=name, label="Braille embosser", state="idle", listed=True, embosser=True))
        db.session.commit()


def test_without_an_embosser_the_check_says_nothing_of_braille(runner, cups):
    cups(WELL_SET_UP)
    result = runner.invoke(args=["kiosk", "check"])
    assert "braille" not in result.output.lower()


@pytest.mark.skipif(bool(LIBLOUIS_MISSING), reason=LIBLOUIS_MISSING or "")
def test_an_embosser_with_liblouis_in_place_is_ok(app, runner, cups):
    cups(WELL_SET_UP)
    embosser_found(app)
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 0, result.output
    assert (
        "OK: The braille handout can be made for the embosser “embosser” in English and Español "
        "(liblouis: en-ueb-g2.ctb, en-ueb-g1.ctb, es-g1.ctb)." in result.output
    )


def test_an_embosser_without_liblouis_is_a_problem_that_says_what_to_install(app, runner, cups, monkeypatch):
    from kiosk import braille

    cups(WELL_SET_UP)
    app.config["BRAILLE_PRINTERS"] = "index-everest"
    monkeypatch.setattr(braille, "LOU_TRANSLATE", "/nonexistent/lou_translate")
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 1
    assert (
        "PROBLEM: The desk offers the braille embosser “index-everest”, but liblouis is not installed "
        "on this machine (lou_translate): no braille handout can be made. On the worker's machine: "
        "apt-get install liblouis-bin liblouis-data." in result.output
    )


def test_an_embosser_without_a_languages_table_is_a_problem(app, runner, cups, monkeypatch, tmp_path):
    from kiosk import braille

    cups(WELL_SET_UP)
    embosser_found(app)
    monkeypatch.setattr(braille, "TABLE_FOLDERS", (str(tmp_path),))
    monkeypatch.delenv("LOUIS_TABLEPATH", raising=False)
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 1
    assert (
        "PROBLEM: The desk offers the braille embosser “embosser”, but no braille handout can be made "
        "in English: the braille table for English (en-ueb-g2.ctb) is not installed. On the worker's "
        "machine: apt-get install liblouis-data." in result.output
    )
    assert "in Español: the braille table for Español (es-g1.ctb) is not installed." in result.output


def test_a_language_without_a_braille_table_is_noted(app, runner, cups, tmp_path):
    from .support.content import write
    from .support.languages import translations_folder

    cups(WELL_SET_UP)
    embosser_found(app)
    result = runner.invoke(args=["kiosk", "check"])
    assert "cannot be embossed" not in result.output  # only the languages the clinic offers
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations_folder(tmp_path / "translations", "vi"))
    write(app, 'languages = ["en", "es", "vi"]\ndraft_languages = ["vi"]\n')
    result = runner.invoke(args=["kiosk", "check"])
    assert (
        "NOTE: Handouts in Tiếng Việt cannot be embossed: the kiosk has no braille table for it."
        in result.output
    )


def test_auto_print_on_an_embosser_is_a_problem(app, runner, cups):
    from kiosk.models import Kiosk

    cups(WELL_SET_UP)
    embosser_found(app)
    with app.app_context():
        db.session.add(Kiosk(name="Waiting room 1", auto_print_printer="embosser"))
        db.session.commit()
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 1
    assert (
        "PROBLEM: The kiosk “Waiting room 1” prints every handout on “embosser”, a braille embosser: "
        "it is never sent a PDF, so those jobs fail. Choose a printer for paper (Desk, Kiosks)."
        in result.output
    )


def test_a_database_not_set_up_is_said_not_raised(app, runner, cups):
    from kiosk.models import Printer

    cups(WELL_SET_UP)
    with app.app_context():
        Printer.__table__.drop(db.engine)
    result = runner.invoke(args=["kiosk", "check"])
    assert result.exit_code == 0, result.output
    assert "CHECK BY HAND: Could not read which printers the worker found" in result.output
