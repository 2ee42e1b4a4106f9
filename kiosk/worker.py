"""The worker: everything slow or external, beside the web processes.

``flask --app wsgi kiosk worker`` runs one. It renders handouts for finished
visits, sends print jobs (auto-print too), sends again the jobs that waited
for the print server, follows sent jobs in CUPS until they finish, keeps the
list of printers the desk offers, and deletes what is past its retention
(``kiosk.retention``). Web requests only read and write rows; nothing here
waits for a desk page to be open.

Work is claimed from the database (``kiosk.leases``), so any number of
workers on any number of hosts share it and never do one job twice, and a
worker that dies mid-job has its job picked up again once its lease runs out.

Two lanes run side by side: rendering, and the print server. A hung print
server then holds up printing only, never a handout being made. Rendering
runs in render processes beside the worker (``--render-processes``,
``RENDER_PROCESSES``; by default one a core, less one for the web server),
as WeasyPrint keeps a core busy and one Python process uses one core at most; each claims handouts like any worker,
and the worker starts one again if it dies. The print lane is a thread of
the worker itself. Each lane looks for work again within half a second when
idle (a few indexed queries), at once after doing some.

On a full disk the worker writes nothing (``StorageGate``): every commit,
even a beat, adds pages to SQLite's write-ahead log, so a worker that kept
beating, claiming and retrying would take back any space freed within
minutes. It waits, looking only at the file system's free-space counters,
and carries on by itself once there is room.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import delete, update

from . import handout_jobs, print_jobs, retention, storage
from .extensions import db
from .models import WorkerBeat, utcnow

log = logging.getLogger(__name__)

# Seconds.
POLL_FASTEST = 0.05
POLL_SLOWEST = 0.5  # new work is picked up within this, when idle
AFTER_ERROR = 5.0  # the database went away, say: try again after this
DISK_CHECK_EVERY = 1.0  # while the disk is full: how often to look for room again
# How often the worker's own thread looks up: render processes kept running,
# the worker that started a render process still there, a waiting beat tried.
LOOK_EVERY = 1.0
REFUSED_LONGEST = 300.0  # writes refused (disk full, read-only): the longest wait between tries
BEAT_EVERY = 5.0
PRINTERS_EVERY = 30.0
PURGE_EVERY = 60.0
# What a round of work returns when it did not run: no room to write.
WAITING = -1
RESTART_AFTER = 5.0  # a render process that died is started again after this
STOP_WAIT = 60.0  # a render process stopping finishes its handout within this
# Most jobs one lane does before it looks up (to beat, and to let the other
# kinds of work in its lane have a turn).
BATCH = 20


def worker_name() -> str:
    """This worker's name in leases and beats: the host, the process and a
    random part (a pid can come back after a restart)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


def default_render_processes() -> int:
    """One render process for each core this process may run on, less one
    for the web server and the database beside it; at least one."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


# --- the work of each lane ----------------------------------------------------------


def render_due(owner: str) -> int:
    """Render handouts still preparing, then the records letters and braille
    print jobs wait for, up to a batch. Returns how many."""
    done = 0
    while done < BATCH and (
        handout_jobs.render_next(owner)
        or handout_jobs.render_letter_next(owner)
        or handout_jobs.render_braille_next(owner)
    ):
        done += 1
    return done


def print_due(owner: str) -> int:
    """Wake jobs waiting for a print server that is back, send queued jobs,
    and ask CUPS about jobs at the printer. Returns how much was done."""
    done = print_jobs.wake_waiting()
    sent = 0
    while sent < BATCH and print_jobs.send_next(owner):
        sent += 1
    return done + sent + print_jobs.follow_due(owner)


def run_once(owner: str = "run-once", rounds: int = 50) -> int:
    """Do all the handout and print work that is due now, in this thread,
    until none is left: for tests and for ``kiosk worker --once``. Needs an
    application context. Returns how much was done."""
    total = 0
    for _ in range(rounds):
        done = render_due(owner) + print_due(owner)
        total += done
        if not done:
            break
    return total


class Every:
    """Something to do now and then: ``due()`` is true once per `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


class StorageGate:
    """Whether the worker may write now, shared by its lanes.

    Closed while the disks it writes to have less than ``DISK_RESERVE_MB``
    free (read from the file system's counters: no write), and reopened as
    soon as they have it again. Closed too after a write was refused as
    "disk full" or "read-only" where free space does not show it (a
    PostgreSQL server's disk, a file system remounted read-only): for 5 s,
    then twice as long after each refusal, up to 5 minutes, until a beat
    gets through. Each change is logged once, not every round."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._low = False
        self._refused_until = 0.0
        self._backoff = 0.0

    def open(self) -> bool:
        low = storage.low_on_space()
        with self._lock:
            if low is not None:
                if not self._low:
                    log.error("worker %s: waiting, writing nothing: %s", self.name, low.describe())
                self._low = True
                return False
            if self._low:
                log.warning("worker %s: there is room on the disk again; carrying on", self.name)
                self._low = False
                self._refused_until = 0.0
            return time.monotonic() >= self._refused_until

    def refused(self, why: str) -> None:
        """A write was refused: wait longer before the next try."""
        with self._lock:
            self._backoff = min(REFUSED_LONGEST, self._backoff * 2 or AFTER_ERROR)
            self._refused_until = time.monotonic() + self._backoff
            log.error(
                "worker %s: a write was refused (%s); writing nothing for %.0f s",
                self.name,
                why,
                self._backoff,
            )

    def wrote(self) -> None:
        """A write got through (a beat): refusals are forgotten."""
        with self._lock:
            if self._backoff:
                log.warning("worker %s: writes get through again; carrying on", self.name)
            self._backoff = 0.0
            self._refused_until = 0.0


class Worker:
    """One worker process: a lane thread for each kind of work it does, and
    beats from the thread that runs it.

    ``renderers``: the command of a render process, started ``render_processes``
    times beside this one, which then only prints; without it this process
    renders too, in a thread. ``parent``: a render process stops when the
    worker that started it is gone.
    """

    def __init__(
        self,
        app: Flask,
        name: str | None = None,
        *,
        lanes: tuple[str, ...] = ("render", "print"),
        renderers: list[str] | None = None,
        render_processes: int = 1,
        parent: int | None = None,
    ) -> None:
        self.app = app
        self.name = name or worker_name()
        self.stop = threading.Event()
        self.lanes = tuple(lane for lane in lanes if not (renderers and lane == "render"))
        self.renderers = RenderProcesses(renderers, render_processes) if renderers else None
        self.parent = parent
        self._printers = Every(PRINTERS_EVERY)
        self._purge = Every(PURGE_EVERY)
        self.storage = StorageGate(self.name)

    def run(self) -> None:
        """Work until ``stop`` is set; the job in hand is finished first."""
        log.info("worker %s started", self.name)
        work = {"render": self._render_lane, "print": self._print_lane}
        lanes = [
            threading.Thread(target=self._lane, args=(lane, work[lane]), name=lane, daemon=True)
            for lane in self.lanes
        ]
        for lane in lanes:
            lane.start()
        if self.renderers:
            self.renderers.start()
        beats = Every(BEAT_EVERY)
        waiting = False
        with self.app.app_context():
            while True:
                if beats.due() or waiting:
                    # While writes wait, the beat is tried (writing nothing
                    # until the gate opens) at every look, so the worker
                    # carries on as soon as there is room.
                    beaten = self._guarded("beat", beat, self.name)
                    waiting = beaten == WAITING
                    if beaten == 0:  # written
                        self.storage.wrote()
                if self.renderers:
                    self.renderers.keep_up()
                if self.parent is not None and os.getppid() != self.parent:
                    log.warning("worker %s: the worker that started it is gone; stopping", self.name)
                    self.stop.set()
                if self.stop.wait(LOOK_EVERY):
                    break
            if self.renderers:
                self.renderers.stop()
            for lane in lanes:
                lane.join()
            self._guarded("beat", forget, self.name)
        log.info("worker %s stopped", self.name)

    def _render_lane(self, owner: str) -> int:
        done = render_due(owner)
        if done and self.parent is not None and not gc.get_freeze_count():
            settle()
        return done

    def _print_lane(self, owner: str) -> int:
        done = print_due(owner)
        if self._printers.due():
            print_jobs.refresh_printers()
        if self._purge.due():
            retention.purge()
        return done

    def _lane(self, name: str, work: Callable[[str], int]) -> None:
        pause = POLL_FASTEST
        with self.app.app_context():
            while not self.stop.is_set():
                done = self._guarded(name, work, self.name)
                if done is None:
                    pause = AFTER_ERROR
                elif done == WAITING:
                    pause = DISK_CHECK_EVERY
                elif done:
                    pause = POLL_FASTEST
                    continue
                self.stop.wait(pause)
                pause = min(POLL_SLOWEST, pause * 2)

    def _guarded(self, what: str, work: Callable[[str], int | None], owner: str) -> int | None:
        """Run one round of work, unless the disk is full (WAITING then); on
        an error, log it (where, not what: a message may quote a patient's
        words) and carry on. None on error."""
        try:
            if not self.storage.open():
                return WAITING
            return work(owner) or 0
        except Exception as error:
            db.session.rollback()
            if refused := storage.refusal(error):
                self.storage.refused(refused)
                return WAITING
            frames = "".join(traceback.format_tb(error.__traceback__, limit=-4))
            log.error("worker %s: %s failed (%s):\n%s", self.name, what, type(error).__name__, frames)
            return None
        finally:
            db.session.remove()


def settle() -> None:
    """Once a render process has made its first handout, everything it keeps
    from one to the next is loaded (fonts, the stylesheet, the app): set it
    aside from Python's garbage collector, which would otherwise walk it all
    again and again while handouts are made (over 20 handouts in a row, its
    time fell from about 15 to 5 ms a handout)."""
    gc.collect()
    gc.freeze()


class RenderProcesses:
    """Render processes beside the worker: each runs `command` (a worker with
    the render lane only) in a process of its own. One that dies (killed
    mid-render, say) is started again; the handout it held is taken over by
    any render process once its lease runs out, as for a worker that died."""

    def __init__(self, command: list[str], count: int) -> None:
        self.command = command
        self.count = max(1, count)
        self.running: list[subprocess.Popen | None] = [None] * self.count
        self.started = [float("-inf")] * self.count

    def start(self) -> None:
        log.info("starting %d render process(es)", self.count)
        self.keep_up()

    def keep_up(self) -> None:
        """Start each render process that is not running (again, if it died)."""
        for slot, process in enumerate(self.running):
            if process is not None and process.poll() is None:
                continue
            if process is not None:
                log.error(
                    "render process %d exited (status %s); starting it again", process.pid, process.returncode
                )
                self.running[slot] = None
            if time.monotonic() - self.started[slot] < RESTART_AFTER:
                continue
            self.started[slot] = time.monotonic()
            self.running[slot] = subprocess.Popen(
                [*self.command, "--parent", str(os.getpid())],
                stdin=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        """Ask every render process to stop after its handout; kill any that
        has not within STOP_WAIT."""
        for process in self.running:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for process in self.running:
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- signs of life ----------------------------------------------------------------


def beat(name: str) -> None:
    """Say this worker is alive; forget workers silent for a day."""
    now = utcnow()
    if not db.session.execute(update(WorkerBeat).where(WorkerBeat.id == name).values(seen_at=now)).rowcount:
        db.session.add(WorkerBeat(id=name, started_at=now, seen_at=now))
    db.session.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < now - timedelta(days=1)))
    db.session.commit()


def forget(name: str) -> None:
    """A worker stopping on purpose leaves no beat behind."""
    db.session.execute(delete(WorkerBeat).where(WorkerBeat.id == name))
    db.session.commit()
