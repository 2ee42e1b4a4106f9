"""Sending handouts to a printer: CUPS through its command-line tools, or a folder.

Plain functions over `lp`, `lpstat`, `cancel` and (when installed) `ipptool`;
nothing here imports the app. The tools honour `CUPS_SERVER` (and
`/etc/cups/client.conf`), so a remote print server needs no code here.

Every failure a person can act on becomes a `PrintError` whose `.reason` is a
sentence for the front desk; the raw tool output goes in `.detail` for the log.
A print server that does not answer at all is a `PrintServerDown` (trying
later may work), one that did not answer in time a `PrintServerTimeout` (and
a job being sent may or may not have reached it). PDF contents are never
logged. These calls can take seconds against a slow server: only the worker
makes them, never a web request.

The CUPS behaviour this relies on was observed on Debian 12 (CUPS 2.4.2):

- With the scheduler down (or `CUPS_SERVER` unreachable), `lp` does not say
  so: it prints "The printer or class does not exist.", and `lpstat -o QUEUE`
  prints 'Invalid destination name in list "QUEUE"'. Only `lpstat -r` tells
  the truth, so every failure is checked against it before it is explained.
- A job waiting on a paused queue looks like any waiting job in `lpstat -o`;
  the pause shows only on the printer (`lpstat -p`: "disabled since ...").
- `lpstat -l -o` shows a job's state *reasons* ("Alerts:") and the printer's
  message for it ("Status:") but not its state, so a cancelled job is
  listed among the completed ones exactly like a printed one. `ipptool`, when
  installed (Debian: cups-ipp-utils), tells them apart.
- A PDF that CUPS cannot read does not finish: the job stays pending with the
  reason "job-completed-with-errors" and CUPS's message, indefinitely.
- A braille embosser's queue (cups-filters' drivers: "Generic Braille
  embosser", Index models) says so in its make and model (`lpoptions -p
  QUEUE`: printer-make-and-model). Its filters, given a BRF
  (application/vnd.cups-brf), look up a liblouis table for the locale first
  and stop when they find none ("Could not find LibLouis table with locale
  en"), printing nothing; the braille handout is laid out already, so it is
  sent as it is (`lp -o raw`), and the embosser gets exactly its bytes.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .storage import write_atomically

log = logging.getLogger(__name__)

DIRECTORY_PRINTER = "directory"
DIRECTORY_LABEL = "Save to folder (no printer)"

# Seconds. A local CUPS answers in milliseconds; these only bound a hung or
# distant print server so that a desk page never waits on it for long.
QUERY_TIMEOUT = 5.0
SUBMIT_TIMEOUT = 30.0

SERVER_DOWN = (
    "The print server is not running or cannot be reached. Check that CUPS is running, then tap Retry."
)
SERVER_SLOW = (
    "The print server did not answer in time. Check that CUPS is running and reachable, then tap Retry."
)
TOOLS_MISSING = (
    "The CUPS printing tools are not installed on this computer. "
    "Install cups-client, or use “Save to folder”."
)
PRINTER_PAUSED = "The printer is paused."
JOB_ON_HOLD = "CUPS is holding this job. Release it in CUPS, or cancel it and tap Retry."
JOB_CANCELLED = "The job was cancelled in CUPS."
JOB_UNKNOWN = "CUPS no longer knows this job."

# CUPS's own message for a queue paused without a reason (`cupsdisable QUEUE`).
_DEFAULT_PAUSE_MESSAGES = {"", "Paused", "reason unknown"}
# Job state reasons (IPP keywords, shown by `lpstat -l -o` as "Alerts:") that
# mean the job will not print by itself.
_FAILED_JOB_REASONS = {
    "job-completed-with-errors",
    "aborted-by-system",
    "document-format-error",
    "document-unprintable-error",
    "job-canceled-at-device",
}
# Lines `lpstat -l -p` prints for every printer; the printer's own message,
# when it has one, is the indented line before them.
_LONG_PRINTER_FIELDS = ("Form mounted:", "Description:")


@dataclass(frozen=True)
class CupsQueue:
    """A CUPS print queue as ``lpstat`` lists it, or the one stand-in for a
    queue, DIRECTORY, which saves the PDF to a folder. (``models.Printer`` is
    the row the worker stores from these, for the desk to offer.)"""

    name: str  # CUPS queue name, or DIRECTORY_PRINTER
    label: str  # what staff see: the queue's description, else its name
    is_directory: bool
    state: str  # "idle" | "printing" | "paused" | "unknown"
    reason: str = ""  # e.g. "Paused since ..." or the printer's message from CUPS
    embosser: bool = False  # a braille embosser: it is sent the braille handout, never a PDF


DIRECTORY = CupsQueue(DIRECTORY_PRINTER, DIRECTORY_LABEL, is_directory=True, state="idle")


class PrintError(Exception):
    """Submitting (or asking CUPS) failed.

    `.reason` says what failed and what to do, for staff; `.detail` is the raw
    tool output, for the log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class PrintServerDown(PrintError):
    """The print server does not answer (not running, or unreachable).
    Nothing reached it; trying again once it answers may work."""

    def __init__(self, detail: str = "", reason: str = SERVER_DOWN) -> None:
        super().__init__(reason, detail)


class PrintServerTimeout(PrintServerDown):
    """A tool gave no answer in time: the server is hung or far away. A job
    being sent may have reached it all the same."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail, reason=SERVER_SLOW)


@dataclass(frozen=True)
class Submitted:
    job_id: str | None  # CUPS job id like "front-desk-12"; None for the directory printer
    state: str  # "sent" for CUPS, "completed" for the directory printer
    path: Path | None = None  # where the directory printer saved the PDF


@dataclass(frozen=True)
class JobStatus:
    state: str  # "sent" | "printing" | "held" | "completed" | "failed"
    reason: str = ""  # for staff, when held or failed


# --- Running the tools -------------------------------------------------------


@dataclass(frozen=True)
class ToolResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return "\n".join(part for part in (self.stdout.strip(), self.stderr.strip()) if part)


def run_tool(
    args: Sequence[str],
    stdin: bytes | None = None,
    timeout: float = QUERY_TIMEOUT,
    *,
    no_terminal: bool = False,
) -> ToolResult:
    """Run one CUPS tool. Tests replace this to feed in captured output.
    `no_terminal`: in a session of its own, so that a tool a server asks for
    a password (cupsctl) cannot ask on the terminal and wait there.

    Raises PrintError only when the tool is missing or does not answer in time."""
    # CUPS translates its messages; the parsing below reads the English ones.
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    try:
        done = subprocess.run(
            list(args),
            input=stdin,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
            start_new_session=no_terminal,
        )
    except FileNotFoundError as exc:
        raise PrintError(TOOLS_MISSING, detail=str(exc)) from None
    except subprocess.TimeoutExpired:
        raise PrintServerTimeout(f"{args[0]} gave no answer within {timeout:g} s") from None
    except OSError as exc:
        raise PrintError(f"Could not run {args[0]}: {exc.strerror}.", detail=str(exc)) from None
    return ToolResult(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def cups_available() -> bool:
    """Whether the CUPS client tools are installed (not whether a server answers)."""
    return shutil.which("lp") is not None and shutil.which("lpstat") is not None


def scheduler_running() -> bool:
    """Whether the CUPS server (local, or `CUPS_SERVER`) answers."""
    try:
        result = run_tool(["lpstat", "-r"])
    except PrintError:
        return False
    return parse_scheduler_running(result.stdout)


def parse_scheduler_running(text: str) -> bool:
    return "scheduler is running" in text


def print_server() -> str:
    """The CUPS server the tools talk to (`lpstat -H`): "host:port", or a
    socket path for the local one."""
    return run_tool(["lpstat", "-H"]).stdout.strip()


def _tool_message(result: ToolResult) -> str:
    """The tool's complaint without its name: "lp: Error - X" -> "X"."""
    line = (result.stderr.strip() or result.stdout.strip()).splitlines()[0:1]
    message = line[0] if line else f"exit status {result.returncode}"
    message = re.sub(r"^\w+: (Error - )?", "", message)
    return message.rstrip(".")


# --- Printers ----------------------------------------------------------------


_PRINTER_LINE = re.compile(r"^printer (?P<name>\S+) (?P<rest>.*)$")


@dataclass(frozen=True)
class _PrinterEntry:
    """One printer from `lpstat -p` / `lpstat -l -p`."""

    name: str
    status: str  # the rest of the first line: "is idle.  enabled since ...", "disabled since ... -"
    message: str  # the printer's own message (printer-state-message), if any
    description: str


def _printer_entries(text: str) -> list[_PrinterEntry]:
    blocks: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        if match := _PRINTER_LINE.match(line):
            blocks.append((match["name"], match["rest"], []))
        elif blocks and line.startswith("\t"):
            blocks[-1][2].append(line[1:])
    entries = []
    for name, status, details in blocks:
        message = ""
        if details and not details[0].startswith(_LONG_PRINTER_FIELDS):
            message = details[0].strip()
        description = next(
            (d.removeprefix("Description:").strip() for d in details if d.startswith("Description:")), ""
        )
        entries.append(_PrinterEntry(name, status, message, description))
    return entries


def parse_printers(text: str) -> list[CupsQueue]:
    """Printers from `lpstat -p` or `lpstat -l -p` output."""
    printers = []
    for entry in _printer_entries(text):
        state, reason = _printer_state(entry.status, entry.message)
        printers.append(CupsQueue(entry.name, entry.description or entry.name, False, state, reason))
    return printers


def _printer_state(rest: str, message: str) -> tuple[str, str]:
    if match := re.match(r"disabled since (?P<since>.*?) -$", rest):
        since = match["since"]
        if message in _DEFAULT_PAUSE_MESSAGES:
            return "paused", f"Paused since {since}."
        return "paused", f"Paused since {since}: {message}"
    if rest.startswith("is holding new jobs"):
        return "paused", message or "Holding new jobs."
    if rest.startswith("is idle"):
        return "idle", message
    if rest.startswith("now printing"):
        return "printing", message
    return "unknown", message


def _printing_job(text: str) -> str | None:
    """The job a printer is printing, from `lpstat -p QUEUE`."""
    match = re.search(r"^printer \S+ now printing (\S+?)\.\s", text, re.MULTILINE)
    return match[1] if match else None


def list_printers() -> list[CupsQueue]:
    """The CUPS queues, then the directory printer. Never raises: without a
    CUPS server the directory printer is still there."""
    try:
        result = run_tool(["lpstat", "-l", "-p"])
    except PrintError as exc:
        log.info("No CUPS printers listed: %s (%s)", exc.reason, exc.detail)
        return [DIRECTORY]
    if result.returncode != 0:
        # "lpstat: No destinations added." is CUPS without queues, not a fault.
        if "No destinations added" not in result.stderr:
            log.info("No CUPS printers listed: %s", result.output)
        return [DIRECTORY]
    return [*(_with_kind(queue) for queue in parse_printers(result.stdout)), DIRECTORY]


# What a braille embosser's driver calls itself ("Generic Braille embosser",
# "Index Braille Box V4/V5").
_EMBOSSER_MODEL = re.compile(r"braille|embosser", re.IGNORECASE)


def _with_kind(queue: CupsQueue) -> CupsQueue:
    """The queue, marked as an embosser if its make and model says so."""
    model = make_and_model(queue.name)
    if not _EMBOSSER_MODEL.search(model):
        return queue
    return CupsQueue(queue.name, queue.label, False, queue.state, queue.reason, embosser=True)


def make_and_model(printer: str) -> str:
    """The queue's printer-make-and-model (its driver's name), or "" when
    CUPS cannot say."""
    try:
        result = run_tool(["lpoptions", "-p", printer])
    except PrintError:
        return ""
    return parse_make_and_model(result.stdout) if result.returncode == 0 else ""


def parse_make_and_model(text: str) -> str:
    """printer-make-and-model from `lpoptions -p QUEUE` ("name=value name='a value' ...")."""
    try:
        options = shlex.split(text)
    except ValueError:
        return ""
    found = (o.partition("=")[2] for o in options if o.startswith("printer-make-and-model="))
    return next(found, "")


# --- Submitting --------------------------------------------------------------


_REQUEST_ID = re.compile(r"request id is (?P<id>\S+)")


def parse_request_id(text: str) -> str | None:
    """The job id from lp's "request id is QUEUE-12 (1 file(s))"."""
    match = _REQUEST_ID.search(text)
    return match["id"] if match else None


def submit(printer: str, pdf: bytes, title: str, *, directory: Path, raw: bool = False) -> Submitted:
    """Send a PDF to a CUPS queue (job title = `title`), or save it into
    `directory` as `title`.pdf for the directory printer. `raw`: a file
    ready for the printer (the braille handout's BRF), sent as it is."""
    if printer == DIRECTORY_PRINTER:
        if raw:
            raise PrintError("The braille handout goes to a braille embosser. Choose one, then tap Retry.")
        path = save_to_directory(pdf, title, directory)
        return Submitted(None, "completed", path=path)
    if not printer:
        raise PrintError("No printer was chosen. Choose a printer, then tap Print.")
    # The PDF goes in on stdin, so no copy of a handout is left in a temp file.
    command = ["lp", "-d", printer, "-t", title, *(["-o", "raw"] if raw else [])]
    result = run_tool(command, stdin=pdf, timeout=SUBMIT_TIMEOUT)
    if result.returncode == 0:
        if job_id := parse_request_id(result.stdout):
            log.info("Sent %s to %s as %s", title, printer, job_id)
            return Submitted(job_id, "sent")
        raise PrintError(
            "CUPS took the job but did not say its number. Check the printer before printing again.",
            detail=result.output,
        )
    reason = explain_lp_failure(printer, result)
    log.warning("Printing %s on %s failed: %s", title, printer, result.output)
    if reason == SERVER_DOWN:
        raise PrintServerDown(result.output)
    raise PrintError(reason, detail=result.output)


def explain_lp_failure(printer: str, result: ToolResult) -> str:
    """A staff-facing sentence for a failed `lp`."""
    text = result.output
    if "not accepting jobs" in text:
        why = _rejection_message(printer)
        why = f" ({why})" if why else ""
        return (
            f"The printer “{printer}” is not accepting jobs{why}. "
            "Choose another printer, or set it to accept jobs again in CUPS, then tap Retry."
        )
    # lp says "does not exist" when the scheduler is down, too; ask it.
    if not scheduler_running():
        return SERVER_DOWN
    if "does not exist" in text:
        return f"CUPS has no printer called “{printer}”. Choose another printer, then tap Retry."
    return f"CUPS refused the job: {_tool_message(result)}. Check the printer in CUPS, then tap Retry."


def _rejection_message(printer: str) -> str:
    """Why a queue rejects jobs (the text given to `cupsreject -r`), if known."""
    try:
        result = run_tool(["lpstat", "-a", printer])
    except PrintError:
        return ""
    return parse_rejection_message(result.stdout)


def parse_rejection_message(text: str) -> str:
    """The indented reason under "QUEUE not accepting requests since ..." (`lpstat -a`)."""
    lines = text.splitlines()
    for line, following in zip(lines, lines[1:], strict=False):
        if " not accepting requests " in line and following.startswith("\t"):
            message = following.strip()
            return "" if message in ("Rejecting Jobs", "reason unknown") else message
    return ""


def _safe_name(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", title).strip("-")[:60] or "handout"


def save_to_directory(pdf: bytes, title: str, directory: Path) -> Path:
    """Write the PDF into `directory` as TITLE.pdf, atomically: a reader never
    sees half a file, and a save that fails (a full disk) leaves no partial
    ``.part`` file behind. The title is unique to one print job, so saving the
    same job again (a worker that died mid-save, say) rewrites the same file
    rather than leaving a second copy."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target = write_atomically(directory / f"{_safe_name(title)}.pdf", pdf)
    except OSError as exc:
        raise PrintError(
            f"Could not save the handout into the folder {directory}: {exc.strerror}. "
            "Check that the folder exists and can be written to, then tap Retry.",
            detail=str(exc),
        ) from None
    log.info("Saved %s to %s", title, target)
    return target


# --- Following a job ---------------------------------------------------------


@dataclass(frozen=True)
class QueuedJob:
    """One job from `lpstat -l -o`."""

    job_id: str
    reasons: tuple[str, ...] = ()  # "Alerts:" — IPP job-state-reasons
    message: str = ""  # "Status:" — the printer's message about this job


def parse_jobs(text: str) -> dict[str, QueuedJob]:
    """Jobs from `lpstat -o` or `lpstat -l -o` output, by job id."""
    jobs: dict[str, QueuedJob] = {}
    current: QueuedJob | None = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            current = QueuedJob(line.split()[0])
            jobs[current.job_id] = current
            continue
        if current is None:
            continue
        detail = line.strip()
        if detail.startswith("Alerts:"):
            reasons = tuple(r for r in detail[len("Alerts:") :].split() if r != "none")
            current = jobs[current.job_id] = QueuedJob(current.job_id, reasons, current.message)
        elif detail.startswith("Status:"):
            message = detail[len("Status:") :].strip()
            current = jobs[current.job_id] = QueuedJob(current.job_id, current.reasons, message)
    return jobs


class _QueueGone(Exception):
    pass


def _jobs(printer: str, which: str) -> dict[str, QueuedJob]:
    result = run_tool(["lpstat", "-W", which, "-l", "-o", printer])
    if result.returncode == 0:
        return parse_jobs(result.stdout)
    # lpstat says "Invalid destination name" for an unreachable server too.
    if not scheduler_running():
        raise PrintServerDown(result.output)
    if "Invalid destination name" in result.output:
        raise _QueueGone
    raise PrintError(
        f"CUPS could not report on the job: {_tool_message(result)}. Check CUPS, then tap Retry.",
        detail=result.output,
    )


def job_status(printer: str, job_id: str) -> JobStatus:
    """Where a submitted job is now. Raises PrintError when the print server
    cannot be asked; the caller keeps the last known state."""
    if printer == DIRECTORY_PRINTER:
        return JobStatus("completed")
    try:
        # Pending first: a job that finishes between the two questions is then
        # still found among the completed ones.
        if job := _jobs(printer, "not-completed").get(job_id):
            return _pending_status(printer, job)
        if job := _jobs(printer, "completed").get(job_id):
            return _finished_status(printer, job)
    except _QueueGone:
        return JobStatus("failed", f"The printer “{printer}” no longer exists in CUPS.")
    return JobStatus("failed", JOB_UNKNOWN)


def _pending_status(printer: str, job: QueuedJob) -> JobStatus:
    if failed := _FAILED_JOB_REASONS.intersection(job.reasons):
        return JobStatus("failed", _failure_reason(job.message, failed))
    if any("hold" in r or "held" in r for r in job.reasons):
        return JobStatus("held", JOB_ON_HOLD)
    if "job-printing" in job.reasons:
        return JobStatus("printing")
    result = run_tool(["lpstat", "-p", printer])
    if result.returncode == 0:
        if _printing_job(result.stdout) == job.job_id:
            return JobStatus("printing")
        for entry in _printer_entries(result.stdout):
            if entry.status.startswith("disabled"):
                if entry.message in _DEFAULT_PAUSE_MESSAGES:
                    return JobStatus("held", PRINTER_PAUSED)
                return JobStatus("held", f"The printer is paused: {entry.message}")
    return JobStatus("sent")


def _failure_reason(message: str, reasons: set[str] | Sequence[str]) -> str:
    if message:
        return f"The printer could not print this job: {message}"
    return f"CUPS could not print this job ({', '.join(sorted(reasons))})."


def _finished_status(printer: str, job: QueuedJob) -> JobStatus:
    if failed := _FAILED_JOB_REASONS.intersection(job.reasons):
        return JobStatus("failed", _failure_reason(job.message, failed))
    state = _ipp_job_state(printer, job.job_id)
    if state is None or state[0] == "completed":
        return JobStatus("completed")
    job_state, reasons, message = state
    if job_state == "canceled":
        return JobStatus("failed", JOB_CANCELLED)
    return JobStatus("failed", _failure_reason(message, reasons.split(",")))


def _ipp_job_state(printer: str, job_id: str) -> tuple[str, str, str] | None:
    """(job-state, job-state-reasons, message) for a finished job, or None when
    ipptool is not installed or cannot say; lpstat alone cannot tell a
    cancelled job from a printed one."""
    number = job_id.rpartition("-")[2]
    if not number.isdigit():
        return None
    try:
        rows = _ipptool(ipp_uri(print_server(), printer), _ipp_get_job(int(number), _JOB_STATE))
    except (PrintError, OSError) as exc:
        log.info("ipptool could not read job %s: %s", job_id, getattr(exc, "detail", "") or exc)
        return None
    if not rows or not rows[0].get("job-state"):
        return None
    row = rows[0]
    return row["job-state"], row.get("job-state-reasons", ""), row.get("job-printer-state-message", "")


def ipp_uri(server: str, printer: str) -> str:
    """The printer's IPP URI on the server `lpstat -H` names ("host:port" or a socket path)."""
    host = quote(server, safe="") if server.startswith("/") else server or "localhost"
    return f"ipp://{host}/printers/{quote(printer)}"


# Get-Jobs lists every job's id; the titles of finished jobs are only given
# for one job at a time (Get-Job-Attributes), as CUPS 2.4 unloads them.
_IPP_GET_JOB_IDS = """{
  OPERATION Get-Jobs
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name $user
  ATTR keyword which-jobs all
  ATTR keyword requested-attributes job-id
  STATUS successful-ok
  DISPLAY job-id
}
"""


def _ipp_get_job(number: int, attributes: tuple[str, ...]) -> str:
    """Get-Job-Attributes for one job, as an ipptool test: its id and
    `attributes`, one CSV row. A job CUPS no longer has gives no row."""
    names = ("job-id", *attributes)
    return (
        "{\n"
        "  OPERATION Get-Job-Attributes\n"
        "  GROUP operation-attributes-tag\n"
        "  ATTR charset attributes-charset utf-8\n"
        "  ATTR naturalLanguage attributes-natural-language en\n"
        "  ATTR uri printer-uri $uri\n"
        f"  ATTR integer job-id {number}\n"
        "  ATTR name requesting-user-name $user\n"
        f"  ATTR keyword requested-attributes {','.join(names)}\n"
        "  STATUS successful-ok\n"
        "  STATUS client-error-not-found\n" + "".join(f"  DISPLAY {name}\n" for name in names) + "}\n"
    )


# What is asked about a finished job, and about a job looked for by title.
_JOB_STATE = ("job-state", "job-state-reasons", "job-printer-state-message")
_JOB_TITLE = ("job-name", "job-state")
# How far back to look for a job by title: the newest jobs on the queue.
FIND_JOB_LOOKBACK = 50
# Jobs in these IPP states never printed and never will.
_GONE_JOB_STATES = {"canceled", "aborted"}


def find_job(printer: str, title: str) -> str | None:
    """The CUPS job id ("QUEUE-12") of a live or printed job titled `title`
    among the queue's newest jobs, or None when there is none.

    This is how a send that was cut off (a worker killed while `lp` ran, or
    an `lp` that timed out) is told apart from one that reached CUPS, before
    sending again. Raises PrintServerDown when CUPS does not answer, and
    PrintError when it cannot be asked (no ipptool): then nobody can say."""
    if printer == DIRECTORY_PRINTER:
        return None
    uri = ipp_uri(print_server(), printer)
    try:
        listed = _ipptool(uri, _IPP_GET_JOB_IDS)
        ids = sorted({int(row["job-id"]) for row in listed if row.get("job-id", "").isdigit()}, reverse=True)
        if not ids:
            return None
        rows = _ipptool(uri, "".join(_ipp_get_job(n, _JOB_TITLE) for n in ids[:FIND_JOB_LOOKBACK]))
    except _IpptoolFailed as error:
        if not scheduler_running():
            raise PrintServerDown(error.detail) from None
        raise
    for row in rows:
        if row.get("job-name") == title and row.get("job-state") not in _GONE_JOB_STATES:
            return f"{printer}-{row['job-id']}"
    return None


class _IpptoolFailed(PrintError):
    """ipptool ran and CUPS refused or did not answer: the caller tells which."""


def _ipptool(uri: str, tests: str) -> list[dict[str, str]]:
    """Run ipptool tests (it cannot read them from stdin) against `uri`; the
    rows of its CSV output, each with a job-id. The one way to talk to ipptool."""
    with tempfile.NamedTemporaryFile("w", suffix=".test") as test:
        test.write(tests)
        test.flush()
        result = run_tool(["ipptool", "-c", "-T", "5", uri, test.name])
    if result.returncode != 0:
        raise _IpptoolFailed(
            f"CUPS could not list the printer's jobs: {_tool_message(result)}.", detail=result.output
        )
    rows: list[dict[str, str]] = []
    header: list[str] = []
    for row in csv.reader(result.stdout.splitlines()):
        if row and row[0] == "job-id":
            header = row
        elif header and row:
            rows.append(dict(zip(header, row, strict=False)))
    return rows


def cancel_job(job_id: str) -> None:
    """Cancel a CUPS job, e.g. a failed one before it is sent again, so that
    CUPS cannot print it later as well. A job already gone is fine."""
    result = run_tool(["cancel", job_id])
    if result.returncode == 0 or "already" in result.output or "does not exist" in result.output:
        return
    if not scheduler_running():
        raise PrintServerDown(result.output)
    raise PrintError(f"CUPS could not cancel the job: {_tool_message(result)}.", detail=result.output)


# --- What the print server keeps ------------------------------------------------
#
# CUPS keeps a copy of every document it printed (the job's d… file in its
# spool, /var/spool/cups) for PreserveJobFiles, a day by default, and each
# job's history (number, title, owner, state) for PreserveJobHistory, for
# ever by default (up to MaxJobs). The copy of a handout is the patient's
# words, beyond the app's reach: `cancel -x` refuses a finished job. So the
# print server must be set to keep no files; the history holds nothing of
# the patient (the title is the claim code, the job's number and a random
# part) and must outlast the worker's following of a job.

# CUPS 2.4's defaults, when cupsd.conf does not say.
DEFAULT_JOB_FILES = 86400.0
DEFAULT_JOB_HISTORY = math.inf
# The history must outlast a worker's look at a finished job: every 2 s when
# all is well, after JOB_LEASE_SECONDS when a send was cut off.
SHORTEST_JOB_HISTORY = 600.0
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class SpoolSettings:
    """How long the print server keeps printed jobs' files and history, in
    seconds (0: not at all; math.inf: until the job is purged)."""

    job_files: float
    job_history: float
    source: str  # where they were read: "cupsctl" or the cupsd.conf path


def cups_duration(value: str) -> float | None:
    """A cupsd.conf time ("No", "Yes", "3600", "1d"), in seconds; None when unreadable."""
    value = value.strip().lower()
    if value in ("no", "off", "false", "disabled"):
        return 0.0
    if value in ("yes", "on", "true", "enabled"):
        return math.inf
    if match := re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", value):
        return float(match[1]) * _DURATION_UNITS[match[2]]
    return None


def parse_spool_settings(text: str, source: str) -> SpoolSettings:
    """The settings from cupsd.conf ("Name Value") or `cupsctl` ("Name=Value")
    text: top-level directives only, the last one winning, CUPS's defaults
    where they are missing (or unreadable, as cupsd itself does)."""
    found: dict[str, float] = {}
    depth = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("</"):
            depth = max(0, depth - 1)
            continue
        if line.startswith("<"):
            depth += 1
            continue
        if depth:
            continue
        name, _, value = line.replace("=", " ", 1).partition(" ")
        name = name.lower()
        if (
            name in ("preservejobfiles", "preservejobhistory")
            and (seconds := cups_duration(value)) is not None
        ):
            found[name] = seconds
    return SpoolSettings(
        job_files=found.get("preservejobfiles", DEFAULT_JOB_FILES),
        job_history=found.get("preservejobhistory", DEFAULT_JOB_HISTORY),
        source=source,
    )


def is_local_server(server: str) -> bool:
    """Whether `server` is this machine's own cupsd (its socket, or loopback on
    CUPS's port), whose cupsd.conf is the one in /etc/cups."""
    if server.startswith("/"):
        return True
    host, port = server, ""
    if server.startswith("["):  # [::1]:631
        host, _, port = server[1:].partition("]")
        port = port.removeprefix(":")
    elif server.count(":") == 1:
        host, _, port = server.partition(":")
    return (host in ("localhost", "::1") or host.startswith("127.")) and port in ("", "631")


def cupsd_conf() -> Path:
    return Path(os.environ.get("CUPS_SERVERROOT") or "/etc/cups") / "cupsd.conf"


def spool_settings(server: str) -> SpoolSettings | None:
    """What the print server keeps, as its cupsd.conf says: asked of the server
    with `cupsctl` (a remote one too), else read from this machine's
    cupsd.conf when the server is local. None when nobody can say."""
    try:
        result = run_tool(["cupsctl"], stdin=b"", no_terminal=True)
    except PrintError as exc:
        log.info("cupsctl could not read the print server's settings: %s", exc.detail or exc.reason)
    else:
        if result.returncode == 0 and "=" in result.stdout:
            return parse_spool_settings(result.stdout, "cupsctl")
        log.info("cupsctl could not read the print server's settings: %s", result.output)
    if is_local_server(server):
        try:
            return parse_spool_settings(cupsd_conf().read_text(errors="replace"), str(cupsd_conf()))
        except OSError as exc:
            log.info("%s could not be read: %s", cupsd_conf(), exc.strerror)
    return None


def describe_duration(seconds: float) -> str:
    if seconds == math.inf:
        return "until CUPS's MaxJobs limit pushes it out"
    if seconds % 3600 == 0 and seconds >= 3600:
        hours = int(seconds // 3600)
        return f"for {hours} hour{'s' if hours != 1 else ''}"
    return f"for {seconds:g} seconds"


KEEP_NO_FILES = "Set “PreserveJobFiles No” in its cupsd.conf (README, Deploying in a clinic)."


def spool_problems(settings: SpoolSettings) -> list[str]:
    """What is wrong with these settings, for staff, or nothing."""
    problems = []
    if settings.job_files > 0:
        problems.append(
            f"The print server keeps a copy of every printed handout {describe_duration(settings.job_files)} "
            f"(PreserveJobFiles, read from {settings.source}), after the kiosk has deleted it. "
            + KEEP_NO_FILES
        )
    if settings.job_history < SHORTEST_JOB_HISTORY:
        when = (
            "as soon as it has printed"
            if not settings.job_history
            else f"{settings.job_history:g} seconds after"
        )
        problems.append(
            f"The print server forgets a job {when} (PreserveJobHistory, read from {settings.source}): "
            "the desk could show a printed handout as failed. Keep the history at least "
            f"{SHORTEST_JOB_HISTORY:g} seconds, e.g. “PreserveJobHistory 3600”."
        )
    return problems


def pdf_folder_printers() -> list[str]:
    """CUPS queues that print into a folder with cups-pdf (device cups-pdf:/),
    from `lpstat -v`."""
    try:
        result = run_tool(["lpstat", "-v"])
    except PrintError:
        return []
    return re.findall(r"^device for (\S+): cups-pdf:", result.stdout, re.MULTILINE)
