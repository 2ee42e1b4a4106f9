"""What the printing module makes of what CUPS says.

The tool output (tests/support/cups_output.py) was captured from real CUPS
tools; a fake runner plays it back. tests/test_cups.py drives the same code against a real
CUPS server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import printing
from kiosk.printing import (
    DIRECTORY,
    DIRECTORY_PRINTER,
    CupsQueue,
    JobStatus,
    PrintError,
    Submitted,
    job_status,
    list_printers,
    submit,
)

from .conftest import FakeTools, error, ok
from .support.cups_output import (
    CANCEL_DONE,
    CANCEL_SCHEDULER_DOWN,
    CANCEL_UNKNOWN,
    IPPTOOL_ABORTED,
    IPPTOOL_CANCELED,
    IPPTOOL_COMPLETED,
    IPPTOOL_NO_SUCH_JOB,
    LP_NO_SUCH_PRINTER,
    LP_NOT_ACCEPTING,
    LP_SENT_FROM_FILE,
    LP_SENT_FROM_STDIN,
    LPOPTIONS_BRAILLE,
    LPOPTIONS_CUPS_PDF,
    LPSTAT_A_REJECTING,
    LPSTAT_A_REJECTING_NO_REASON,
    LPSTAT_H,
    LPSTAT_INVALID_QUEUE,
    LPSTAT_L_O_PRINTING,
    LPSTAT_L_O_UNREADABLE,
    LPSTAT_L_O_WAITING,
    LPSTAT_L_P_TWO_PRINTERS,
    LPSTAT_NO_PRINTERS,
    LPSTAT_NOT_RUNNING,
    LPSTAT_O,
    LPSTAT_P_IDLE,
    LPSTAT_P_IDLE_AFTER_A_BAD_JOB,
    LPSTAT_P_PAUSED,
    LPSTAT_P_PAUSED_WITH_REASON,
    LPSTAT_P_PRINTING,
    LPSTAT_RUNNING,
    LPSTAT_SCHEDULER_DOWN,
    LPSTAT_W_COMPLETED_L_O,
    LPSTAT_W_COMPLETED_O,
)

QUEUE = "kiosk-test-pdf"
PDF = b"%PDF-1.4 a handout\n%%EOF\n"

RUNNING = {"lpstat -r": ok(LPSTAT_RUNNING)}
DOWN = {"lpstat -r": ok(LPSTAT_NOT_RUNNING)}
MISSING_TOOLS = PrintError(printing.TOOLS_MISSING, "[Errno 2] No such file or directory: 'lp'")


# --- Submitting ---------------------------------------------------------------


def test_a_handout_goes_to_lp_on_stdin_titled_with_its_claim_code(cups, tmp_path):
    tools = cups({"lp": ok(LP_SENT_FROM_STDIN)})

    assert submit(QUEUE, PDF, "K7P2", directory=tmp_path) == Submitted("kiosk-test-pdf-1", "sent")
    assert tools.calls == [(f"lp -d {QUEUE} -t K7P2", PDF)]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "job_id"),
    [
        (LP_SENT_FROM_STDIN, "kiosk-test-pdf-1"),
        (LP_SENT_FROM_FILE, "kiosk-test-pdf-19"),
        ("request id is front-desk-2-12 (1 file(s))\n", "front-desk-2-12"),
        ("", None),
    ],
)
def test_the_job_id_comes_from_lps_request_id_line(output, job_id):
    assert printing.parse_request_id(output) == job_id


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        pytest.param({"lp": error(LP_NO_SUCH_PRINTER), **DOWN}, printing.SERVER_DOWN, id="scheduler down"),
        pytest.param(
            {"lp": error(LP_NO_SUCH_PRINTER), **RUNNING},
            "CUPS has no printer called “kiosk-test-pdf”. Choose another printer, then tap Retry.",
            id="unknown printer",
        ),
        pytest.param(
            {"lp": error(LP_NOT_ACCEPTING), "lpstat -a": ok(LPSTAT_A_REJECTING)},
            "The printer “kiosk-test-pdf” is not accepting jobs (Moved to room 2). Choose another printer,"
            " or set it to accept jobs again in CUPS, then tap Retry.",
            id="rejecting, with a reason",
        ),
        pytest.param(
            {"lp": error(LP_NOT_ACCEPTING), "lpstat -a": ok(LPSTAT_A_REJECTING_NO_REASON)},
            "The printer “kiosk-test-pdf” is not accepting jobs. Choose another printer,"
            " or set it to accept jobs again in CUPS, then tap Retry.",
            id="rejecting",
        ),
        pytest.param(
            {"lp": error("lp: Error - Unsupported document-format.\n"), **RUNNING},
            "CUPS refused the job: Unsupported document-format. Check the printer in CUPS, then tap Retry.",
            id="anything else",
        ),
        pytest.param({"lp": MISSING_TOOLS}, printing.TOOLS_MISSING, id="lp not installed"),
        pytest.param(
            {"lp": PrintError(printing.SERVER_SLOW, "lp gave no answer within 30 s")},
            printing.SERVER_SLOW,
            id="no answer",
        ),
    ],
)
def test_a_failed_handout_tells_staff_what_failed_and_what_to_do(cups, tmp_path, answers, reason):
    cups(answers)

    with pytest.raises(PrintError) as failure:
        submit(QUEUE, PDF, "K7P2", directory=tmp_path)

    assert failure.value.reason == reason
    assert failure.value.detail
    assert "a handout" not in failure.value.detail, "no PDF content in the log detail"


def test_lps_own_words_are_kept_for_the_log(cups, tmp_path):
    cups({"lp": error(LP_NO_SUCH_PRINTER), **DOWN})

    with pytest.raises(PrintError) as failure:
        submit(QUEUE, PDF, "K7P2", directory=tmp_path)

    assert failure.value.detail == LP_NO_SUCH_PRINTER.strip()


def test_a_job_lp_accepted_without_a_number_is_not_sent_again_blindly(cups, tmp_path):
    cups({"lp": ok("")})

    with pytest.raises(PrintError, match="Check the printer before printing again"):
        submit(QUEUE, PDF, "K7P2", directory=tmp_path)


def test_no_printer_chosen(cups, tmp_path):
    tools = cups({})

    with pytest.raises(PrintError, match="No printer was chosen"):
        submit("", PDF, "K7P2", directory=tmp_path)
    assert tools.calls == []


# --- The directory printer ----------------------------------------------------


def test_the_directory_printer_saves_the_pdf_into_the_folder(cups, tmp_path):
    tools = cups({})
    folder = tmp_path / "instance" / "handouts"

    submitted = submit(DIRECTORY_PRINTER, PDF, "K7P2", directory=folder)

    assert (submitted.job_id, submitted.state) == (None, "completed")
    assert submitted.path is not None and submitted.path.parent == folder
    assert submitted.path.name == "K7P2.pdf"
    assert submitted.path.read_bytes() == PDF
    assert [p.name for p in folder.iterdir()] == [submitted.path.name], "no temporary file left behind"
    assert tools.calls == [], "CUPS is not asked"


def test_saving_one_job_again_rewrites_its_file_and_another_job_gets_its_own(tmp_path):
    """A job's title is unique to it: a save cut off and done again leaves one
    file, and a second print of the same handout leaves a second file."""
    first = submit(DIRECTORY_PRINTER, b"%PDF cut off", "K7P2-1", directory=tmp_path)
    again = submit(DIRECTORY_PRINTER, b"%PDF first", "K7P2-1", directory=tmp_path)
    second = submit(DIRECTORY_PRINTER, b"%PDF second", "K7P2-2", directory=tmp_path)

    assert first.path == again.path != second.path
    assert (again.path.read_bytes(), second.path.read_bytes()) == (b"%PDF first", b"%PDF second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["K7P2-1.pdf", "K7P2-2.pdf"]


@pytest.mark.parametrize(("title", "name"), [("../../etc/K7 P2", "etc-K7-P2.pdf"), ("", "handout.pdf")])
def test_a_title_cannot_steer_where_the_file_goes(tmp_path, title, name):
    saved = submit(DIRECTORY_PRINTER, PDF, title, directory=tmp_path).path

    assert saved.parent == tmp_path and saved.name == name


def test_a_folder_that_cannot_be_written_is_a_clear_error(tmp_path):
    not_a_folder = tmp_path / "handouts"
    not_a_folder.write_text("a file where the folder should be")

    with pytest.raises(PrintError, match="Could not save the handout into the folder .*handouts"):
        submit(DIRECTORY_PRINTER, PDF, "K7P2", directory=not_a_folder)


def test_a_directory_job_is_always_complete(cups):
    cups({})

    assert job_status(DIRECTORY_PRINTER, "anything") == JobStatus("completed", "")


# --- Listing printers ---------------------------------------------------------


def test_printers_are_listed_with_their_descriptions_then_the_folder(cups):
    cups({"lpstat -l -p": ok(LPSTAT_L_P_TWO_PRINTERS), "lpoptions -p": ok(LPOPTIONS_CUPS_PDF)})

    assert list_printers() == [
        CupsQueue(
            "front-desk",
            "Front desk – Brother HL",
            False,
            "paused",
            "Paused since Sat Nov 28 03:52:15 2026: Out of paper",
        ),
        CupsQueue("kiosk-test-pdf", "kiosk-test-pdf", False, "idle", ""),
        CupsQueue(DIRECTORY_PRINTER, "Save to folder (no printer)", True, "idle", ""),
    ]


def test_a_queue_whose_driver_is_a_braille_embosser_is_listed_as_one(cups):
    tools = cups(
        {
            "lpstat -l -p": ok(LPSTAT_L_P_TWO_PRINTERS),
            "lpoptions -p front-desk": ok(LPOPTIONS_BRAILLE),
            "lpoptions -p kiosk-test-pdf": ok(LPOPTIONS_CUPS_PDF),
        }
    )

    front_desk, pdf, _folder = list_printers()
    assert (front_desk.name, front_desk.embosser) == ("front-desk", True)
    assert (pdf.name, pdf.embosser) == ("kiosk-test-pdf", False)
    assert "lpoptions -p front-desk" in tools.commands


@pytest.mark.parametrize(
    "output",
    [pytest.param(ok(""), id="not known"), pytest.param(error("lpoptions: No such file"), id="refused")],
)
def test_a_queue_cups_cannot_describe_is_not_an_embosser(cups, output):
    cups({"lpstat -l -p": ok(LPSTAT_P_IDLE), "lpoptions -p": output})

    assert [p.embosser for p in list_printers()] == [False, False]


def test_the_braille_handout_goes_to_lp_raw(cups, tmp_path):
    tools = cups({"lp": ok(LP_SENT_FROM_STDIN)})
    brf = b",MY PLAN\r\n\f#B\r\n"

    submit(QUEUE, brf, "K7P2", directory=tmp_path, raw=True)
    assert tools.calls == [(f"lp -d {QUEUE} -t K7P2 -o raw", brf)]
    with pytest.raises(PrintError, match="braille embosser"):
        submit(DIRECTORY_PRINTER, brf, "K7P2", directory=tmp_path, raw=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "state", "reason"),
    [
        (LPSTAT_P_IDLE, "idle", ""),
        (LPSTAT_P_PAUSED, "paused", "Paused since Sat Nov 28 03:56:07 2026."),
        (
            LPSTAT_P_PAUSED_WITH_REASON,
            "paused",
            "Paused since Sat Nov 28 03:49:31 2026: Toner low - replace cartridge",
        ),
        (LPSTAT_P_PRINTING, "printing", ""),
        (
            LPSTAT_P_IDLE_AFTER_A_BAD_JOB,
            "idle",
            "loadFilename failed: /var/spool/cups/d00004-001: unable to find trailer dictionary"
            " while recovering damaged file",
        ),
        (
            "printer kiosk-test-pdf is holding new jobs.  enabled since Sat Nov 28 03:49:06 2026\n",
            "paused",
            "Holding new jobs.",
        ),
    ],
)
def test_a_printers_state_and_reason_come_from_lpstat_p(output, state, reason):
    [printer] = printing.parse_printers(output)

    assert (printer.name, printer.label, printer.state) == (QUEUE, QUEUE, state)
    assert printer.reason == reason


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(error(LPSTAT_NO_PRINTERS), id="no queues"),
        pytest.param(error(LPSTAT_SCHEDULER_DOWN), id="scheduler down"),
        pytest.param(MISSING_TOOLS, id="CUPS not installed"),
        pytest.param(PrintError(printing.SERVER_SLOW), id="no answer"),
    ],
)
def test_without_cups_printers_the_folder_is_still_offered(cups, answer):
    cups({"lpstat -l -p": answer})

    assert list_printers() == [DIRECTORY]


# --- Following a job ----------------------------------------------------------


def following(cups, waiting: str = "", completed: str = "", more: dict | None = None) -> FakeTools:
    """CUPS answering about the test queue's waiting and completed jobs, and `more`."""
    return cups(
        {
            "lpstat -W not-completed -l -o kiosk-test-pdf": ok(waiting),
            "lpstat -W completed -l -o kiosk-test-pdf": ok(completed),
            **(more or {}),
        }
    )


def test_a_job_waiting_on_a_paused_printer_is_held(cups):
    tools = following(cups, LPSTAT_L_O_WAITING, more={"lpstat -p": ok(LPSTAT_P_PAUSED)})

    assert job_status(QUEUE, "kiosk-test-pdf-19") == JobStatus("held", "The printer is paused.")
    assert tools.commands == [
        "lpstat -W not-completed -l -o kiosk-test-pdf",
        "lpstat -p kiosk-test-pdf",
    ]


def test_a_printer_paused_with_a_reason_passes_it_on(cups):
    following(cups, LPSTAT_L_O_WAITING, more={"lpstat -p": ok(LPSTAT_P_PAUSED_WITH_REASON)})

    assert job_status(QUEUE, "kiosk-test-pdf-19") == JobStatus(
        "held", "The printer is paused: Toner low - replace cartridge"
    )


def test_a_job_waiting_on_a_working_printer_is_sent(cups):
    following(cups, LPSTAT_L_O_WAITING, more={"lpstat -p": ok(LPSTAT_P_IDLE)})

    assert job_status(QUEUE, "kiosk-test-pdf-19") == JobStatus("sent", "")


def test_a_job_on_hold_in_cups_is_held(cups):
    following(cups, LPSTAT_L_O_WAITING)

    assert job_status(QUEUE, "kiosk-test-pdf-20") == JobStatus("held", printing.JOB_ON_HOLD)


@pytest.mark.parametrize(
    ("waiting", "printer"),
    [(LPSTAT_L_O_PRINTING, LPSTAT_P_IDLE), (LPSTAT_L_O_WAITING.replace("-19", "-6"), LPSTAT_P_PRINTING)],
)
def test_a_job_the_printer_is_working_on_is_printing(cups, waiting, printer):
    following(cups, waiting, more={"lpstat -p": ok(printer)})

    assert job_status(QUEUE, "kiosk-test-pdf-6") == JobStatus("printing", "")


def test_a_pdf_cups_cannot_read_fails_with_cups_message(cups):
    following(cups, LPSTAT_L_O_UNREADABLE)

    assert job_status(QUEUE, "kiosk-test-pdf-4") == JobStatus(
        "failed",
        "The printer could not print this job: loadFilename failed: /var/spool/cups/d00004-001:"
        " unable to find trailer dictionary while recovering damaged file",
    )


@pytest.mark.parametrize(
    ("ipptool", "status"),
    [
        pytest.param(ok(IPPTOOL_COMPLETED), JobStatus("completed", ""), id="printed"),
        pytest.param(ok(IPPTOOL_CANCELED), JobStatus("failed", printing.JOB_CANCELLED), id="cancelled"),
        pytest.param(
            ok(IPPTOOL_ABORTED),
            JobStatus("failed", "The printer could not print this job: Filter failed, see the log"),
            id="aborted",
        ),
        pytest.param(MISSING_TOOLS, JobStatus("completed", ""), id="no ipptool: lpstat's word"),
        pytest.param(error("Job #19 does not exist.\n"), JobStatus("completed", ""), id="ipptool fails"),
        pytest.param(ok(IPPTOOL_NO_SUCH_JOB), JobStatus("completed", ""), id="no such job: lpstat's word"),
    ],
)
def test_a_finished_job_is_completed_unless_cups_cancelled_or_aborted_it(cups, ipptool, status, monkeypatch):
    tools = following(
        cups,
        completed=LPSTAT_W_COMPLETED_L_O,
        more={"lpstat -H": ok(LPSTAT_H), "ipptool": ipptool},
    )
    tests = []  # what ipptool was asked: its test file, read while it runs

    def reading(args, *more, **options):
        if args[0] == "ipptool":
            tests.append(Path(args[-1]).read_text())
        return tools(args, *more, **options)

    monkeypatch.setattr(printing, "run_tool", reading)

    assert job_status(QUEUE, "kiosk-test-pdf-19") == status
    ask = next(command for command in tools.commands if command.startswith("ipptool"))
    assert " ipp://%2Frun%2Fcups%2Fcups.sock/printers/kiosk-test-pdf " in ask
    assert tests and "ATTR integer job-id 19\n" in tests[0] and "OPERATION Get-Job-Attributes" in tests[0]


def test_a_job_cups_no_longer_knows_is_failed(cups):
    following(cups, LPSTAT_L_O_WAITING, LPSTAT_W_COMPLETED_L_O)

    assert job_status(QUEUE, "kiosk-test-pdf-999") == JobStatus("failed", "CUPS no longer knows this job.")


@pytest.mark.parametrize("answer", [error(LPSTAT_INVALID_QUEUE), error(LPSTAT_SCHEDULER_DOWN)])
def test_asking_a_print_server_that_is_down_raises_so_the_last_state_is_kept(cups, answer):
    cups({"lpstat -W": answer, **DOWN})

    with pytest.raises(PrintError) as failure:
        job_status(QUEUE, "kiosk-test-pdf-19")

    assert failure.value.reason == printing.SERVER_DOWN
    assert failure.value.detail == answer.stderr.strip()


def test_a_job_whose_printer_was_removed_is_failed(cups):
    cups({"lpstat -W": error(LPSTAT_INVALID_QUEUE), **RUNNING})

    assert job_status(QUEUE, "kiosk-test-pdf-19") == JobStatus(
        "failed", "The printer “kiosk-test-pdf” no longer exists in CUPS."
    )


def test_lpstat_o_lines_are_read_with_or_without_details():
    assert list(printing.parse_jobs(LPSTAT_O)) == ["kiosk-test-pdf-19", "kiosk-test-pdf-20"]
    assert list(printing.parse_jobs(LPSTAT_W_COMPLETED_O)) == ["kiosk-test-pdf-19", "kiosk-test-pdf-2"]
    assert printing.parse_jobs(LPSTAT_L_O_WAITING)["kiosk-test-pdf-20"] == printing.QueuedJob(
        "kiosk-test-pdf-20", ("job-hold-until-specified",), ""
    )
    assert printing.parse_jobs("") == {}


# --- The scheduler, the server, cancelling -------------------------------------


@pytest.mark.parametrize(("output", "running"), [(LPSTAT_RUNNING, True), (LPSTAT_NOT_RUNNING, False)])
def test_lpstat_r_says_whether_the_scheduler_runs(output, running):
    assert printing.parse_scheduler_running(output) is running


@pytest.mark.parametrize(
    ("server", "uri"),
    [
        ("/run/cups/cups.sock", "ipp://%2Frun%2Fcups%2Fcups.sock/printers/front-desk"),
        ("printhost.clinic.lan:631", "ipp://printhost.clinic.lan:631/printers/front-desk"),
    ],
)
def test_the_ipp_address_follows_the_server_lpstat_names(server, uri):
    assert printing.ipp_uri(server, "front-desk") == uri


@pytest.mark.parametrize("answer", [ok(), error(CANCEL_DONE), error(CANCEL_UNKNOWN)])
def test_cancelling_a_job_that_is_gone_already_is_fine(cups, answer):
    cups({"cancel": answer})

    printing.cancel_job("kiosk-test-pdf-7")


def test_cancelling_while_cups_is_down_raises(cups):
    cups({"cancel": error(CANCEL_SCHEDULER_DOWN), **DOWN})

    with pytest.raises(PrintError, match="print server is not running"):
        printing.cancel_job("kiosk-test-pdf-7")


# --- Running the tools for real -----------------------------------------------


def test_a_missing_tool_is_a_print_error_not_an_os_error():
    with pytest.raises(PrintError) as failure:
        printing.run_tool(["kiosk-no-such-cups-tool"])

    assert failure.value.reason == printing.TOOLS_MISSING


def test_a_tool_that_hangs_is_given_up_on():
    with pytest.raises(PrintError) as failure:
        printing.run_tool(["sleep", "5"], timeout=0.2)

    assert failure.value.reason == printing.SERVER_SLOW
