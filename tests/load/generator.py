"""The load generator: how fast the simulated kiosks tap, how many Locust
processes drive them, and whether it kept the pace it was asked for.

Pacing. A visit is eight screens a patient reads before tapping: Welcome,
the five steps, Review and Done (``tests/load/locustfile.py``). A real
patient takes about three minutes, so about 22 s a screen; a reading time
varies, so each one is drawn at random between ``think × (1 − jitter)`` and
``think × (1 + jitter)`` (the average stays ``think``). Patients do not all
arrive at once: with ``spread`` the kiosks start one after another over one
visit's length (Locust's spawn rate), so their taps and Finishes are spread
evenly from the first visit on, and Locust's statistics are reset once the
last kiosk has started (``--reset-stats``): the timings are those of the
steady state, not of the ramp.

The busy mode, ``think`` 1 s with no jitter and no spread, is how the
targets at 50 kiosks are measured: every kiosk starts at once and they keep
in step, so up to 50 visits finish in the same second.

Keeping the pace. A tap is two requests (the post and the screen it leads
to), so a kiosk makes ``2 / (think + 2 × mean response time)`` requests a
second. When Locust makes clearly fewer than that, or says that it ran short
of CPU, the load generator, not the server, was the limit: its timings
include its own delays, and the server did not get the load it was meant to.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk import questionnaire as qn

# Start, every step, Finish (from Review) and the next patient (from Done).
TAPS_PER_VISIT = len(qn.STEPS) + 3
REQUESTS_PER_TAP = 2
# Below this share of the expected request rate, the generator fell behind.
PACE_KEPT = 0.9
# Three visits: one while the kiosks start, two of steady state to measure.
VISITS_PER_RUN = 3
BUSY_SECONDS = 60


@dataclass(frozen=True)
class Pacing:
    think: float = 1.0  # mean seconds a patient reads a screen
    jitter: float = 0.0  # each reading time is think × (1 ± jitter), uniformly
    spread: bool = False  # kiosks start over one visit's length, not all at once

    def __post_init__(self) -> None:
        if self.think < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("think must not be negative, jitter must be between 0 and 1")

    @property
    def visit_seconds(self) -> float:
        """A visit's length at this pace, not counting the server's answers."""
        return TAPS_PER_VISIT * self.think

    def default_seconds(self) -> int:
        """How long a run lasts unless told: three visits when spread (one to
        start every kiosk, two measured), else the busy mode's 60 s."""
        if not self.spread:
            return BUSY_SECONDS
        return max(1, math.ceil(VISITS_PER_RUN * self.visit_seconds))

    def spawn_rate(self, kiosks: int) -> float:
        """Kiosks started a second: all at once, or spread over one visit."""
        if not self.spread or self.visit_seconds <= 0:
            return float(kiosks)
        return kiosks / self.visit_seconds

    def locust_options(self, kiosks: int) -> list[str]:
        options = ["--spawn-rate", f"{self.spawn_rate(kiosks):.6g}"]
        if self.spread:
            options.append("--reset-stats")
        return options

    def environment(self) -> dict[str, str]:
        """What the locustfile reads."""
        return {"LOADTEST_THINK_SECONDS": repr(self.think), "LOADTEST_THINK_JITTER": repr(self.jitter)}

    def expected_requests_per_s(self, kiosks: int, mean_response_ms: float | None) -> float | None:
        """The request rate `kiosks` make at this pace, given the server's answers."""
        if mean_response_ms is None:
            return None
        tap = self.think + REQUESTS_PER_TAP * mean_response_ms / 1000
        return kiosks * REQUESTS_PER_TAP / tap if tap > 0 else None


# The busy mode: every kiosk at once, reading each screen exactly 1 s.
BUSY = Pacing()


# --- what the Locust processes wrote ------------------------------------------------


def counts_files(counts: Path) -> list[Path]:
    """Every Locust process writes its own tally: ``counts.json.<pid>``."""
    return sorted(counts.parent.glob(counts.name + ".*[0-9]"))


def read_counts(counts: Path) -> dict[str, Any]:
    """The kiosks' tallies of every Locust process, added up; {} when none wrote one."""
    total: dict[str, Any] = {}
    for path in counts_files(counts):
        try:
            part = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key, value in part.items():
            if key == "examples":
                total.setdefault(key, []).extend(value)
            elif key == "statuses":
                statuses = total.setdefault(key, {})
                for status, n in value.items():
                    statuses[status] = statuses.get(status, 0) + n
            elif key == "process":
                total.setdefault("processes", []).append(value)
            elif isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    return total


def aggregated_row(stats: Path) -> dict[str, str]:
    try:
        with open(stats, newline="") as stats_file:
            return next((r for r in csv.DictReader(stats_file) if r["Name"] == "Aggregated"), {})
    except OSError:
        return {}


def number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "N/A") else None
    except ValueError:
        return None


def kept_pace(
    pacing: Pacing, kiosks: int, stats: Path, counts: Path, log_text: str, processes: int = 1
) -> dict[str, Any]:
    """Whether the load generator made the load it was asked for.

    ``load_generator_limited`` when Locust said it ran short of CPU, or made
    fewer than ``PACE_KEPT`` of the requests the pace asks for."""
    row = aggregated_row(stats)
    achieved = number(row.get("Requests/s"))
    expected = pacing.expected_requests_per_s(kiosks, number(row.get("Average Response Time")))
    ratio = achieved / expected if achieved is not None and expected else None
    # Locust's own warning: a process of it above 90 % of a core.
    overloaded = "CPU usage" in log_text or "exceeded cpu threshold" in log_text
    busiest = [p.get("cpu_percent") for p in read_counts(counts).get("processes", [])]
    busiest = [p for p in busiest if p is not None]
    return {
        "load_processes": processes,
        "expected_requests_per_s": None if expected is None else round(expected, 1),
        "pace_kept": None if ratio is None else round(ratio, 3),
        "load_generator_cpu_percent": round(max(busiest), 1) if busiest else None,
        "load_generator_overloaded": overloaded,
        "load_generator_limited": overloaded or (ratio is not None and ratio < PACE_KEPT),
    }


# --- options ---------------------------------------------------------------------


def add_options(parser: argparse.ArgumentParser, *, think: float, jitter: float, spread: bool) -> None:
    """The kiosks' pace, the worker and render processes and the Locust processes:
    options of the load test and of the capacity run."""
    parser.add_argument(
        "--think", type=float, default=think, help=f"seconds a patient reads each screen (default {think})"
    )
    parser.add_argument(
        "--jitter",
        type=float,
        default=jitter,
        help=f"each reading time is think × (1 ± jitter), at random (default {jitter})",
    )
    parser.add_argument(
        "--spread",
        action=argparse.BooleanOptionalAction,
        default=spread,
        help="start the kiosks one after another over a visit's length, not all at once "
        f"(default {'on' if spread else 'off'})",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--render-processes",
        type=int,
        default=0,
        help="each worker's render processes (default: the worker's own, one a core less one)",
    )
    parser.add_argument(
        "--load-processes",
        type=int,
        default=1,
        help="Locust processes driving the kiosks (default 1; Locust's --processes)",
    )


def pacing_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Pacing:
    if args.workers < 1 or args.load_processes < 1:
        parser.error("--workers and --load-processes must be at least 1")
    if args.render_processes < 0:
        parser.error("--render-processes must not be negative")
    try:
        return Pacing(think=args.think, jitter=args.jitter, spread=args.spread)
    except ValueError as error:
        parser.error(str(error))
