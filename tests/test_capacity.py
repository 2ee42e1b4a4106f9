"""How many kiosks one box serves (``tests/load/capacity.py``): the climb's
stopping rule on made-up steps, and a tiny real climb (2 then 4 kiosks for a
few seconds each) on SQLite and PostgreSQL, checked for its JSON and chart.

The real climb's timings on a shared test machine say nothing, so there the
timing targets are set out of reach and every step runs; the rule itself is
checked on made-up figures.
"""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ElementTree

import pytest

from .conftest import POSTGRES_MISSING, POSTGRES_REQUIRED, POSTGRES_URL
from .load import capacity, generator

SVG = "{http://www.w3.org/2000/svg}"


def figures(kiosks: int, step: float = 40, finish: float = 60, ready: float = 2000, **more) -> dict:
    """A load test's figures for `kiosks`, every target held unless told otherwise."""
    return {
        "kiosks": kiosks,
        "visits_completed": kiosks * 3,
        "handouts": kiosks * 3,
        "step_p95_ms": step,
        "finish_p95_ms": finish,
        "pdf_ready_p95_ms": ready,
        "errors_5xx": 0,
        "errors_other": 0,
        "lost": 0,
        "duplicated": 0,
        "load_generator_overloaded": False,
        "load_generator_limited": False,
        "stopped_during_the_run": [],
        **more,
    }


class Measured:
    """A stand-in for the load test: the figures given for each number of kiosks
    (a list: one a try), and which steps were asked for."""

    def __init__(self, results: dict[int, list[dict]]) -> None:
        self.results = results
        self.asked: list[tuple[int, int]] = []

    def __call__(self, kiosks: int, processes: int) -> dict:
        self.asked.append((kiosks, processes))
        return {**self.results[kiosks].pop(0), "load_processes": processes}


# --- the stopping rule ----------------------------------------------------------------


def test_the_climb_stops_at_the_first_step_that_breaks_a_target():
    measure = Measured(
        {50: [figures(50)], 100: [figures(100)], 200: [figures(200, finish=170)], 400: [figures(400)]}
    )
    result = capacity.climb([50, 100, 200, 400], measure)
    assert [k for k, _ in measure.asked] == [50, 100, 200]
    assert result["max_kiosks"] == 100
    assert result["limit"] == "server"
    assert result["load_generator_limited"] is False
    assert result["stopped_at"] == {"kiosks": 200, "broken": ["Finish p95 170 ms > 150 ms"]}
    assert [(s["kiosks"], s["held"]) for s in result["steps"]] == [(50, True), (100, True), (200, False)]


@pytest.mark.parametrize(
    "broken, said",
    [
        ({"step_p95_ms": 101}, "step p95 101 ms > 100 ms"),
        ({"finish_p95_ms": 151}, "Finish p95 151 ms > 150 ms"),
        ({"pdf_ready_p95_ms": 10_100}, "handout ready p95 10.1 s > 10 s"),
        ({"pdf_ready_p95_ms": None}, "no handout ready p95 (nothing measured)"),
        ({"errors_5xx": 1}, "server errors (5xx): 1"),
        ({"errors_other": 2}, "unanswered or unexpected answers: 2"),
        ({"lost": 1}, "handouts lost: 1"),
        ({"duplicated": 1}, "handouts or prints made twice: 1"),
        ({"visits_completed": 0}, "no visit completed"),
        ({"stopped_during_the_run": ["worker"]}, "the worker stopped"),
    ],
)
def test_any_target_broken_stops_the_climb_there(broken, said):
    result = capacity.climb([50, 100], Measured({50: [figures(50, **broken)], 100: [figures(100)]}))
    assert result["max_kiosks"] == 0
    assert result["stopped_at"] == {"kiosks": 50, "broken": [said]}


def test_a_step_exactly_at_every_target_holds():
    step = capacity.step_of(figures(50, step=100, finish=150, ready=10_000))
    assert step["held"] and step["broken"] == []


def test_when_every_step_holds_the_largest_is_the_answer_and_nothing_was_the_limit():
    result = capacity.climb([50, 100], Measured({50: [figures(50)], 100: [figures(100)]}))
    assert (result["max_kiosks"], result["limit"], result["stopped_at"]) == (100, None, None)


def test_a_load_generator_short_of_cpu_runs_the_step_again_with_more_locust_processes():
    short_of_cpu = figures(400, step=300, load_generator_overloaded=True, load_generator_limited=True)
    measure = Measured({200: [figures(200)], 400: [short_of_cpu, figures(400)], 800: [figures(800)]})
    result = capacity.climb([200, 400, 800], measure, max_load_processes=2)
    assert measure.asked == [(200, 1), (400, 1), (400, 2), (800, 2)]
    assert result["max_kiosks"] == 800
    assert result["limit"] is None
    # Both tries are in the JSON; the chart draws the last.
    assert [(s["kiosks"], s["load_processes"]) for s in result["steps"]] == [
        (200, 1),
        (400, 1),
        (400, 2),
        (800, 2),
    ]


def test_when_the_load_generator_cannot_keep_the_pace_it_is_named_the_limit_not_the_server():
    short_of_cpu = figures(400, step=300, load_generator_overloaded=True, load_generator_limited=True)
    measure = Measured({200: [figures(200)], 400: [short_of_cpu, dict(short_of_cpu)]})
    result = capacity.climb([200, 400, 800], measure, max_load_processes=2)
    assert measure.asked == [(200, 1), (400, 1), (400, 2)]
    assert result["max_kiosks"] == 200
    assert result["limit"] == "load generator"
    assert result["load_generator_limited"] is True
    assert "the load generator, not the server, was the limit" in capacity.conclusion(
        {**result, "database": "postgresql", "workers": 1, "chart": "c.svg"}
    )


def test_a_step_that_held_while_the_load_generator_fell_behind_proves_nothing():
    behind = figures(400, load_generator_limited=True, pace_kept=0.7)
    result = capacity.climb([200, 400], Measured({200: [figures(200)], 400: [behind]}), max_load_processes=1)
    assert (result["max_kiosks"], result["limit"]) == (200, "load generator")


def test_the_chart_marks_the_step_that_broke_and_writes_the_figure_off_its_scale():
    result = capacity.climb(
        [50, 100, 200], Measured({50: [figures(50)], 100: [figures(100)], 200: [figures(200, finish=1570)]})
    )
    svg = ElementTree.fromstring(capacity.chart_svg({**result, "database": "postgresql", "think_s": 22}))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "200 ✗" in texts and "100" in texts and "1570" in texts
    assert "target ≤ 150 ms" in texts and "target ≤ 10 s" in texts


# --- the pace ---------------------------------------------------------------------------


def test_a_realistic_pace_spreads_the_kiosks_over_a_visit_and_measures_the_steady_state():
    pacing = generator.Pacing(think=22, jitter=0.5, spread=True)
    assert pacing.visit_seconds == 8 * 22  # Welcome, five steps, Review, Done
    assert pacing.default_seconds() == 3 * 8 * 22
    assert pacing.locust_options(176) == ["--spawn-rate", "1", "--reset-stats"]
    busy = generator.Pacing(think=1.0)
    assert busy.locust_options(50) == ["--spawn-rate", "50"]
    assert busy.default_seconds() == 60


def test_the_tallies_of_every_locust_process_are_added_up(tmp_path):
    counts = tmp_path / "counts.json"
    for pid, (five, examples) in {101: (1, ["a"]), 102: (2, ["b", "c"])}.items():
        part = {"requests": 10, "errors_5xx": five, "statuses": {"200": 9, "500": five}, "examples": examples}
        (tmp_path / f"counts.json.{pid}").write_text(
            json.dumps({**part, "process": {"cpu_percent": pid - 90}})
        )
    (tmp_path / "counts.json.103.part").write_text("{half written")
    total = generator.read_counts(counts)
    assert total["requests"] == 20 and total["errors_5xx"] == 3
    assert total["statuses"] == {"200": 18, "500": 3}
    assert sorted(total["examples"]) == ["a", "b", "c"]
    assert [p["cpu_percent"] for p in total["processes"]] == [11, 12]


def test_a_database_from_the_environment_is_never_emptied_between_steps(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1/not-to-be-emptied")
    with pytest.raises(SystemExit) as exit_:
        capacity.main(["--steps", "2,4"])
    assert exit_.value.code == 2
    assert "never emptied" in capsys.readouterr().err


# --- a tiny real climb ----------------------------------------------------------------


@pytest.fixture
def out_of_reach(monkeypatch):
    """Timing targets no shared test machine breaks, and any pace counted as kept."""
    monkeypatch.setattr(
        capacity,
        "TARGETS",
        tuple(capacity.Target(t.key, t.name, 600_000, t.unit) for t in capacity.TARGETS),
    )
    monkeypatch.setattr(generator, "PACE_KEPT", 0.0)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if importlib.util.find_spec("locust") is None:
        pytest.fail("Locust is not installed: pip install -e '.[test]'", pytrace=False)


def climb_for_real(tmp_path, capsys, *options: str) -> tuple[dict, ElementTree.Element]:
    chart = tmp_path / "capacity.svg"
    # A visit of 8 screens at 0.3 s: 12 s give every kiosk time to finish
    # one, even on a busy test machine.
    code = capacity.main(
        ["--steps", "2,4", "--think", "0.3", "--seconds", "12", "--chart", str(chart), *options]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return result, ElementTree.parse(chart).getroot()


def assert_climbed_both_steps(result: dict, svg: ElementTree.Element, database: str, workers: int) -> None:
    assert result["database"] == database
    assert result["workers"] == workers
    assert result["max_kiosks"] == 4 and result["limit"] is None and result["load_generator_limited"] is False
    assert result["seconds_per_step"] == 12
    assert [s["kiosks"] for s in result["steps"]] == [2, 4]
    for step in result["steps"]:
        for key in (
            "step_p95_ms",
            "finish_p95_ms",
            "pdf_ready_p95_ms",
            "requests_per_s",
            "expected_requests_per_s",
        ):
            assert isinstance(step[key], int | float), (key, step)
        assert step["held"] is True and step["broken"] == [], step
        assert (step["errors_5xx"], step["errors_other"], step["lost"], step["duplicated"]) == (0, 0, 0, 0)
        # A fresh database each step: only this step's visits in it.
        assert step["handouts"] == step["visits_completed"] > 0, step
    assert svg.tag == f"{SVG}svg"
    assert f"on {database}" in svg.find(f"{SVG}title").text
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "2" in texts and "4" in texts
    # A point for each of three p95s at each step.
    assert len(list(svg.iter(f"{SVG}circle"))) == 3 * 2


@pytest.mark.load
def test_a_tiny_climb_on_sqlite_driven_by_two_locust_processes(tmp_path, capsys, out_of_reach):
    result, svg = climb_for_real(tmp_path, capsys, "--load-processes", "2")
    assert_climbed_both_steps(result, svg, "sqlite", workers=1)
    assert [s["load_processes"] for s in result["steps"]] == [2, 2]


@pytest.mark.load
@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL and not POSTGRES_REQUIRED, reason=POSTGRES_MISSING)
def test_a_tiny_climb_on_postgresql_with_two_workers(tmp_path, capsys, out_of_reach):
    if not POSTGRES_URL:
        pytest.fail(f"{POSTGRES_MISSING}; KIOSK_REQUIRE_POSTGRES is set, so this is a failure", pytrace=False)
    result, svg = climb_for_real(tmp_path, capsys, "--database-url", POSTGRES_URL, "--workers", "2")
    assert_climbed_both_steps(result, svg, "postgresql", workers=2)
