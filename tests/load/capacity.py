"""How many kiosks one box serves: the load test (``tests/load/loadtest.py``)
at more and more kiosks, until a target breaks.

    python -m tests.load.capacity [--steps 50,100,200,400,800] [--seconds N]
                                  [--think 22] [--jitter 0.5] [--spread]
                                  [--workers 1] [--load-processes 1]
                                  [--database-url URL] [--chart capacity.svg]

Every step is a whole load test of its own on a fresh database: the server
and the worker(s) started anew, the kiosks tapping at a waiting room's pace
(``tests/load/generator.py``), then every handout and print checked. A step
holds when, for its kiosks:

- a step's p95 is at most 100 ms, Finish's p95 at most 150 ms, and a
  handout is ready within 10 s of Finish at p95;
- no request answered 5xx, none went unanswered or answered unexpectedly,
  no handout was lost or made or printed twice, neither the server nor a
  worker stopped.

The climb stops at the first step that breaks one, and ``max_kiosks`` is the
largest number of kiosks that held (0 if the first step broke).

The load generator runs on the same machine. When it could not keep the
pace (Locust ran short of CPU, or made clearly fewer requests than the pace
asks for), the step says nothing about the server: if Locust ran short of
CPU and there are cores left, the step is run again with twice the Locust
processes (Locust's ``--processes``); otherwise the climb stops there, and
``limit`` says the load generator, not the server, was the limit.

The last line printed is one JSON object: the database, the pace, the
targets, ``max_kiosks``, ``limit`` (``"server"``, ``"load generator"``, or
null when every step held), every step tried with its p95s, and where the
chart went: an SVG of the p95s against the number of kiosks.

The database: a new SQLite file for every step by default. With
``--database-url`` that database is EMPTIED before every step. A
``DATABASE_URL`` from the environment is never emptied, so it serves one
step only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from . import generator, loadtest

DEFAULT_STEPS = (50, 100, 200, 400, 800)
# A waiting room's pace: 8 screens of about 22 s, a visit of about three minutes.
REALISTIC = generator.Pacing(think=22.0, jitter=0.5, spread=True)


@dataclass(frozen=True)
class Target:
    key: str  # in the load test's figures
    name: str
    limit: float
    unit: str  # "ms" or "s" (the figure itself is always in ms)

    def shown(self, ms: float) -> str:
        if self.unit == "s":
            return f"{ms / 1000:.1f}".removesuffix(".0") + " s"
        return f"{ms:.0f} ms"


TARGETS = (
    Target("step_p95_ms", "step p95", 100, "ms"),
    Target("finish_p95_ms", "Finish p95", 150, "ms"),
    Target("pdf_ready_p95_ms", "handout ready p95", 10_000, "s"),
)
# Counts that must all be zero.
MUST_BE_NONE = {
    "errors_5xx": "server errors (5xx)",
    "errors_other": "unanswered or unexpected answers",
    "lost": "handouts lost",
    "duplicated": "handouts or prints made twice",
}
# What each step keeps of its load test's figures.
STEP_FIGURES = (
    "kiosks",
    "load_processes",
    "visits_completed",
    "handouts",
    "step_p95_ms",
    "finish_p50_ms",
    "finish_p95_ms",
    "pdf_ready_p50_ms",
    "pdf_ready_p95_ms",
    "finishes_peak_per_s",
    "errors_5xx",
    "errors_other",
    "lost",
    "duplicated",
    "requests_per_s",
    "expected_requests_per_s",
    "pace_kept",
    "load_generator_cpu_percent",
    "load_generator_overloaded",
    "load_generator_limited",
    "logs",
)


def broken_targets(result: dict[str, Any]) -> list[str]:
    """What a step's figures break, in words; [] when the step held."""
    broken = []
    for target in TARGETS:
        value = result.get(target.key)
        if value is None:
            broken.append(f"no {target.name} (nothing measured)")
        elif value > target.limit:
            broken.append(f"{target.name} {target.shown(value)} > {target.shown(target.limit)}")
    for key, name in MUST_BE_NONE.items():
        if result.get(key):
            broken.append(f"{name}: {result[key]}")
    if not result.get("visits_completed"):
        broken.append("no visit completed")
    for name in result.get("stopped_during_the_run") or []:
        broken.append(f"the {name} stopped")
    return broken


def step_of(result: dict[str, Any]) -> dict[str, Any]:
    step = {key: result.get(key) for key in STEP_FIGURES if key in result}
    step["broken"] = broken_targets(result)
    step["held"] = not step["broken"]
    return step


def climb(
    steps: list[int],
    measure: Callable[[int, int], dict[str, Any]],
    *,
    load_processes: int = 1,
    max_load_processes: int | None = None,
    report: Callable[[dict[str, Any]], None] = lambda step: None,
) -> dict[str, Any]:
    """Measure step after step (``measure(kiosks, load_processes)`` returns a
    load test's figures) until one breaks a target or the load generator
    cannot keep the pace. Returns ``max_kiosks``, ``limit``, the steps tried
    and the step that stopped the climb."""
    max_load_processes = max(load_processes, max_load_processes or os.cpu_count() or 1)
    tried: list[dict[str, Any]] = []
    held = 0
    limit = None
    stopped_at = None
    for kiosks in steps:
        while True:
            step = step_of(measure(kiosks, load_processes))
            step.setdefault("kiosks", kiosks)
            step.setdefault("load_processes", load_processes)
            tried.append(step)
            report(step)
            # Locust short of CPU, and a core to spare: the same step, driven by more processes.
            if step.get("load_generator_overloaded") and load_processes < max_load_processes:
                load_processes = min(load_processes * 2, max_load_processes)
                continue
            break
        if step.get("load_generator_limited"):
            limit, stopped_at = "load generator", step
            break
        if not step["held"]:
            limit, stopped_at = "server", step
            break
        held = kiosks
    return {
        "max_kiosks": held,
        "limit": limit,
        "load_generator_limited": limit == "load generator",
        "stopped_at": None
        if stopped_at is None
        else {"kiosks": stopped_at["kiosks"], "broken": stopped_at["broken"]},
        "steps": tried,
    }


# --- the chart ---------------------------------------------------------------------

CHART_WIDTH, PANEL_HEIGHT = 680, 230
LEFT, RIGHT, TOP, BOTTOM = 56, 190, 40, 44
# The scale stops at this many times the largest target: a step far past it
# is drawn at the top with its figure, so the steps that held stay readable.
SCALE_CAP = 4
TICKS = 5  # a round top (1, 2, 2.5, 5 or 10 × a power of ten) in five round steps
COLOURS = {"step_p95_ms": "#1f6fb2", "finish_p95_ms": "#b25d1f", "pdf_ready_p95_ms": "#2e8540"}
PANELS = (("ms", "step and Finish, p95 (ms)", 1.0), ("s", "handout ready after Finish, p95 (s)", 1000.0))


def nice_top(largest: float) -> float:
    """A round number at least `largest`, for the top of a scale."""
    if largest <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= largest:
            return step * magnitude
    return 10 * magnitude


def chart_svg(result: dict[str, Any]) -> str:
    """The p95s of every step against its number of kiosks, each target a
    dashed line in its figure's colour: step and Finish (ms) above, handout
    ready (s) below. Kiosks are on a log scale, as the steps double."""
    # The last try of each number of kiosks (a step may be run again with more Locust processes).
    by_kiosks = {s["kiosks"]: s for s in result["steps"] if s.get("kiosks")}
    kiosks = sorted(by_kiosks)
    plot_w, plot_h = CHART_WIDTH - LEFT - RIGHT, PANEL_HEIGHT - TOP - BOTTOM
    low, high = (math.log(kiosks[0]), math.log(kiosks[-1])) if kiosks else (0.0, 0.0)

    def x_of(n: int) -> float:
        return LEFT + (plot_w / 2 if high == low else plot_w * (math.log(n) - low) / (high - low))

    title = (
        f"p95 against kiosks on {result.get('database')}, {result.get('workers', 1)} worker process(es), "
        f"{result.get('think_s')} s a screen: {result.get('max_kiosks')} kiosks held"
    )
    height = 2 * PANEL_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{CHART_WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    for panel, (unit, heading, divisor) in enumerate(PANELS):
        top = panel * PANEL_HEIGHT + TOP
        base = top + plot_h
        targets = [t for t in TARGETS if t.unit == unit]
        values = [by_kiosks[n][t.key] / divisor for t in targets for n in kiosks if by_kiosks[n].get(t.key)]
        cap = SCALE_CAP * max(t.limit for t in targets) / divisor
        scale = nice_top(min(max(values + [t.limit / divisor for t in targets]), cap) * 1.1)

        def y_of(value: float, top: float = top, scale: float = scale) -> float:
            return top + plot_h - plot_h * min(value, scale) / scale

        parts.append(f'<text x="{LEFT}" y="{top - 16}" font-weight="bold">{escape(heading)}</text>')
        for tick in range(TICKS + 1):
            y = y_of(scale * tick / TICKS)
            parts.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#dddddd"/>'
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{scale * tick / TICKS:g}</text>'
            )
        parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}" stroke="#333333"/>')
        for n in kiosks:
            mark = "" if by_kiosks[n].get("held") else " ✗"
            parts.append(f'<text x="{x_of(n):.1f}" y="{base + 16}" text-anchor="middle">{n}{mark}</text>')
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{base + 34}" text-anchor="middle">'
            "kiosks (✗: a target broke)</text>"
        )
        for row, target in enumerate(targets):
            colour = COLOURS[target.key]
            y = y_of(target.limit / divisor)
            parts.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{colour}" '
                'stroke-dasharray="6 4"/>'
            )
            points = [
                (x_of(n), by_kiosks[n][target.key] / divisor)
                for n in kiosks
                if by_kiosks[n].get(target.key) is not None
            ]
            if points:
                line = " ".join(f"{x:.1f},{y_of(v):.1f}" for x, v in points)
                parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, value in points:
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y_of(value):.1f}" r="4" fill="{colour}"><title>'
                    f"{escape(target.name)}: {value:g} {unit}</title></circle>"
                )
                if value > scale:  # off the scale: its figure at the top
                    parts.append(
                        f'<text x="{x - 6:.1f}" y="{top - 3}" text-anchor="end" fill="{colour}">{value:.0f}</text>'
                    )
            # The legend: the figure's line, and its target's.
            lx, ly = LEFT + plot_w + 14, top + 6 + row * 40
            parts.append(
                f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="{colour}" stroke-width="2"/>'
                f'<text x="{lx + 28}" y="{ly + 4}">{escape(target.name)}</text>'
                f'<line x1="{lx}" y1="{ly + 16}" x2="{lx + 22}" y2="{ly + 16}" stroke="{colour}" '
                f'stroke-dasharray="6 4"/><text x="{lx + 28}" y="{ly + 20}">target ≤ '
                f"{target.shown(target.limit)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# --- the whole run -----------------------------------------------------------------


def run(
    steps: list[int],
    seconds: int | None = None,
    pacing: generator.Pacing = REALISTIC,
    database_url: str | None = None,
    *,
    wipe: bool = True,
    workers: int = 1,
    render_processes: int = 0,
    load_processes: int = 1,
    report: Callable[[dict[str, Any]], None] = lambda step: None,
) -> dict[str, Any]:
    """Climb the steps (see the module's docstring); returns what main prints
    as JSON, but for the chart."""
    seconds = seconds or pacing.default_seconds()
    databases: list[str] = []

    def measure(kiosks: int, processes: int) -> dict[str, Any]:
        result = loadtest.run(
            kiosks=kiosks,
            seconds=seconds,
            pacing=pacing,
            database_url=database_url,
            wipe=wipe,
            workers=workers,
            render_processes=render_processes,
            load_processes=processes,
        )
        databases.append(result["database"])
        return result

    climbed = climb(steps, measure, load_processes=load_processes, report=report)
    result = {
        "database": databases[0] if databases else None,
        "workers": workers,
        "render_processes": render_processes or "default",
        "think_s": pacing.think,
        "jitter": pacing.jitter,
        "spread": pacing.spread,
        "visit_s": round(pacing.visit_seconds, 1),
        "seconds_per_step": seconds,
        "targets": {t.key: t.limit for t in TARGETS},
        **climbed,
    }
    return result


def step_line(step: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        value = step.get(key)
        return "n/a" if value is None else f"{value:.0f} ms"

    verdict = "held" if step["held"] else "BROKE: " + "; ".join(step["broken"])
    generator_note = ""
    if step.get("load_generator_limited"):
        generator_note = (
            f"  (load generator did not keep the pace: {step.get('requests_per_s')} of "
            f"{step.get('expected_requests_per_s')} requests/s, its busiest process at "
            f"{step.get('load_generator_cpu_percent')} % CPU)"
        )
    return (
        f"{step['kiosks']:>5} kiosks ({step.get('load_processes', 1)} Locust process(es)): "
        f"step p95 {ms('step_p95_ms')}, Finish p95 {ms('finish_p95_ms')}, "
        f"handout ready p95 {ms('pdf_ready_p95_ms')}, {step.get('visits_completed')} visits: "
        f"{verdict}{generator_note}"
    )


def parse_steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers of kiosks: {text!r}") from None
    if not steps or any(n < 1 for n in steps) or steps != sorted(set(steps)):
        raise argparse.ArgumentTypeError(
            "steps must be numbers of kiosks, at least 1, rising (e.g. 50,100,200)"
        )
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.capacity",
        description="The load test at more and more kiosks until a target breaks: how many kiosks this "
        "machine serves.",
    )
    parser.add_argument(
        "--steps",
        type=parse_steps,
        default=list(DEFAULT_STEPS),
        help="numbers of kiosks to try, rising (default " + ",".join(map(str, DEFAULT_STEPS)) + ")",
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=None,
        help="how long each step lasts (default: three visits' length, one to start every kiosk and two "
        "measured; 60 without --spread)",
    )
    generator.add_options(parser, think=REALISTIC.think, jitter=REALISTIC.jitter, spread=REALISTIC.spread)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a database to EMPTY before every step (all its data is deleted); default: a new SQLite file "
        "for every step (DATABASE_URL from the environment is never emptied: one step only)",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=None,
        help="where to write the SVG chart (default capacity-DATABASE-WORKERS.svg here)",
    )
    args = parser.parse_args(argv)
    pacing = generator.pacing_from(parser, args)
    if args.seconds is not None and args.seconds < 1:
        parser.error("--seconds must be at least 1")

    database_url = args.database_url
    wipe = database_url is not None
    if not wipe and os.environ.get("DATABASE_URL"):
        if len(args.steps) > 1:
            parser.error(
                "DATABASE_URL is set in the environment, and a database from there is never emptied, but "
                "every step needs an empty one. Name a database it may empty with --database-url (make "
                "capacity DATABASE_URL=...), or try one step (--steps N)."
            )
        database_url = os.environ["DATABASE_URL"]

    def report(step: dict[str, Any]) -> None:
        print(step_line(step), flush=True)

    try:
        result = run(
            args.steps,
            args.seconds,
            pacing,
            database_url,
            wipe=wipe,
            workers=args.workers,
            render_processes=args.render_processes,
            load_processes=args.load_processes,
            report=report,
        )
    except loadtest.StartError as error:
        print(f"capacity: {error}", file=sys.stderr)
        return 2
    chart = args.chart or Path(f"capacity-{result['database']}-{args.workers}.svg")
    chart.write_text(chart_svg(result), encoding="utf-8")
    result["chart"] = str(chart)
    print(conclusion(result))
    print(json.dumps(result))
    return 0


def conclusion(result: dict[str, Any]) -> str:
    where = f"on {result['database']} with {result['workers']} worker process(es)"
    if result["limit"] is None:
        return f"Every step held {where}: at least {result['max_kiosks']} kiosks. Chart: {result['chart']}"
    stopped = result["stopped_at"]
    because = "; ".join(stopped["broken"]) or "it could not keep the pace"
    if result["limit"] == "load generator":
        what = "the load generator, not the server, was the limit"
    else:
        what = "the server was the limit"
    return (
        f"{result['max_kiosks']} kiosks held {where}; at {stopped['kiosks']} {what} ({because}). "
        f"Chart: {result['chart']}"
    )


if __name__ == "__main__":
    sys.exit(main())
