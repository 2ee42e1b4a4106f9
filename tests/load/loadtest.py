"""Load test: many kiosks doing full patient visits at once, then a check that
every patient's handout was made and printed exactly once.

    python -m tests.load.loadtest [--kiosks 50] [--seconds 60] [--think 1.0] [--jitter 0] [--spread]
                                  [--workers 1] [--load-processes 1]
                                  [--database-url URL] [--printer directory] [--drain 60] [--keep]

What it does:

1. makes a fresh temporary instance folder (settings, SQLite database, the
   directory printer's folder);
2. prepares the database (``flask --app wsgi kiosk init-db``);
3. starts gunicorn (2 processes, 4 threads each) on a free port of
   127.0.0.1 and ``--workers`` background workers (``flask --app wsgi kiosk
   worker``, with ``--render-processes`` if given);
4. runs Locust headless (in ``--load-processes`` processes) for
   ``--seconds``: ``--kiosks`` simulated kiosks, each tapping through visit
   after visit (``tests/load/locustfile.py``), reading each screen for
   ``--think`` seconds, ± ``--jitter`` of it, all starting at once or, with
   ``--spread``, over a visit's length (``tests/load/generator.py``);
5. waits, at most ``--drain`` seconds, for the worker to finish every
   handout and every print, then stops the worker and the server;
6. checks the database and the printed PDFs, and prints a short summary
   and, as its last line, the figures as one JSON object.

It is a measurement: it exits 0 whatever the figures are, and non-zero only
when the server or the worker could not be started (or the database could
not be used).

The database: by default a new SQLite file in the temporary folder. With
``--database-url`` (e.g. ``postgresql+psycopg://user:pass@host/loadtest``)
that database is used and EMPTIED FIRST: everything in it is deleted (on
PostgreSQL, ``DROP SCHEMA public CASCADE``). Name only a database made for
this. Without the option, ``DATABASE_URL`` from the environment is used if
set, but never emptied: the run refuses a database that already holds
visits or handouts.

The kiosks talk only to 127.0.0.1. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from kiosk import config as kiosk_config
from kiosk.models import Handout, PrintJob

from . import generator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
BIN = Path(sys.executable).parent

DIRECTORY_PRINTER = "directory"
# Print jobs not finished yet: the run waits for them before checking.
UNFINISHED_PRINT_STATES = ("queued", "waiting", "sent", "printing")

SERVER_WORKERS = 2
SERVER_THREADS = 4
START_TIMEOUT = 60  # seconds for gunicorn to answer /healthz, and the worker to start
STOP_TIMEOUT = 15  # seconds between SIGTERM and SIGKILL
INIT_DB_TIMEOUT = 120
# How long a kiosk may take to finish the tap it is in when time is up, so a
# patient who tapped Finish still sees their claim code.
TAP_GRACE = 30
SETTLE_AFTER_DRAIN = 2.0  # seconds to watch for a late second print


# Straight to 127.0.0.1, whatever proxy the environment names.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartError(Exception):
    """The server, the worker or the database could not be made ready."""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL to the whole process group after `timeout`."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # leftovers of the group, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)


@dataclass
class Run:
    """One load test's folder, settings and processes."""

    root: Path
    env: dict[str, str]
    database_url: str
    processes: list[Process] = field(default_factory=list)

    @property
    def instance(self) -> Path:
        return self.root / "instance"

    @property
    def printed(self) -> Path:
        return self.root / "printed"

    def spawn(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> Process:
        log = self.root / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                args,
                cwd=PROJECT_ROOT,
                env={**self.env, **(extra_env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# --- set-up ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def normalise_url(url: str) -> str:
    """The URL as the app reads it (``postgres://`` becomes ``postgresql://``)."""
    return kiosk_config.from_environment({"DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"]


def empty_database(url: str) -> None:
    """Delete everything in the database the user named for this test."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            else:
                tables = MetaData()
                tables.reflect(connection)
                tables.drop_all(connection)
    finally:
        engine.dispose()


def refuse_if_in_use(url: str) -> None:
    """A database from the environment is never emptied: it must hold no visits or handouts."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            existing = set(inspect(connection).get_table_names())
            for table in ("visit", "handout"):
                if table in existing and connection.scalar(text(f"SELECT COUNT(*) FROM {table}")):
                    raise StartError(
                        f"the database in DATABASE_URL already holds {table} rows; the load test "
                        "needs an empty one. Name a database it may empty with --database-url."
                    )
    finally:
        engine.dispose()


def prepare(root: Path, database_url: str | None, wipe: bool, printer: str) -> Run:
    instance = root / "instance"
    instance.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        KIOSK_INSTANCE_PATH=str(instance),
        PRINT_DIRECTORY=str(root / "printed"),
        AUTO_PRINT_PRINTER=printer,
        # Nobody touches these kiosks: no idle prompt or wipe may interfere.
        IDLE_SECONDS="86400",
        VISIT_EXPIRY_MINUTES="1440",
        # Simulated kiosks are not enrolled devices (a demo set-up, as make run's).
        KIOSK_ENROLLMENT="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("FLASK_APP", None)
    if database_url:
        url = normalise_url(database_url)
        try:
            if wipe:
                empty_database(url)
            else:
                refuse_if_in_use(url)
        except SQLAlchemyError as error:
            raise StartError(f"could not use the database {engine_url_for_humans(url)}: {error}") from None
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
        url = kiosk_config.defaults(str(instance))["SQLALCHEMY_DATABASE_URI"]
    return Run(root=root, env=env, database_url=url)


def engine_url_for_humans(url: str) -> str:
    """The URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def init_db(run: Run) -> None:
    try:
        result = _init_db(run)
    except subprocess.TimeoutExpired:
        raise StartError(f"kiosk init-db did not finish within {INIT_DB_TIMEOUT} s") from None
    if result.returncode != 0:
        raise StartError(f"kiosk init-db failed:\n{result.stdout}{result.stderr}")


def _init_db(run: Run) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "kiosk", "init-db"],
        cwd=PROJECT_ROOT,
        env=run.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INIT_DB_TIMEOUT,
    )


def health(port: int) -> dict[str, Any]:
    """What /healthz says (503 too: until the worker runs the host is not
    healthy, but the server answers), or {} when nothing answers."""
    try:
        with LOOPBACK.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        with contextlib.suppress(ValueError):
            return json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        pass
    return {}


def start_server(run: Run, port: int) -> Process:
    args = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(SERVER_WORKERS),
        "--threads",
        str(SERVER_THREADS),
        # gunicorn 27 otherwise shares one control socket per user with any
        # other server on this machine.
        "--no-control-socket",
    ]
    server = run.spawn("gunicorn", [*args, "wsgi:app"])
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not server.alive():
            raise StartError(f"gunicorn exited with {server.popen.returncode}:\n{server.log_tail()}")
        if health(port):
            return server
        time.sleep(0.2)
    raise StartError(f"gunicorn did not answer /healthz within {START_TIMEOUT} s:\n{server.log_tail()}")


def start_worker(run: Run, port: int, name: str = "worker", render_processes: int = 0) -> Process:
    """Start a worker; it has started once /healthz reports a worker running
    and its log says it started. `render_processes`: 0 for the worker's own
    default."""
    command = [str(BIN / "flask"), "--app", "wsgi", "kiosk", "worker"]
    if render_processes:
        command.append(f"--render-processes={render_processes}")
    worker = run.spawn(name, command)
    started = time.monotonic()
    while time.monotonic() < started + START_TIMEOUT:
        if not worker.alive():
            raise StartError(f"the worker exited with {worker.popen.returncode}:\n{worker.log_tail()}")
        if health(port).get("worker") == "running" and " started" in read_text(worker.log):
            return worker
        time.sleep(0.2)
    raise StartError(f"the worker did not report running within {START_TIMEOUT} s:\n{worker.log_tail()}")


# --- the load ----------------------------------------------------------------------


def run_locust(
    run: Run, port: int, kiosks: int, seconds: int, pacing: generator.Pacing, processes: int = 1
) -> dict[str, Path]:
    prefix = run.root / "locust"
    files = {
        "stats": Path(f"{prefix}_stats.csv"),
        "failures": Path(f"{prefix}_failures.csv"),
        "exceptions": Path(f"{prefix}_exceptions.csv"),
        "json": run.root / "locust.json",
        "codes": run.root / "claim-codes.txt",
        "counts": run.root / "counts.json",
        "log": run.root / "locust.log",
    }
    files["codes"].touch()
    args = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(kiosks),
        *pacing.locust_options(kiosks),
        *(["--processes", str(processes)] if processes > 1 else []),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        str(TAP_GRACE),
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--json-file",
        str(run.root / "locust"),
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    locust = run.spawn(
        "locust",
        args,
        {
            **pacing.environment(),
            "LOADTEST_CLAIM_CODES": str(files["codes"]),
            "LOADTEST_COUNTS": str(files["counts"]),
        },
    )
    try:
        locust.popen.wait(timeout=seconds + TAP_GRACE + 120)
    except subprocess.TimeoutExpired:
        locust.stop()
        raise StartError(f"Locust did not end in time:\n{locust.log_tail()}") from None
    if locust.popen.returncode != 0 or not files["stats"].exists():
        raise StartError(f"Locust failed (exit {locust.popen.returncode}):\n{locust.log_tail()}")
    return files


# --- after the load ----------------------------------------------------------------


def unfinished(engine: Engine, printer: str) -> int:
    """Handouts still being made, prints still on their way, ready handouts not yet sent."""
    with engine.connect() as connection:
        preparing = connection.scalar(
            select(func.count()).select_from(Handout).where(Handout.state == "preparing")
        )
        printing = connection.scalar(
            select(func.count()).select_from(PrintJob).where(PrintJob.state.in_(UNFINISHED_PRINT_STATES))
        )
        not_sent = 0
        if printer:
            not_sent = connection.scalar(
                select(func.count())
                .select_from(Handout)
                .where(Handout.state == "ready", ~Handout.print_jobs.any())
            )
    return preparing + printing + not_sent


def drain(engine: Engine, printer: str, limit: float) -> tuple[bool, float]:
    """Wait, at most `limit` seconds, until the worker has nothing left to do."""
    started = time.monotonic()
    deadline = started + limit
    while True:
        if unfinished(engine, printer) == 0:
            # Quiet for a moment more, so a late second print is seen too.
            time.sleep(min(SETTLE_AFTER_DRAIN, max(0.0, deadline - time.monotonic())))
            if unfinished(engine, printer) == 0:
                return True, time.monotonic() - started
        if time.monotonic() >= deadline:
            return False, time.monotonic() - started
        time.sleep(0.5)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def starts_as_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as pdf:
            return pdf.read(4) == b"%PDF"
    except OSError:
        return False


def check_database(engine: Engine, claim_codes: list[str], printer: str, printed_dir: Path) -> dict[str, Any]:
    """Every handout made once, ready, and printed once; every code a kiosk showed has its handout."""
    with engine.connect() as connection:
        handouts = connection.execute(
            select(
                Handout.id,
                Handout.claim_code,
                Handout.visit_id,
                Handout.state,
                Handout.created_at,
                Handout.ready_at,
                func.substr(Handout.pdf, 1, 4).label("head"),
            )
        ).all()
        jobs = connection.execute(
            select(PrintJob.id, PrintJob.handout_id, PrintJob.state, PrintJob.printer, PrintJob.saved_path)
        ).all()

    codes_in_db = Counter(h.claim_code for h in handouts)
    codes_seen = Counter(claim_codes)
    jobs_by_handout: dict[int, list[Any]] = {}
    for job in jobs:
        jobs_by_handout.setdefault(job.handout_id, []).append(job)

    def printed_ok(job: Any) -> bool:
        if job.state != "completed":
            return False
        if job.printer == DIRECTORY_PRINTER:
            return bool(job.saved_path) and starts_as_pdf(Path(job.saved_path))
        return True

    no_handout = sorted(set(codes_seen) - set(codes_in_db))
    not_ready = sorted(
        h.claim_code for h in handouts if h.state != "ready" or not bytes(h.head or b"").startswith(b"%PDF")
    )
    not_printed = (
        sorted(
            h.claim_code for h in handouts if not any(printed_ok(j) for j in jobs_by_handout.get(h.id, []))
        )
        if printer
        else []
    )
    lost_codes = set(no_handout) | set(not_ready) | set(not_printed)

    completed = [j for j in jobs if j.state == "completed"]
    printed = [j for j in completed if printed_ok(j)]
    completed_by_handout = Counter(j.handout_id for j in completed)
    visits = Counter(h.visit_id for h in handouts)
    pdf_files = sorted(printed_dir.glob("*.pdf")) if printed_dir.is_dir() else []
    directory_completed = sum(1 for j in completed if j.printer == DIRECTORY_PRINTER)
    duplicated_detail = {
        "handouts_with_several_print_jobs": sum(1 for js in jobs_by_handout.values() if len(js) > 1),
        "handouts_printed_more_than_once": sum(1 for n in completed_by_handout.values() if n > 1),
        "claim_codes_on_several_handouts": sum(1 for n in codes_in_db.values() if n > 1),
        "claim_codes_shown_more_than_once": sum(1 for n in codes_seen.values() if n > 1),
        "visits_with_several_handouts": sum(1 for n in visits.values() if n > 1),
        "extra_files_in_print_folder": max(0, len(pdf_files) - directory_completed)
        if printer == DIRECTORY_PRINTER
        else 0,
    }
    # A handout with two completed prints also has two print jobs: count it once.
    duplicated = sum(duplicated_detail.values()) - duplicated_detail["handouts_printed_more_than_once"]

    finish_seconds = Counter(h.created_at.replace(microsecond=0) for h in handouts if h.created_at)
    ready_at = [h.ready_at for h in handouts if h.ready_at is not None]
    created_at = [h.created_at for h in handouts if h.created_at is not None]
    # From the first Finish to the last handout made: how fast the worker kept up.
    rendering_s = (max(ready_at) - min(created_at)).total_seconds() if ready_at and created_at else 0
    ready_ms = [
        (h.ready_at - h.created_at).total_seconds() * 1000
        for h in handouts
        if h.ready_at is not None and h.created_at is not None
    ]
    return {
        "handouts": len(handouts),
        "handouts_not_shown": len(set(codes_in_db) - set(codes_seen)),
        "lost": len(lost_codes),
        "lost_detail": {
            "shown_without_handout": len(no_handout),
            "handout_not_ready": len(not_ready),
            "handout_not_printed": len(not_printed),
        },
        "lost_examples": sorted(lost_codes)[:10],
        "duplicated": duplicated,
        "duplicated_detail": duplicated_detail,
        "printed": len(printed),
        "print_files": len(pdf_files),
        "pdf_ready_p50_ms": rounded(percentile(ready_ms, 0.50)),
        "pdf_ready_p95_ms": rounded(percentile(ready_ms, 0.95)),
        "pdf_ready_max_ms": rounded(max(ready_ms) if ready_ms else None),
        "handouts_rendered_per_minute": round(len(ready_at) * 60 / rendering_s, 1) if rendering_s else None,
        # Most visits finished within one clock second: the burst the worker had to absorb.
        "finishes_peak_per_s": max(finish_seconds.values(), default=0),
    }


def merged_percentiles(entries: list[dict[str, Any]], fractions: tuple[float, ...]) -> list[float | None]:
    """Percentiles over several Locust stats entries, from their response time histograms."""
    histogram: Counter[float] = Counter()
    for entry in entries:
        for ms, count in entry.get("response_times", {}).items():
            histogram[float(ms)] += count
    total = sum(histogram.values())
    if not total:
        return [None for _ in fractions]
    results = []
    for fraction in fractions:
        rank = max(1, math.ceil(fraction * total))
        seen = 0
        for ms in sorted(histogram):
            seen += histogram[ms]
            if seen >= rank:
                results.append(ms)
                break
    return results


def read_locust(files: dict[str, Path]) -> dict[str, Any]:
    """Timings from Locust's statistics, counts from the kiosks' own tally."""
    with open(files["stats"], newline="") as stats_file:
        rows = list(csv.DictReader(stats_file))

    number = generator.number
    finish = next((r for r in rows if r["Name"] == "finish"), None)
    step_rows = [r for r in rows if r["Name"] == "step"]
    figures: dict[str, Any] = {
        "finish_p50_ms": number(finish["50%"]) if finish else None,
        "finish_p95_ms": number(finish["95%"]) if finish else None,
        "step_p95_ms": None,
        "requests_per_s": None,
    }
    if len(step_rows) == 1:
        figures["step_p95_ms"] = number(step_rows[0]["95%"])
    elif step_rows and files["json"].exists():
        # GET and POST of a step are separate rows: merge their histograms.
        entries = json.loads(files["json"].read_text())
        (figures["step_p95_ms"],) = merged_percentiles(
            [e for e in entries if e.get("name") == "step"], (0.95,)
        )
    aggregated = next((r for r in rows if r["Name"] == "Aggregated"), None)
    if aggregated:
        figures["requests_per_s"] = rounded(number(aggregated.get("Requests/s")))

    counts = generator.read_counts(files["counts"])
    locust_exceptions = 0
    if files["exceptions"].exists():
        with open(files["exceptions"], newline="") as exceptions_file:
            locust_exceptions = sum(int(r.get("Count") or 0) for r in csv.DictReader(exceptions_file))
    if not counts:
        # The kiosks' tally is missing: fall back on Locust's failures.
        counts = {"errors_5xx": 0, "errors_other": 0, "examples": []}
        if files["failures"].exists():
            with open(files["failures"], newline="") as failures_file:
                for row in csv.DictReader(failures_file):
                    key = "errors_5xx" if " 5" in row.get("Error", "") else "errors_other"
                    counts[key] += int(row.get("Occurrences") or 0)
    figures.update(
        requests=counts.get("requests"),
        errors_5xx=counts.get("errors_5xx", 0),
        errors_other=counts.get("errors_other", 0) + locust_exceptions,
        visits_started=counts.get("visits_started"),
        error_examples=counts.get("examples", [])[:10],
        load_generator_overloaded="CPU usage" in read_text(files["log"]),
    )
    return figures


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def log_errors(process: Process) -> int:
    """Tracebacks and errors a process logged."""
    return sum(1 for line in read_text(process.log).splitlines() if "Traceback" in line or " ERROR " in line)


# --- the whole run -----------------------------------------------------------------


def run(
    kiosks: int = 50,
    seconds: int = 60,
    pacing: generator.Pacing = generator.BUSY,
    database_url: str | None = None,
    printer: str = DIRECTORY_PRINTER,
    drain: float = 60,
    render_processes: int = 0,
    *,
    wipe: bool = True,
    keep: bool = False,
    workers: int = 1,
    load_processes: int = 1,
) -> dict[str, Any]:
    """Run the load test; returns its figures (see the module's docstring).

    `database_url` (default: a new SQLite file) is emptied first, unless
    `wipe` is false: then it must hold no visits or handouts. Raises
    StartError when the server, the worker or the database could not be made
    ready. The temporary folder is deleted, unless `keep` is set or something
    went wrong (then ``logs`` in the figures says where it is).
    """
    root = Path(tempfile.mkdtemp(prefix="kiosk-loadtest-"))
    run_ = None
    engine = None
    result: dict[str, Any] = {}
    try:
        run_ = prepare(root, database_url, wipe=wipe, printer=printer)
        init_db(run_)
        port = free_port()
        server = start_server(run_, port)
        worker = start_worker(run_, port, render_processes=render_processes)
        others = [
            start_worker(run_, port, f"worker-{n}", render_processes=render_processes)
            for n in range(2, workers + 1)
        ]
        files = run_locust(run_, port, kiosks, seconds, pacing, load_processes)
        engine = create_engine(run_.database_url)
        drained, drain_s = drain_work(engine, printer, drain, worker)
        claim_codes = [c.strip() for c in read_text(files["codes"]).splitlines() if c.strip()]
        stopped_early = [p.name for p in (server, worker, *others) if not p.alive()]
        run_.stop_all()
        checks = check_database(engine, claim_codes, printer, run_.printed)
        figures = read_locust(files)
        result = {
            "database": engine.dialect.name,
            "kiosks": kiosks,
            "seconds": seconds,
            "think_s": pacing.think,
            "jitter": pacing.jitter,
            "spread": pacing.spread,
            "workers": workers,
            "printer": printer,
            "visits_completed": len(claim_codes),
            "errors_5xx": figures.pop("errors_5xx"),
            "errors_other": figures.pop("errors_other"),
            "lost": checks.pop("lost"),
            "duplicated": checks.pop("duplicated"),
            "finish_p50_ms": figures.pop("finish_p50_ms"),
            "finish_p95_ms": figures.pop("finish_p95_ms"),
            "step_p95_ms": figures.pop("step_p95_ms"),
            "pdf_ready_p95_ms": checks.pop("pdf_ready_p95_ms"),
            "handouts_rendered_per_minute": checks.pop("handouts_rendered_per_minute"),
            "render_processes": render_processes or "default",
            "printed": checks.pop("printed"),
            "drained": drained,
            "drain_s": round(drain_s, 1),
            **checks,
            **figures,
            **generator.kept_pace(
                pacing, kiosks, files["stats"], files["counts"], read_text(files["log"]), load_processes
            ),
            "stopped_during_the_run": stopped_early,
            "server_log_errors": log_errors(server),
            "worker_log_errors": sum(log_errors(w) for w in (worker, *others)),
        }
        problems = any(result[k] for k in ("errors_5xx", "errors_other", "lost", "duplicated"))
        if keep or problems or not drained or stopped_early:
            result["logs"] = str(root)
        return result
    except BaseException as error:
        if not any(root.glob("*.log")):
            raise
        result["logs"] = str(root)
        if isinstance(error, StartError):
            raise StartError(f"{error}\n(logs in {root})") from None
        print(f"loadtest: stopped; logs in {root}", file=sys.stderr)
        raise
    finally:
        if run_ is not None:
            run_.stop_all()
        if engine is not None:
            engine.dispose()
        if "logs" not in result:
            shutil.rmtree(root, ignore_errors=True)


def drain_work(engine: Engine, printer: str, limit: float, worker: Process) -> tuple[bool, float]:
    if not worker.alive():
        return False, 0.0
    return drain(engine, printer, limit)


def summary(result: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f} ms"

    pace = f"{result['think_s']} s per screen" + (f" ± {result['jitter']:.0%}" if result["jitter"] else "")
    lines = [
        f"{result['kiosks']} kiosks for {result['seconds']} s, {pace}, "
        + ("starting over a visit's length" if result["spread"] else "all starting at once")
        + f", {result['workers']} worker process(es), "
        f"on {result['database']}, printing to {result['printer'] or 'no printer'}",
        f"  visits completed   {result['visits_completed']} (handouts in the database: {result['handouts']})",
        f"  errors             {result['errors_5xx']} server errors (5xx), {result['errors_other']} other",
        f"  lost               {result['lost']}   {result['lost_detail']}",
        f"  duplicated         {result['duplicated']}",
        f"  printed            {result['printed']}",
        f"  finish             p50 {ms(result['finish_p50_ms'])}, p95 {ms(result['finish_p95_ms'])}",
        f"  a step             p95 {ms(result['step_p95_ms'])}",
        f"  handout ready      p95 {ms(result['pdf_ready_p95_ms'])} after Finish "
        f"(up to {result['finishes_peak_per_s']} visits finished in the same second)",
        f"  handouts made      {result['handouts_rendered_per_minute']} a minute, from the first Finish to "
        f"the last handout ({result['render_processes']} render processes)",
    ]
    lines.append(
        f"  load generator     {result['requests_per_s']} requests/s of the {result['expected_requests_per_s']} "
        f"the pace asks for, in {result['load_processes']} process(es), the busiest at "
        f"{result['load_generator_cpu_percent']} % of a core"
    )
    for name in result["stopped_during_the_run"]:
        lines.append(f"  {name} STOPPED during the run (see its log)")
    if not result["drained"]:
        lines.append(f"  NOT DRAINED: the worker still had work after {result['drain_s']} s")
    if result["duplicated"]:
        lines.append(f"  duplicated: {result['duplicated_detail']}")
    for example in result.get("error_examples", []):
        lines.append(f"  error: {example}")
    if result.get("load_generator_overloaded"):
        lines.append("  note: Locust itself ran short of CPU; timings include that")
    if result.get("load_generator_limited"):
        lines.append(
            f"  note: the load generator did not keep the pace: {result['requests_per_s']} requests/s "
            f"of the {result['expected_requests_per_s']} expected"
        )
    if result.get("logs"):
        lines.append(f"  logs and files kept in {result['logs']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.loadtest",
        description="Simulated kiosks doing full patient visits against gunicorn and the worker on "
        "127.0.0.1, then a check of every handout and print.",
    )
    parser.add_argument("--kiosks", type=int, default=50, help="simulated kiosks (default 50)")
    parser.add_argument(
        "--seconds",
        type=int,
        default=None,
        help="how long the kiosks tap (default 60; with --spread, three visits' length)",
    )
    generator.add_options(parser, think=1.0, jitter=0.0, spread=False)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a database to EMPTY and use (all its data is deleted); default: DATABASE_URL if set "
        "(never emptied; it must hold no visits), else a new SQLite file",
    )
    parser.add_argument(
        "--printer",
        default=DIRECTORY_PRINTER,
        help="print every handout here: 'directory' (default, a folder) or a CUPS queue; '' for none",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=60,
        help="seconds to wait after the load for handouts and prints to finish (default 60)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with logs and PDFs")
    args = parser.parse_args(argv)
    pacing = generator.pacing_from(parser, args)
    if args.seconds is None:
        args.seconds = pacing.default_seconds()
    if args.kiosks < 1 or args.seconds < 1 or args.drain < 0:
        parser.error("--kiosks and --seconds must be at least 1, --drain not negative")

    database_url = args.database_url
    explicit = database_url is not None
    if not explicit:
        database_url = os.environ.get("DATABASE_URL") or None
    try:
        result = run(
            kiosks=args.kiosks,
            seconds=args.seconds,
            pacing=pacing,
            database_url=database_url,
            printer=args.printer,
            drain=args.drain,
            render_processes=args.render_processes,
            wipe=explicit,
            keep=args.keep,
            workers=args.workers,
            load_processes=args.load_processes,
        )
    except StartError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    print(summary(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
