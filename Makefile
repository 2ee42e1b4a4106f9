# Two commands on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make run    set up and start the kiosk and its worker on http://127.0.0.1:8000 (PORT overrides)
#   make test   set up and run the whole test suite
#   make test-fast   the suite without its slow families (README: Tests)
# Both are safe to run again.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# gunicorn's processes for make run (`kiosk serve --web-workers`).
WEB_WORKERS ?= 2
# RENDER_PROCESSES=N (make run, loadtest, capacity): the worker's render
# processes. Unset, the setting's (instance/config.py), else one a core less one.
# make run is a demo: any browser can be a kiosk. A clinic's server enrolls
# its kiosks (README: Running in a clinic).
KIOSK_ENROLLMENT ?= 0

.PHONY: run test test-fast lint system-deps init-db bench loadtest capacity translations fonts

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create a virtual environment. On Debian/Ubuntu: apt-get install python3-venv"; exit 1; }
	@$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,postgres]'
	@touch $@ $(VENV)/.installed-run

# HarfBuzz's font subsetter makes WeasyPrint several times faster. Installed
# when we can (root with apt); otherwise the app works, more slowly, and says so.
system-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing libharfbuzz-subset0 ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0 >/dev/null; \
	  else \
	    echo "Note: libharfbuzz-subset0 is not installed; handouts will render more slowly."; \
	  fi; \
	fi

# The patient's languages: the catalogs in kiosk/translations are compiled
# here (the compiled files are not kept in git); the test session compiles
# them itself (tests/conftest.py).
translations: $(VENV)/.installed-run
	@$(BIN)/flask --app wsgi kiosk translate compile

init-db: $(VENV)/.installed-run
	@$(BIN)/flask --app wsgi kiosk init-db
	@$(BIN)/flask --app wsgi kiosk ensure-admin

run: system-deps $(VENV)/.installed-run translations init-db
	@echo ""
	@echo "  Kiosk (patients):     http://$(HOST):$(PORT)/"
	@echo "  Front desk (staff):   http://$(HOST):$(PORT)/desk/"
	@echo "  Health check:         http://$(HOST):$(PORT)/healthz"
	@echo ""
	@if [ "$(KIOSK_ENROLLMENT)" = 0 ]; then echo "  Demo mode: any browser can be a kiosk (KIOSK_ENROLLMENT=1 to require enrolled kiosks)."; echo ""; fi
	@# The web server and the worker (handouts, printing) together; Ctrl-C stops both.
	KIOSK_ENROLLMENT=$(KIOSK_ENROLLMENT) $(BIN)/flask --app wsgi kiosk serve --host $(HOST) --port $(PORT) --web-workers $(WEB_WORKERS)

test: system-deps $(VENV)/.installed-test
	$(BIN)/python -m pytest

# Everything but the slow families (the markers in pyproject.toml): a loop
# to run after each change, under a minute. `make test` still runs them all.
SLOW_TESTS = browser or cups or nginx or postgres or fuzz or load or processes or mount or fonts
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n auto -m "not ($(SLOW_TESTS))"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The script fonts (Noto Sans SC/TC/KR, Noto Sans, Vazirmatn), fetched again
# from the npm registry (npm pack) and written to static/fonts and the kiosk's
# font stylesheets (static/fonts/fetch.py). The files are kept in git: neither
# make run nor CI needs this.
fonts: $(VENV)/.installed-run
	$(BIN)/python static/fonts/fetch.py

# How long a typical handout takes to render (kiosk/bench.py); the last line
# printed is JSON. A measurement, not a test: it never fails on a slow machine.
bench: system-deps $(VENV)/.installed-run
	$(BIN)/python -m kiosk.bench

# Many kiosks at once against gunicorn and the worker on 127.0.0.1, then every
# handout and print checked (tests/load/loadtest.py); the last line printed is
# JSON. A measurement: it fails only if the server or worker cannot start.
# `make loadtest DATABASE_URL=postgresql+psycopg://...` runs it on PostgreSQL
# and EMPTIES that database first; a DATABASE_URL only in the environment is
# never emptied (the run refuses one that holds visits).
#
# The pace (tests/load/generator.py). By default a waiting room's: a visit of
# about three minutes, 8 screens of THINK=22 s each, every reading time drawn
# at random 50 % shorter to 50 % longer (JITTER=0.5), the kiosks' first
# visits started one after another over a visit's length (SPREAD=1), for
# three visits' length (about 9 minutes: one to start every kiosk, two
# measured) unless SECONDS says otherwise. THINK=1 is the busy mode the
# targets at 50 kiosks are measured in: every kiosk starts at once and reads
# every screen exactly 1 s, for 60 s (JITTER=0 SPREAD=0 SECONDS=60 follow).
# WORKERS: worker processes (default 1).
# LOAD_PROCESSES: Locust processes driving the kiosks (default 1).
KIOSKS ?= 50
THINK ?= 22
BUSY = $(filter 1 1.0,$(THINK))
JITTER ?= $(if $(BUSY),0,0.5)
SPREAD ?= $(if $(BUSY),0,1)
SECONDS ?= $(if $(BUSY),60)
WORKERS ?= 1
LOAD_PROCESSES ?= 1
PRINTER ?= directory
LOAD_OPTIONS = --think $(THINK) --jitter $(JITTER) $(if $(filter 1,$(SPREAD)),--spread,--no-spread) \
  $(if $(SECONDS),--seconds $(SECONDS)) --workers $(WORKERS) --load-processes $(LOAD_PROCESSES) \
  $(if $(RENDER_PROCESSES),--render-processes $(RENDER_PROCESSES)) \
  $(if $(filter command line,$(origin DATABASE_URL)),--database-url '$(DATABASE_URL)')
loadtest: system-deps $(VENV)/.installed-test translations
	$(BIN)/python -m tests.load.loadtest --kiosks $(KIOSKS) --printer '$(PRINTER)' $(LOAD_OPTIONS)

# How many kiosks this machine serves (tests/load/capacity.py): the load test
# at STEPS kiosks, one after another, each on a fresh database, until a target
# breaks; SECONDS is each step's length. Prints a line a step and, last, one
# JSON object (max_kiosks, the steps with their p95s, whether the load
# generator was the limit), and writes CHART (default
# capacity-DATABASE-WORKERS.svg). The same pace, WORKERS and DATABASE_URL
# rules as make loadtest: a DATABASE_URL given here is EMPTIED before every step.
STEPS ?= 50,100,200,400,800
CHART ?=
capacity: system-deps $(VENV)/.installed-test translations
	$(BIN)/python -m tests.load.capacity --steps $(STEPS) $(if $(CHART),--chart '$(CHART)') $(LOAD_OPTIONS)
