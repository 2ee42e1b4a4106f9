"""``make bench``: how long a typical handout takes to render, and what the
desk's live queue costs per poll.

Renders the built-in sample visit (``cli.SAMPLE_ANSWERS``) four ways, in
turn, so that all four see the same machine:

- as a render process does (``handout_pdf``: answers → context → template
  → WeasyPrint → PDF, with what the process keeps from one handout to the
  next set aside from the garbage collector, ``worker.settle``);
- as every worker did before it had render processes (the same
  ``handout_pdf``, the collector walking everything on each handout);
- plain WeasyPrint on the same final HTML, caching nothing
  (``HTML(...).write_pdf(...)`` with the stylesheet parsed and the fonts
  loaded again for each handout);
- as the handout was made before it had a fontconfig of its own
  (``kiosk/handout_fonts.py``): the stylesheet parsed once and one font
  configuration kept, as then, but the machine's fontconfig and the family
  names it knows ("Atkinson Hyperlegible", "Noto Emoji"). On a machine with a
  desktop's fonts (Noto Color Emoji) that is what a handout cost then.

They take turns in blocks of BLOCK renders, as a worker makes them one after
another (the garbage collector's share included). Renders are timed in CPU
time (``time.process_time``), which a busy machine disturbs far less than the
clock on the wall; "handouts per core-minute" is a minute of CPU over the
mean CPU time of one handout. Wall times are given too.

The languages part renders the same visit in each language, its own
question typed in the language's script, in turn (``handout_pdf`` as a
render process does, after a warm-up that loads every font), and gives each
one's mean CPU time and its ratio to English. A language whose catalog is
not installed yet is laid out from the English strings under its own
``lang``: the fonts, and the typed question, are its own.

The desk part fills a queue with QUEUE_ROWS finished handouts and an alert,
then times a full queue fragment and the conditional poll that finds nothing
new (a 304 with no body), through the app in this process.

The worker part starts a real worker process (``kiosk worker``) on a SQLite
database and measures how soon it picks up a print job stored while it was
idle (the time from the row's commit until the job is printed to the folder),
and what it costs while idle (CPU time over IDLE_SECONDS).

A benchmark, not a test: it prints figures and asserts nothing. The last line
is one JSON object, for scripts and for the README.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAMPLE_CLAIM_CODE = "K7P2"
QUEUE_ROWS = 50
# The languages timed, each with a question as a patient would type it.
LANGUAGE_QUESTIONS = {
    "en": "Will I need more surgery after this one?",
    "es": "¿Necesitaré otra cirugía después de esta?",
    "zh-Hans": "手术后我多久能回去工作？我还需要再做手术吗？",
    "zh-Hant": "手術後我多久能回去工作？我還需要再做手術嗎？",
    "ko": "수술 후 언제 다시 일할 수 있나요? 수술을 또 받아야 하나요?",
    "ar": "هل سأحتاج إلى جراحة أخرى بعد هذه؟ متى أعود إلى العمل؟",
    "vi": "Tôi có cần phẫu thuật nữa không? Khi nào tôi đi làm lại được?",
    "ru": "Понадобится ли мне ещё одна операция? Когда я смогу вернуться на работу?",
}
LANGUAGE_RUNS = 10
POLLS = 200
PICKUPS = 20
IDLE_SECONDS = 30


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample at or above ``fraction`` of them."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _time(action: Callable[[], Any]) -> float:
    # Collect the last render's garbage first, so neither path pays for the other's.
    gc.collect()
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


BLOCK = 10  # renders of one way in a row, as a worker makes them: the collector's share included


def _block(action: Callable[[], Any], wall_ms: list[float], cpu_ms: list[float], settled: bool) -> None:
    """Run `action` BLOCK times in a row, after the last block's garbage is
    collected (and, when `settled`, what is kept set aside as a render process
    does); the wall time of each, and the mean CPU time of one."""
    gc.unfreeze()
    if settled:
        from .worker import settle

        settle()
    else:
        gc.collect()
    cpu_start = time.process_time()
    for _ in range(BLOCK):
        start = time.perf_counter()
        action()
        wall_ms.append((time.perf_counter() - start) * 1000)
    cpu_ms.append((time.process_time() - cpu_start) * 1000 / BLOCK)
    gc.unfreeze()


def run(runs: int = 30, warmup: int = 3, paper: str = "letter") -> dict[str, Any]:
    """Time the four ways ``runs`` times each after ``warmup`` untimed rounds."""
    # Imported here so ``--help`` does not pay for WeasyPrint and the app.
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from . import create_app
    from .cli import SAMPLE_ANSWERS
    from .handout import PDF_OPTIONS, font_subsetter, handout_html, handout_pdf

    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as instance:
        os.environ["KIOSK_INSTANCE_PATH"] = instance
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/bench.sqlite3",
                "HANDOUT_PAPER": paper,
            }
        )
        visit = {"language": "en", "claim_code": SAMPLE_CLAIM_CODE, "created_at": datetime.now(UTC)}
        with app.app_context():

            def ours() -> tuple[bytes, int]:
                return handout_pdf(SAMPLE_ANSWERS, **visit)

            html = handout_html(SAMPLE_ANSWERS, **visit)
            static = Path(app.static_folder or "static").resolve()
            base_url = static.as_uri() + "/"  # as the handout's own rendering has it
            css = static / "css" / "handout.css"

            def plain() -> bytes:
                document = HTML(string=html, base_url=base_url)
                return document.write_pdf(stylesheets=[CSS(filename=str(css))], **PDF_OPTIONS)

            machine_fonts = FontConfiguration()
            # The handout's stylesheet with the fonts it imports, under the names
            # the machine's fontconfig rules know.
            fonts = css.with_name("fonts.css").read_text(encoding="utf-8")
            machine_css = CSS(
                string=(
                    fonts + css.read_text(encoding="utf-8").replace("@import url(fonts.css);", "")
                ).replace('"Bundled ', '"'),
                base_url=css.as_uri(),
                font_config=machine_fonts,
            )

            def with_machine_fonts() -> bytes:
                document = HTML(string=html, base_url=base_url)
                return document.write_pdf(stylesheets=[machine_css], font_config=machine_fonts, **PDF_OPTIONS)

            pdf, pages = ours()
            for _ in range(warmup):
                ours()
                plain()
                with_machine_fonts()
            ways = {"ours": (ours, True), "before": (ours, False), "plain": (plain, False)}
            ways["machine"] = (with_machine_fonts, False)
            timed: dict[str, list[float]] = {way: [] for way in ways}
            cpu: dict[str, list[float]] = {way: [] for way in ways}
            for _ in range(max(1, runs // BLOCK)):
                for way, (action, settled) in ways.items():
                    _block(action, timed[way], cpu[way], settled=settled)
            plain_pages = len(
                HTML(string=html, base_url=base_url)
                .render(stylesheets=[CSS(filename=str(css))], **PDF_OPTIONS)
                .pages
            )

            languages = _languages(runs=max(LANGUAGE_RUNS, runs // 3))

        with app.app_context():
            desk = _desk_poll(app, pdf)
            worker = _worker(app, instance, pdf)

    per_minute = {way: int(60_000 / statistics.mean(ms)) for way, ms in cpu.items()}
    return {
        **{f"{way}_p50_ms": round(statistics.median(ms), 1) for way, ms in timed.items()},
        **{f"{way}_p95_ms": round(percentile(ms, 0.95), 1) for way, ms in timed.items()},
        **{f"{way}_cpu_mean_ms": round(statistics.mean(ms), 1) for way, ms in cpu.items()},
        "pages": pages,
        "plain_pages": plain_pages,
        "bytes": len(pdf),
        "paper": paper,
        "runs": runs,
        # A minute of one core over the CPU time of one handout.
        "handouts_per_core_minute": per_minute["ours"],
        "handouts_per_core_minute_before": per_minute["before"],
        "handouts_per_core_minute_plain": per_minute["plain"],
        "handouts_per_core_minute_machine_fonts": per_minute["machine"],
        "ratio_to_before": round(per_minute["ours"] / per_minute["before"], 2),
        "ratio_to_plain": round(per_minute["ours"] / per_minute["plain"], 2),
        "ratio_to_machine_fonts": round(per_minute["ours"] / per_minute["machine"], 2),
        "languages": languages,
        **desk,
        **worker,
        "subsetter": font_subsetter(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }


def _languages(runs: int) -> dict[str, dict[str, Any]]:
    """The sample handout in each language: mean CPU time, pages, ratio to English."""
    from .cli import SAMPLE_ANSWERS
    from .extensions import babel
    from .handout import _pdf_from_html, handout_html

    installed = {"en"} | {str(locale).replace("_", "-") for locale in babel.list_translations()}
    created_at = datetime.now(UTC)
    html: dict[str, str] = {}
    for language, question in LANGUAGE_QUESTIONS.items():
        top = ["own_question_1", *SAMPLE_ANSWERS["top_questions"][:2]]
        answers = {**SAMPLE_ANSWERS, "own_question_1": question, "top_questions": top}
        own = language in installed
        page = handout_html(
            answers, language=language if own else "en", claim_code=SAMPLE_CLAIM_CODE, created_at=created_at
        )
        html[language] = page if own else page.replace('<html lang="en"', f'<html lang="{language}"', 1)
    for page in html.values():  # every font loaded, every stack laid out once
        _pdf_from_html(page)
    cpu: dict[str, list[float]] = {language: [] for language in html}
    pages: dict[str, int] = {}
    for _ in range(runs):
        for language, page in html.items():
            gc.collect()
            start = time.process_time()
            _, pages[language] = _pdf_from_html(page)
            cpu[language].append((time.process_time() - start) * 1000)
    english = statistics.mean(cpu["en"])
    return {
        language: {
            "cpu_mean_ms": round(statistics.mean(ms), 1),
            "ratio_to_en": round(statistics.mean(ms) / english, 2),
            "pages": pages[language],
            "strings": "own" if language in installed else "English",
        }
        for language, ms in cpu.items()
    }


def _desk_poll(app: Any, pdf: bytes) -> dict[str, Any]:
    """Time the desk queue: a full fragment, and a poll that finds nothing new."""
    from .auth import create_staff, start_session
    from .database import create_tables
    from .extensions import db
    from .models import Alert, Handout, HandoutState, Visit

    create_tables()
    staff = create_staff("bench", secrets.token_urlsafe(18))
    for n in range(QUEUE_ROWS):
        visit = Visit(id=f"bench{n:027d}", kiosk="Bench kiosk", language="en", answers={}, completed_steps=[])
        db.session.add(visit)
        db.session.add(
            Handout(
                visit=visit,
                claim_code=f"B{n:03d}",
                kiosk="Bench kiosk",
                language="en",
                pdf=pdf,
                state=HandoutState.READY,
            )
        )
    db.session.add(Alert(kiosk="Bench kiosk", signs=["fever"]))
    db.session.commit()

    token = start_session(staff)
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    headers = {"HX-Request": "true"}
    full = client.get("/desk/queue", headers=headers)
    etag = full.headers["ETag"]
    full_ms = [_time(lambda: client.get("/desk/queue", headers=headers)) for _ in range(POLLS // 4)]
    poll_headers = {**headers, "If-None-Match": etag}
    statuses = set()

    def poll() -> None:
        statuses.add(client.get("/desk/queue", headers=poll_headers).status_code)

    poll_ms = [_time(poll) for _ in range(POLLS)]
    return {
        "desk_queue_rows": QUEUE_ROWS,
        "desk_queue_p50_ms": round(statistics.median(full_ms), 2),
        "desk_queue_bytes": len(full.get_data()),
        "desk_poll_304_p50_ms": round(statistics.median(poll_ms), 2),
        "desk_poll_304_p95_ms": round(percentile(poll_ms, 0.95), 2),
        "desk_poll_statuses": sorted(statuses),
    }


def _worker(app: Any, instance: str, pdf: bytes) -> dict[str, Any]:
    """A real worker process: how soon it picks up new work, what it costs idle."""
    import random
    import signal
    import subprocess
    import sys

    from sqlalchemy import select

    from .extensions import db
    from .models import Handout, PrintJob, PrintState

    handout_id = db.session.scalar(select(Handout.id).limit(1))
    env = {
        **os.environ,
        "KIOSK_INSTANCE_PATH": instance,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PRINT_DIRECTORY": str(Path(instance) / "printed"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "kiosk", "worker"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pickup_ms = []
        for _ in range(PICKUPS + 1):
            time.sleep(random.uniform(0.6, 1.5))  # idle long enough to be at its slowest poll
            job = PrintJob(handout_id=handout_id, printer="directory", requested_by="bench")
            db.session.add(job)
            db.session.commit()
            stored = time.perf_counter()
            deadline = stored + 30
            while (
                db.session.scalar(select(PrintJob.state).where(PrintJob.id == job.id)) != PrintState.COMPLETED
            ):
                db.session.rollback()
                if time.perf_counter() > deadline:
                    raise RuntimeError("the worker did not print the job within 30 s")
                time.sleep(0.005)
            pickup_ms.append((time.perf_counter() - stored) * 1000)
            db.session.rollback()
        pickup_ms = pickup_ms[1:]  # the first waits for the worker to start
        time.sleep(2)
        # The worker and its render processes.
        pids = [worker.pid, *_children(worker.pid)]
        before = sum(map(_cpu_seconds, pids))
        time.sleep(IDLE_SECONDS)
        idle_cpu = sum(map(_cpu_seconds, pids)) - before
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    return {
        "worker_pickup_p50_ms": round(statistics.median(pickup_ms), 1),
        "worker_pickup_max_ms": round(max(pickup_ms), 1),
        "worker_idle_cpu_percent": round(100 * idle_cpu / IDLE_SECONDS, 2),
    }


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kiosk.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed renders of each path (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--paper", choices=("letter", "a4"), default="letter")
    args = parser.parse_args(argv)

    r = run(runs=args.runs, warmup=args.warmup, paper=args.paper)
    print(f"Typical handout: {r['pages']} pages, {r['bytes']:,} bytes, {r['paper']} paper.")
    print(f"{r['runs']} renders of each way, in turn, after a warm-up; fonts subset with {r['subsetter']}.")
    ways = (
        ("in a render process", "ours", "handouts_per_core_minute"),
        ("as before render processes", "before", "handouts_per_core_minute_before"),
        ("plain WeasyPrint, no caching", "plain", "handouts_per_core_minute_plain"),
        ("with the machine's fontconfig", "machine", "handouts_per_core_minute_machine_fonts"),
    )
    for label, key, minute in ways:
        print(
            f"  {label:29s} CPU {r[f'{key}_cpu_mean_ms']:6.1f} ms ({r[minute]:4d} a core-minute); "
            f"wall p50 {r[f'{key}_p50_ms']:6.1f} ms, p95 {r[f'{key}_p95_ms']:6.1f} ms"
        )
    print(
        f"  handouts per core-minute: {r['ratio_to_before']:.2f}x as before, "
        f"{r['ratio_to_plain']:.2f}x plain WeasyPrint, "
        f"{r['ratio_to_machine_fonts']:.2f}x with the machine's fontconfig"
    )
    print(f"The handout in each language ({max(LANGUAGE_RUNS, r['runs'] // 3)} renders each, in turn):")
    for language, figures in r["languages"].items():
        strings = "" if figures["strings"] == "own" else " (English strings: no catalog yet)"
        print(
            f"  {language:8s} CPU {figures['cpu_mean_ms']:6.1f} ms, {figures['ratio_to_en']:.2f}x English, "
            f"{figures['pages']} pages{strings}"
        )
    print(
        f"Desk queue with {r['desk_queue_rows']} handouts and an alert: full fragment p50 "
        f"{r['desk_queue_p50_ms']} ms ({r['desk_queue_bytes']:,} bytes); a poll with nothing new "
        f"p50 {r['desk_poll_304_p50_ms']} ms, p95 {r['desk_poll_304_p95_ms']} ms, "
        f"status {r['desk_poll_statuses']}, no body."
    )
    print(f"  one core renders about {r['handouts_per_core_minute']} handouts a minute")
    print(
        f"Worker: picks up a job stored while it idled in p50 {r['worker_pickup_p50_ms']} ms, "
        f"at most {r['worker_pickup_max_ms']} ms ({PICKUPS} tries, printed to the folder); "
        f"idle it uses {r['worker_idle_cpu_percent']} % of one core (with its render processes)."
    )
    print(f"  {r['cpus']} CPUs; load average {r['load_average_1m']} over the last minute")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
