"""The machine's settings that decide whether a patient's words outlive the
purge: checked by ``flask --app wsgi kiosk check`` and, for the print
server, logged by the worker when it starts.

The kiosk deletes its own copies (``kiosk.retention``); what other programs
keep is theirs to set, so this only reads their settings and says what to
change. Every finding is a sentence for the clinic's IT, with no patient
data in it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from . import printing

log = logging.getLogger(__name__)


class Level(StrEnum):
    OK = "ok"
    PROBLEM = "problem"  # something keeps patient data longer than the kiosk says
    UNKNOWN = "check by hand"  # nobody here can tell


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


def everything() -> list[Finding]:
    return print_server()


def log_at_start() -> None:
    """Log what is wrong (the worker calls this when it starts). Never raises:
    a check that fails must not keep handouts from printing."""
    try:
        findings = print_server()
    except Exception:  # noqa: BLE001 (a check, not the work)
        log.exception("could not check the print server's settings")
        return
    for finding in findings:
        if finding.level is not Level.OK:
            log.warning("%s (flask --app wsgi kiosk check)", finding.text)
