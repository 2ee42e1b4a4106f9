"""What CUPS's tools say, captured from `lp`, `lpstat`, `cancel` and `ipptool`
(CUPS 2.4.2, Debian 12, LC_ALL=C.UTF-8) against a cups-pdf queue, for a fake
runner to play back (tests/test_printing.py, tests/test_print_jobs.py)."""

# --- Captured output ---------------------------------------------------------

LP_SENT_FROM_STDIN = "request id is kiosk-test-pdf-1 (0 file(s))\n"
LP_SENT_FROM_FILE = "request id is kiosk-test-pdf-19 (1 file(s))\n"
# Also what lp says when the scheduler is down or CUPS_SERVER cannot be reached.
LP_NO_SUCH_PRINTER = "lp: Error - The printer or class does not exist.\n"
LP_NOT_ACCEPTING = 'lp: Destination "kiosk-test-pdf" is not accepting jobs.\n'

LPSTAT_RUNNING = "scheduler is running\n"
LPSTAT_NOT_RUNNING = "scheduler is not running\n"  # on stdout, exit status 0
LPSTAT_SCHEDULER_DOWN = "lpstat: Scheduler is not running.\n"  # `lpstat -p`, `lpstat -o`
# `lpstat -o QUEUE` for an unknown queue, and for any queue when the scheduler
# is down or CUPS_SERVER cannot be reached.
LPSTAT_INVALID_QUEUE = 'lpstat: Invalid destination name in list "kiosk-test-pdf".\n'
LPSTAT_NO_PRINTERS = "lpstat: No destinations added.\n"

LPSTAT_P_IDLE = "printer kiosk-test-pdf is idle.  enabled since Sat Nov 28 03:49:06 2026\n"
LPSTAT_P_PAUSED = "printer kiosk-test-pdf disabled since Sat Nov 28 03:56:07 2026 -\n\tPaused\n"
LPSTAT_P_PAUSED_WITH_REASON = (
    "printer kiosk-test-pdf disabled since Sat Nov 28 03:49:31 2026 -\n\tToner low - replace cartridge\n"
)
LPSTAT_P_PRINTING = (
    "printer kiosk-test-pdf now printing kiosk-test-pdf-6.  enabled since Sat Nov 28 03:52:17 2026\n"
)
LPSTAT_P_IDLE_AFTER_A_BAD_JOB = (
    "printer kiosk-test-pdf is idle.  enabled since Sat Nov 28 03:51:05 2026\n"
    "\tloadFilename failed: /var/spool/cups/d00004-001: unable to find trailer dictionary"
    " while recovering damaged file\n"
)
LPSTAT_L_P_TWO_PRINTERS = """\
printer front-desk disabled since Sat Nov 28 03:52:15 2026 -
\tOut of paper
\tForm mounted:
\tContent types: any
\tPrinter types: unknown
\tDescription: Front desk – Brother HL
\tAlerts: paused
\tLocation: Reception
\tConnection: direct
\tInterface: /etc/cups/ppd/front-desk.ppd
\tOn fault: no alert
\tAfter fault: continue
\tUsers allowed:
\t\t(all)
\tForms allowed:
\t\t(none)
\tBanner required
\tCharset sets:
\t\t(none)
\tDefault pitch:
\tDefault page size:
\tDefault port settings:
printer kiosk-test-pdf is idle.  enabled since Sat Nov 28 03:51:21 2026
\tForm mounted:
\tContent types: any
\tPrinter types: unknown
\tDescription: kiosk-test-pdf
\tAlerts: none
\tLocation: 
\tConnection: direct
\tInterface: /etc/cups/ppd/kiosk-test-pdf.ppd
\tOn fault: no alert
\tAfter fault: continue
\tUsers allowed:
\t\t(all)
\tForms allowed:
\t\t(none)
\tBanner required
\tCharset sets:
\t\t(none)
\tDefault pitch:
\tDefault page size:
\tDefault port settings:
"""  # noqa: W291 — "Location: " ends in a space, as lpstat prints it

LPSTAT_A_REJECTING = (
    "kiosk-test-pdf not accepting requests since Sat Nov 28 03:49:31 2026 -\n\tMoved to room 2\n"
)
LPSTAT_A_REJECTING_NO_REASON = (
    "kiosk-test-pdf not accepting requests since Sat Nov 28 03:56:08 2026 -\n\tRejecting Jobs\n"
)

LPSTAT_O = (
    "kiosk-test-pdf-19       root              1024   Sat Nov 28 03:56:07 2026\n"
    "kiosk-test-pdf-20       root              1024   Sat Nov 28 03:56:08 2026\n"
)
# `lpstat -W not-completed -l -o kiosk-test-pdf`: job 19 waits (here on a paused
# queue, which does not show on the job), job 20 was sent with `lp -H hold`.
LPSTAT_L_O_WAITING = """\
kiosk-test-pdf-19       root              1024   Sat Nov 28 03:56:07 2026
\tAlerts: none
\tqueued for kiosk-test-pdf
kiosk-test-pdf-20       root              1024   Sat Nov 28 03:56:08 2026
\tAlerts: job-hold-until-specified
\tqueued for kiosk-test-pdf
"""
LPSTAT_L_O_PRINTING = """\
kiosk-test-pdf-6        root              1024   Sat Nov 28 03:52:17 2026
\tAlerts: job-printing
"""
# A PDF CUPS could not read: pending for ever, with the reason and CUPS's message.
LPSTAT_L_O_UNREADABLE = """\
kiosk-test-pdf-4        root              1024   Sat Nov 28 03:51:05 2026
\tStatus: loadFilename failed: /var/spool/cups/d00004-001: unable to find trailer dictionary while recovering damaged file
\tAlerts: job-completed-with-errors
\tqueued for kiosk-test-pdf
"""  # noqa: E501
# `lpstat -W completed -l -o`: 19 printed, 2 was cancelled; lpstat shows no difference.
LPSTAT_W_COMPLETED_L_O = """\
kiosk-test-pdf-19       root              1024   Sat Nov 28 03:56:08 2026
\tStatus: 
\tAlerts: processing-to-stop-point
\tqueued for kiosk-test-pdf
kiosk-test-pdf-2        root              1024   Sat Nov 28 03:49:38 2026
\tAlerts: processing-to-stop-point
\tqueued for kiosk-test-pdf
"""  # noqa: W291
LPSTAT_W_COMPLETED_O = (
    "kiosk-test-pdf-19       root              1024   Sat Nov 28 03:56:08 2026\n"
    "kiosk-test-pdf-2        root              1024   Sat Nov 28 03:49:38 2026\n"
)

LPSTAT_H = "/run/cups/cups.sock\n"
# ipptool -c answering Get-Job-Attributes (printing._ipp_get_job) about job 19.
IPPTOOL_COMPLETED = (
    "job-id,job-state,job-state-reasons,job-printer-state-message\n19,completed,processing-to-stop-point,\n"
)
IPPTOOL_CANCELED = (
    "job-id,job-state,job-state-reasons,job-printer-state-message\n19,canceled,processing-to-stop-point,\n"
)
IPPTOOL_ABORTED = (
    "job-id,job-state,job-state-reasons,job-printer-state-message\n"
    '19,aborted,aborted-by-system,"Filter failed, see the log"\n'
)
# A job CUPS no longer has: the header alone.
IPPTOOL_NO_SUCH_JOB = "job-id,job-state,job-state-reasons,job-printer-state-message\n"

CANCEL_DONE = "cancel: cancel-job failed: Job #7 is already completed - can't cancel.\n"
CANCEL_UNKNOWN = "cancel: cancel-job failed: Job #999 does not exist.\n"
CANCEL_SCHEDULER_DOWN = "cancel: Unable to connect to server.\n"

# `lpoptions -p QUEUE`: a cups-pdf queue, and a queue for cups-filters'
# generic braille embosser (lpadmin -m drv:///generic-brf.drv/gen-brf.ppd).
LPOPTIONS_CUPS_PDF = (
    "copies=1 device-uri=cups-pdf:/ finishings=3 job-cancel-after=10800 job-hold-until=no-hold "
    "job-priority=50 job-sheets=none,none marker-change-time=0 number-up=1 print-color-mode=color "
    "printer-commands=AutoConfigure,Clean,PrintSelfTestPage printer-info=kiosk-test-pdf "
    "printer-is-accepting-jobs=true printer-is-shared=true printer-is-temporary=false printer-location "
    "printer-make-and-model='Generic CUPS-PDF Printer (w/ options)' printer-state=3 "
    "printer-state-change-time=1796585488 printer-state-reasons=none printer-type=8450124 "
    "printer-uri-supported=ipp://localhost/printers/kiosk-test-pdf\n"
)
LPOPTIONS_BRAILLE = (
    "copies=1 device-uri=socket://127.0.0.1:9100 finishings=3 job-cancel-after=10800 "
    "job-hold-until=no-hold job-priority=50 job-sheets=none,none marker-change-time=0 number-up=1 "
    "print-color-mode=monochrome printer-commands=none printer-info='Braille embosser' "
    "printer-is-accepting-jobs=true printer-is-shared=true printer-is-temporary=false printer-location "
    "printer-make-and-model='Generic Braille embosser, 1.0' printer-state=3 "
    "printer-state-change-time=1796585822 printer-state-reasons=none printer-type=569412 "
    "printer-uri-supported=ipp://localhost/printers/embosser\n"
)
