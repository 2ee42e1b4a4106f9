"""Workers as a clinic runs them: separate processes, a real CUPS server with
the cups-pdf queue, and `lp` counted on its way in.

- Two workers on PostgreSQL share one queue of print jobs: each `lp` runs
  exactly once.
- A worker killed mid-`lp` (before the job reached CUPS, or after): another
  worker takes the job over once its lease runs out, and it prints once.
- A worker with several render processes renders a queue of handouts in all
  of them, each handout once; a render process killed mid-render has its
  handout rendered by another once its lease runs out, and is started again.

`lp` is the real one, behind a small script on PATH that writes a line to a
log before and after it runs, and can hang there, as a worker killed at that
moment would leave it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from kiosk.cli import SAMPLE_ANSWERS
from kiosk.extensions import db
from kiosk.models import Handout, HandoutState, PrintJob, PrintState, Visit, utcnow

from .support import cups

ROOT = Path(__file__).resolve().parent.parent
if cups.missing() and not cups.REQUIRED:
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

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "worker", *args],
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


# --- render processes ----------------------------------------------------------------

# Long answers: a handout of several pages, a few tenths of a second to render.
LONG_ANSWERS = {
    **SAMPLE_ANSWERS,
    "reasons_other": ("My brother had the same surgery and it did not help him at all. " * 5)[:300],
    "own_question_1": ("Will I be able to lift my grandchildren and garden again after this? " * 5)[:300],
    "own_question_2": ("How long before I can drive my truck to work on the farm every day? " * 5)[:300],
}
KILLED_LEASE_SECONDS = 10  # longer than a render here, even on a busy machine
READY_LINE = re.compile(r"handout (\d+) ready: \d+ pages \((?P<owner>[^)]*)\)")


def handouts_to_render(app, count: int) -> list[int]:
    """`count` finished visits whose handouts wait for the worker: their ids."""
    with app.app_context():
        handouts = []
        for n in range(count):
            visit = Visit(id=f"render{n:026d}", kiosk="Test kiosk", answers=LONG_ANSWERS, completed_steps=[])
            code = "".join("23456789ABCDEFGHJKMNPQRSTUVWXYZ"[(n * 11 + k) % 31] for k in range(4))
            handouts.append(
                Handout(visit=visit, claim_code=code, kiosk="Test kiosk", language="en", created_at=utcnow())
            )
        db.session.add_all(handouts)
        db.session.commit()
        return [handout.id for handout in handouts]


def handouts_in(app, ids: list[int]) -> list[Handout]:
    with app.app_context():
        found = db.session.scalars(
            select(Handout).where(Handout.id.in_(ids)).order_by(Handout.id).options(undefer(Handout.pdf))
        ).all()
        for handout in found:
            db.session.expunge(handout)
        return list(found)


def renders_logged(group: Workers) -> list[tuple[int, int]]:
    """(handout id, pid of the process that rendered it) for every handout the workers made."""
    return [
        (int(match[1]), int(match["owner"].split(":")[1]))
        for match in READY_LINE.finditer(group.output.read_text())
    ]


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_a_worker_renders_a_queue_in_all_its_render_processes_each_handout_once(pg_app, workers):
    group = workers(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    ids = handouts_to_render(pg_app, 16)
    # A lease no render on a busy machine outlasts: nothing here is taken over.
    worker = group.start("--render-processes", "3", JOB_LEASE_SECONDS="60")

    def all_ready() -> bool:
        return all(h.state == HandoutState.READY for h in handouts_in(pg_app, ids))

    wait_until(lambda: len(children_of(worker.pid)) == 3, "three render processes", 30, group)
    render_processes = children_of(worker.pid)
    wait_until(all_ready, "every handout to be made", 120, group)

    handouts = handouts_in(pg_app, ids)
    assert all(h.pdf.startswith(b"%PDF") and h.page_count >= 2 for h in handouts)
    assert [h.attempts for h in handouts] == [1] * len(ids), "each handout was claimed once"
    # A render logs just after it commits: the last line may come a moment after the last READY.
    wait_until(lambda: len(renders_logged(group)) >= len(ids), "every render to be logged", 30, group)
    rendered = renders_logged(group)
    assert sorted(handout for handout, _ in rendered) == ids, "each handout was rendered once"
    by = {pid for _, pid in rendered}
    assert by <= render_processes, "the render processes render; the worker itself only prints"
    assert len(by) >= 2, f"the queue was shared between render processes, not left to one: {by}"


def test_a_render_process_killed_mid_render_has_its_handout_rendered_by_another(pg_app, workers):
    group = workers(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    ids = handouts_to_render(pg_app, 8)
    worker = group.start("--render-processes", "2", JOB_LEASE_SECONDS=str(KILLED_LEASE_SECONDS))
    wait_until(lambda: len(children_of(worker.pid)) == 2, "two render processes", 30, group)

    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline:
        held = [h for h in handouts_in(pg_app, ids) if h.state == HandoutState.PREPARING and h.lease_owner]
        if not held:
            time.sleep(0.005)
            continue
        victim = held[0]
        os.kill(int(victim.lease_owner.split(":")[1]), signal.SIGKILL)
        [after] = handouts_in(pg_app, [victim.id])
        # Killed before it stored the PDF (not just after): the lease is left behind.
        if after.state == HandoutState.PREPARING and after.lease_owner == victim.lease_owner:
            killed = victim
    assert killed is not None, f"no render was caught mid-way; workers said:\n{group.tail()}"
    killed_pid = int(killed.lease_owner.split(":")[1])

    wait_until(
        lambda: all(h.state == HandoutState.READY for h in handouts_in(pg_app, ids)),
        "every handout to be made, the killed one after its lease",
        120,
        group,
    )
    handouts = {h.id: h for h in handouts_in(pg_app, ids)}
    assert handouts[killed.id].attempts == 2, "taken over once, after the killed process's lease"
    assert handouts[killed.id].ready_at >= killed.lease_until
    assert all(h.attempts == 1 for h in handouts.values() if h.id != killed.id)
    rendered = renders_logged(group)
    assert sorted(handout for handout, _ in rendered) == ids, "each handout was rendered once"
    assert dict(rendered)[killed.id] != killed_pid
    wait_until(
        lambda: len(children_of(worker.pid)) == 2, "the killed render process started again", 30, group
    )
    assert killed_pid not in children_of(worker.pid)
