"""``make bench``: how long a typical handout takes to render.

Renders the built-in sample visit (``cli.SAMPLE_ANSWERS``) through our whole
path, ``render_handout`` (answers → context → template → WeasyPrint → PDF), and
hands the same final HTML string straight to WeasyPrint with the same options,
alternating the two so both see the same machine. The ratio of the medians is
what our own code costs on top of WeasyPrint.

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
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

SAMPLE_CLAIM_CODE = "K7P2"


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


def run(runs: int = 30, warmup: int = 3, paper: str = "letter") -> dict[str, Any]:
    """Time both paths ``runs`` times each after ``warmup`` untimed rounds."""
    # Imported here so ``--help`` does not pay for WeasyPrint and the app.
    from . import create_app
    from .cli import SAMPLE_ANSWERS
    from .handout import font_subsetter, handout_html, html_document, render_handout, render_options

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
                return render_handout(SAMPLE_ANSWERS, **visit)

            html = handout_html(SAMPLE_ANSWERS, **visit)

            def direct() -> bytes:
                return html_document(html).write_pdf(**render_options())

            pdf, pages = ours()
            for _ in range(warmup):
                ours()
                direct()
            ours_ms, direct_ms = [], []
            for _ in range(runs):
                ours_ms.append(_time(ours))
                direct_ms.append(_time(direct))

    p50, direct_p50 = statistics.median(ours_ms), statistics.median(direct_ms)
    return {
        "handout_p50_ms": round(p50, 1),
        "handout_p95_ms": round(percentile(ours_ms, 0.95), 1),
        "direct_p50_ms": round(direct_p50, 1),
        "direct_p95_ms": round(percentile(direct_ms, 0.95), 1),
        "handout_ratio": round(p50 / direct_p50, 3),
        "pages": pages,
        "bytes": len(pdf),
        "paper": paper,
        "runs": runs,
        "subsetter": font_subsetter(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kiosk.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed renders of each path (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--paper", choices=("letter", "a4"), default="letter")
    args = parser.parse_args(argv)

    r = run(runs=args.runs, warmup=args.warmup, paper=args.paper)
    print(f"Typical handout: {r['pages']} pages, {r['bytes']:,} bytes, {r['paper']} paper.")
    print(f"{r['runs']} renders of each after a warm-up; fonts subset with {r['subsetter']}.")
    paths = (("our full path (render_handout)", "handout"), ("WeasyPrint on the same HTML", "direct"))
    for label, key in paths:
        print(f"  {label:31s} p50 {r[f'{key}_p50_ms']:6.1f} ms  p95 {r[f'{key}_p95_ms']:6.1f} ms")
    print(f"  ratio of the p50s               {r['handout_ratio']:.3f}")
    print(f"  {r['cpus']} CPUs; load average {r['load_average_1m']} over the last minute")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
