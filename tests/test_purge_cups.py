"""A printed handout leaves nothing of the patient's words with the print
server: after the job has printed and the purge has run, no file of CUPS's
spool (job documents, job history, temporary files) or of its logs holds
what they typed.

Runs against the real cupsd, set up as the README's deployment says (CI:
.ci/cups-setup). Reading the spool needs root, as CUPS tests do in CI.
"""

from __future__ import annotations

import gzip
import os
import re
import secrets
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from .support import cups
from .support.leftovers import files_holding, holds

CUPS_MISSING = cups.missing() or ("" if os.geteuid() == 0 else "reading CUPS's spool needs root")

if CUPS_MISSING and not cups.REQUIRED:
    pytest.skip(CUPS_MISSING, allow_module_level=True)

from kiosk.extensions import db  # noqa: E402
from kiosk.models import Handout, PrintJob, PrintState  # noqa: E402

from .support.desk import finished_visit  # noqa: E402

pytestmark = pytest.mark.cups

SPOOL = Path("/var/spool/cups")  # RequestRoot: job documents (d…) and histories (c…), and tmp/
CUPS_PDF_SPOOL = Path("/var/spool/cups-pdf/SPOOL")
# A queue of this test's own, so pausing it holds up nobody else's jobs.
QUEUE = "kiosk-test-purge"


def canary() -> str:
    # One word, so that no line break in the handout splits it.
    return f"Canary{secrets.token_hex(4)}Philippa"


LOGS = Path("/var/log/cups")  # the scheduler's, and cups-pdf's own


def spool_roots() -> list[Path]:
    return [root for root in (SPOOL, CUPS_PDF_SPOOL, LOGS) if root.exists()]


@pytest.fixture
def paused_queue():
    if CUPS_MISSING:
        pytest.fail(f"{CUPS_MISSING}; KIOSK_REQUIRE_CUPS is set, so this is a failure", pytrace=False)
    cups.ensure_queue(QUEUE)
    cups.run("cupsdisable", QUEUE)
    before = cups.printed_files()
    try:
        yield QUEUE
    finally:
        cups.run("cancel", "-a", QUEUE, check=False)
        cups.run("lpadmin", "-x", QUEUE, check=False)
        for written in cups.printed_files() - before:
            written.unlink(missing_ok=True)


def job_reaches(app, *states: PrintState, timeout: float = 60.0) -> PrintJob:
    """The print job, once the worker has followed it into one of `states`."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            job = db.session.scalars(select(PrintJob)).first()
            if job is not None:
                db.session.expunge(job)
        if job is not None and job.state in states:
            return job
        assert time.monotonic() < deadline, f"the job is still {job and job.state} after {timeout:g} s"
        time.sleep(0.2)


def test_the_search_finds_words_in_a_handout_pdf_gzipped_or_as_plain_bytes(app, tmp_path):
    words = canary()
    handout = finished_visit(app, own_question_1=words)
    with app.app_context():
        pdf = db.session.get(Handout, handout.id).pdf
    assert words.encode() not in pdf, "in the PDF the words are glyphs in compressed streams"
    assert holds(pdf, words)
    assert holds(gzip.compress(pdf), words)
    assert holds(b"\x01\x02job-name\x00" + words.encode() + b"\x03", words)
    assert not holds(pdf, canary())

    folder = tmp_path / "spool"
    (folder / "tmp").mkdir(parents=True)
    (folder / "d00017-001").write_bytes(pdf)
    (folder / "tmp" / "other.pdf").write_bytes(cups.minimal_pdf("Claim K7P2"))
    assert files_holding([folder], words) == [folder / "d00017-001"]


def test_after_printing_and_the_purge_no_spool_file_holds_the_patients_words(
    app, paused_queue, running_worker, desk
):
    words = canary()
    handout = finished_visit(app, own_question_1=words, reasons=["other"], reasons_other=words)
    with app.app_context():
        assert holds(db.session.get(Handout, handout.id).pdf, words), "the search can see the words"

    app.config["DEFAULT_PRINTER"] = paused_queue  # offered before the worker lists the new queue
    desk.post(f"/desk/handouts/{handout.id}/print", {"printer": paused_queue})
    held = job_reaches(app, PrintState.HELD)
    assert files_holding(spool_roots(), words), (
        "while the job waits, CUPS holds the handout: the search sees it"
    )
    # The job's name stays in CUPS's history: the claim code, the job and a random part, no more.
    assert re.fullmatch(r"[A-Z0-9]{4,8}-\d+-[0-9a-f]{4}", held.sent_title), held.sent_title

    cups.run("cupsenable", paused_queue)
    job_reaches(app, PrintState.COMPLETED)
    app.config["RETENTION_HOURS"] = 0
    result = app.test_cli_runner().invoke(args=["kiosk", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 handouts" in result.output

    assert files_holding(spool_roots(), words) == [], (
        "CUPS kept the handout: PreserveJobFiles No (.ci/cups-setup)"
    )
