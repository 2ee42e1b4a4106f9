"""The settings that decide whether a patient's words outlive the purge,
outside the app's own files: the print server's and the database's.
Checked by ``flask --app wsgi kiosk check``, and logged by the worker when
it starts.

The kiosk deletes its own copies (``kiosk.retention``); what other programs
keep is theirs to set, so this only reads their settings and says what to
change. Every finding is a sentence for the clinic's IT, with no patient
data in it.

Where the desk offers a braille embosser, it also checks that the braille
handout can be made here (liblouis and its tables for the kiosk's
languages), and that no kiosk auto-prints its PDFs on an embosser.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from enum import StrEnum

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from . import braille, content, print_jobs, printing
from .extensions import db
from .models import Kiosk, Printer

log = logging.getLogger(__name__)


class Level(StrEnum):
    OK = "ok"
    PROBLEM = "problem"  # something keeps patient data longer than the kiosk says, or cannot work
    UNKNOWN = "check by hand"  # nobody here can tell
    NOTE = "note"  # for the administrator of another program to consider


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str


CUPS_PDF = (
    "The printer “{queue}” is a cups-pdf PDF printer: it keeps a PDF of every handout printed on it "
    "in a folder of the print server, which the kiosk never empties. It is for tests only; in a "
    "clinic use “Save to folder” (the folder the kiosk empties itself) or a real printer, and "
    "delete this queue (lpadmin -x {queue})."
)


def print_server() -> list[Finding]:
    """Whether the CUPS server keeps copies of printed handouts, and whether a
    cups-pdf queue keeps them in a folder."""
    if not printing.cups_available():
        return [Finding(Level.OK, "CUPS is not installed: handouts are only saved to the kiosk's folder.")]
    try:
        server = printing.print_server()
    except printing.PrintError as error:
        return [Finding(Level.UNKNOWN, f"Could not ask CUPS which print server it uses: {error.reason}")]
    settings = printing.spool_settings(server)
    name = "this machine's print server" if server.startswith("/") else f"the print server {server}"
    findings = []
    if settings is None:
        findings.append(
            Finding(
                Level.UNKNOWN,
                f"Could not read the settings of {name}. Check on it by hand that its "
                "cupsd.conf says “PreserveJobFiles No” and “PreserveJobHistory 3600” "
                "(README, Deploying in a clinic).",
            )
        )
    else:
        problems = printing.spool_problems(settings)
        findings += [Finding(Level.PROBLEM, problem) for problem in problems]
        if not problems:
            findings.append(
                Finding(
                    Level.OK,
                    f"{name[0].upper()}{name[1:]} keeps no copy of a printed handout, and a job's history "
                    f"(no patient text) {printing.describe_duration(settings.job_history)} "
                    f"(read from {settings.source}).",
                )
            )
    findings += [
        Finding(Level.PROBLEM, CUPS_PDF.format(queue=queue)) for queue in printing.pdf_folder_printers()
    ]
    return findings


def database() -> list[Finding]:
    """On PostgreSQL: whether the purge can rewrite the patient tables (only
    their owner may), and how long the write-ahead log keeps old bytes."""
    if db.engine.dialect.name != "postgresql":
        return []
    from .retention import PATIENT_TABLES

    names = [model.__tablename__ for model in PATIENT_TABLES]
    not_owned = db.session.scalars(
        text(
            "SELECT relname FROM pg_class WHERE relname = ANY(:names) AND relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace AND NOT pg_has_role(relowner, 'USAGE') ORDER BY relname"
        ),
        {"names": names},
    ).all()
    recycle = db.session.scalar(text("SELECT setting FROM pg_settings WHERE name = 'wal_recycle'"))
    db.session.rollback()
    findings = []
    if not_owned:
        findings.append(
            Finding(
                Level.PROBLEM,
                f"The database role does not own the tables {', '.join(not_owned)}: the purge cannot "
                "rewrite them, and deleted answers stay in their files until the database reuses the "
                "space. Make the app's role their owner (ALTER TABLE … OWNER TO).",
            )
        )
    else:
        findings.append(Finding(Level.OK, "The purge can rewrite the patient tables (the role owns them)."))
    if recycle == "on":
        findings.append(
            Finding(
                Level.NOTE,
                "PostgreSQL reuses old write-ahead log files (wal_recycle = on): their old bytes, "
                "patients' words among them, stay until new log overwrites them. Set wal_recycle = off "
                "(README, What PostgreSQL keeps after a purge).",
            )
        )
    return findings


def _quoted(names: list[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)


def embossers() -> list[Finding]:
    """Where the desk offers a braille embosser (found by the worker in CUPS,
    or named in BRAILLE_PRINTERS): whether liblouis can make the braille
    handout here in each of the languages the clinic offers, and whether a kiosk
    auto-prints its PDFs on one."""
    try:
        # Listed by CUPS now or not: the desk offers both.
        found = set(db.session.scalars(select(Printer.name).where(Printer.embosser)).all())
    except SQLAlchemyError:
        db.session.rollback()
        return [
            Finding(
                Level.UNKNOWN,
                "Could not read which printers the worker found, to look for braille embossers: "
                "is the database set up (flask --app wsgi kiosk init-db)?",
            )
        ]
    names = sorted(found | print_jobs.braille_printers())
    if not names:
        return []
    offers = f"The desk offers the braille embosser{'s' if len(names) > 1 else ''} {_quoted(names)}"
    findings = []
    languages = content.languages()
    with_table = [code for code in languages if code in braille.TABLES]
    if not shutil.which(braille.LOU_TRANSLATE):
        findings.append(
            Finding(
                Level.PROBLEM,
                f"{offers}, but liblouis is not installed on this machine (lou_translate): no braille "
                "handout can be made. On the worker's machine: apt-get install liblouis-bin liblouis-data.",
            )
        )
    else:
        made = []
        for code in with_table:
            try:
                tables = [braille.table_for(code), braille.table_for(code, braille.CODE_TABLES)]
                braille.translate(["Code"], code)
                braille.codes_in_braille(["K7P2"], code)
            except braille.BrailleUnavailable as error:
                reason = error.reason.removesuffix(" Ask IT to install liblouis-data.")
                reason = reason[0].lower() + reason[1:]
                findings.append(
                    Finding(
                        Level.PROBLEM,
                        f"{offers}, but no braille handout can be made in {languages[code]}: {reason} "
                        "On the worker's machine: apt-get install liblouis-data.",
                    )
                )
            else:
                made.append((code, tables))
        if made:
            used = list(dict.fromkeys(table for _, tables in made for table in tables))
            findings.append(
                Finding(
                    Level.OK,
                    f"The braille handout can be made for the embosser{'s' if len(names) > 1 else ''} "
                    f"{_quoted(names)} in {' and '.join(languages[code] for code, _ in made)} "
                    f"(liblouis: {', '.join(used)}).",
                )
            )
    findings += [
        Finding(
            Level.NOTE,
            f"Handouts in {name} cannot be embossed: the kiosk has no braille table for it.",
        )
        for code, name in languages.items()
        if code not in braille.TABLES
    ]
    auto = current_app.config["AUTO_PRINT_PRINTER"]
    if auto in names:
        findings.append(
            Finding(
                Level.PROBLEM,
                f"AUTO_PRINT_PRINTER is “{auto}”, a braille embosser: it is never sent a PDF, so those "
                "jobs fail. Name a printer for paper, or leave it empty.",
            )
        )
    kiosks = db.session.execute(
        select(Kiosk.name, Kiosk.auto_print_printer)
        .where(Kiosk.auto_print_printer.in_(names))
        .order_by(Kiosk.name)
    ).all()
    findings += [
        Finding(
            Level.PROBLEM,
            f"The kiosk “{kiosk}” prints every handout on “{printer}”, a braille embosser: it is never "
            "sent a PDF, so those jobs fail. Choose a printer for paper (Desk, Kiosks).",
        )
        for kiosk, printer in kiosks
    ]
    db.session.rollback()
    return findings


def everything() -> list[Finding]:
    return print_server() + database() + embossers()


def log_at_start() -> None:
    """Log what is wrong (the worker calls this when it starts). Never raises:
    a check that fails must not keep handouts from printing."""
    try:
        findings = everything()
    except Exception:  # noqa: BLE001 (a check, not the work)
        db.session.rollback()
        log.exception("could not check the print server's and the database's settings")
        return
    for finding in findings:
        if finding.level is not Level.OK:
            log.warning("%s (flask --app wsgi kiosk check)", finding.text)
