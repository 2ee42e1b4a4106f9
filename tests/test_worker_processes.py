"""Workers as a clinic runs them: separate processes, a real CUPS server with
the cups-pdf queue, and `lp` counted on its way in.

- Two workers on PostgreSQL share one queue of print jobs: each `lp` runs
  exactly once.
- A worker killed mid-`lp` (before the job reached CUPS, or after): another
  worker takes the job over once its lease runs out, and it prints once.

`lp` is the real one, behind a small script on PATH that writes a line to a
log before and after it runs, and can hang there, as a worker killed at that
moment would leave it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Handout, HandoutState, PrintJob, PrintState, Visit

from . import cups_support as cups

ROOT = Path(__file__).resolve().parent.parent
CUPS_REQUIRED = os.environ.get("KIOSK_REQUIRE_CUPS", "").strip() not in ("", "0")
if cups.missing() and not CUPS_REQUIRED:
    pytest.skip(cups.missing(), allow_module_level=True)

pytestmark = [pytest.mark.cups, pytest.mark.processes]

LP_WRAPPER = """#!/bin/sh
echo "start $*" >> "$LP_LOG"
if [ -n "$LP_HANG_BEFORE" ]; then sleep 600; fi
/usr/bin/lp "$@"
status=$?
echo "done $*" >> "$LP_LOG"
if [ -n "$LP_HANG_AFTER" ]; then sleep 600; fi
exit $status
"""
LEASE_SECONDS = 3


@pytest.fixture
def queue():
    with cups.ready_queue() as name:
        yield name


class Workers:
    """Worker processes for one database, with `lp` logged."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        (self.bin / "lp").write_text(LP_WRAPPER)
        (self.bin / "lp").chmod(0o755)
        self.log = tmp_path / "lp.log"
        self.log.touch()
        self.env = {
            **os.environ,
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "LP_LOG": str(self.log),
            "DATABASE_URL": database_url,
            "KIOSK_INSTANCE_PATH": str(tmp_path / "worker-instance"),
            "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        self.processes: list[subprocess.Popen] = []
        self.output = tmp_path / "workers.log"

    def start(self, **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "worker"],
            cwd=ROOT,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            stdout=self.output.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes its `lp` too
        )
        self.processes.append(process)
        return process

    def lines(self, kind: str) -> list[str]:
        return [line.split(" -t ")[-1] for line in self.log.read_text().splitlines() if line.startswith(kind)]

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def tail(self) -> str:
        return self.output.read_text()[-3000:]


@pytest.fixture
def workers(tmp_path):
    made: list[Workers] = []

    def make(database_url: str) -> Workers:
        made.append(Workers(tmp_path, database_url))
        return made[-1]

    yield make
    for group in made:
        group.stop_all()


def ready_handouts_to_print(app, printer: str, count: int) -> list[int]:
    """`count` ready handouts, each with a print job asked for: the ids of the jobs."""
    with app.app_context():
        jobs = []
        for n in range(count):
            visit = Visit(id=f"visit{n:027d}", kiosk="Test kiosk", answers={}, completed_steps=[])
            code = "".join("23456789ABCDEFGHJKMNPQRSTUVWXYZ"[(n * 7 + k) % 31] for k in range(4))
            handout = Handout(
                visit=visit,
                claim_code=code,
                kiosk="Test kiosk",
                language="en",
                state=HandoutState.READY,
                pdf=cups.minimal_pdf(f"Handout {code}"),
                page_count=1,
            )
            jobs.append(PrintJob(handout=handout, printer=printer, requested_by="maria"))
        db.session.add_all(jobs)
        db.session.commit()
        return [job.id for job in jobs]


def jobs_in(app, job_ids: list[int]) -> list[PrintJob]:
    with app.app_context():
        found = db.session.scalars(
            select(PrintJob).where(PrintJob.id.in_(job_ids)).order_by(PrintJob.id)
        ).all()
        for job in found:
            db.session.expunge(job)
        return list(found)


def wait_until(condition, what: str, timeout: float, group: Workers) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; workers said:\n{group.tail()}")
        time.sleep(0.2)


def test_two_workers_on_postgresql_send_each_print_job_exactly_once(pg_app, workers, queue):
    group = workers(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    job_ids = ready_handouts_to_print(pg_app, queue, 12)
    group.start()
    group.start()

    def all_printed() -> bool:
        return all(job.state == PrintState.COMPLETED for job in jobs_in(pg_app, job_ids))

    wait_until(all_printed, "every job to print", 90, group)
    jobs = jobs_in(pg_app, job_ids)
    titles = [job.sent_title for job in jobs]
    assert sorted(group.lines("start")) == sorted(titles), "each job went to lp once, and only once"
    assert len(set(titles)) == len(job_ids)
    assert len({job.cups_job_id for job in jobs}) == len(job_ids)
    for job in jobs:
        cups.wait_for_output(job.cups_job_id)


@pytest.mark.parametrize("moment", ["LP_HANG_BEFORE", "LP_HANG_AFTER"], ids=["before lp", "after lp"])
def test_a_worker_killed_mid_lp_has_its_job_taken_over_and_printed_once(app, workers, queue, moment):
    group = workers(app.config["SQLALCHEMY_DATABASE_URI"])
    [job_id] = ready_handouts_to_print(app, queue, 1)
    doomed = group.start(**{moment: "1"})
    hanging = "start" if moment == "LP_HANG_BEFORE" else "done"
    wait_until(lambda: group.lines(hanging), f"lp to reach '{hanging}'", 30, group)
    group.kill(doomed)
    [cut_off] = jobs_in(app, [job_id])
    assert cut_off.state == PrintState.QUEUED and cut_off.sent_title, (
        "the killed worker recorded nothing more"
    )

    group.start()
    wait_until(lambda: jobs_in(app, [job_id])[0].state == PrintState.COMPLETED, "the job to print", 60, group)
    [job] = jobs_in(app, [job_id])
    assert group.lines("done") == [job.sent_title], "it reached CUPS exactly once"
    written = cups.wait_for_output(job.cups_job_id)
    assert sorted(cups.cups_pdf_folder().glob(f"{job.sent_title}*-job_*.pdf")) == [written]
