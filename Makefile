PY ?= python3
# `make run PORT=8101` serves elsewhere; HOST=0.0.0.0 listens on every interface.
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BROWSER := $(VENV)/.browser

.PHONY: install native run test lint bench screenshots clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Compiles the hot modules with mypyc (a C compiler needed; without one, plain Python runs).
# Quick when the build is current; a build older than its sources is never loaded.
native: $(STAMP)
	$(BIN)/python -m integration.native_build

# Bytecode written once, so that a command does not compile the package's sources each time it
# starts (it would when PYTHONDONTWRITEBYTECODE is set); quick when current.
install: native
	$(BIN)/python -m compileall -q integration adapters sidebar_ui scheduler >/dev/null

run: install
	$(BIN)/escalade db upgrade
	$(BIN)/escalade demo
	$(BIN)/escalade serve --host $(HOST) --port $(PORT)

# Playwright drives Debian's chromium (apt-get install chromium); it never downloads a browser.
$(BROWSER): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,browser]'
	touch $(BROWSER)

# Regenerates docs/screenshots/*.png from the current UI (the demo on a fixed clock).
screenshots: $(BROWSER)
	$(BIN)/python -m tests.browser.screenshots

# The whole suite on the compiled modules, then detection, the matrix, the SLA clocks and the
# audit again as plain Python (what runs where no compiler is), with the tests that patch
# their internals.
test: install
	$(BIN)/pytest -q -n auto
	ESCALADE_NATIVE=0 $(BIN)/pytest -q -n auto tests/detect tests/matrix tests/audit \
		tests/test_sla.py tests/test_sla_clock.py tests/test_sla_ical.py tests/test_clocks.py \
		tests/test_calendar_sums.py tests/test_triage_sla.py tests/test_native.py
	ESCALADE_NATIVE=0 $(BIN)/pytest -q -n auto -m pure_python

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/triage.py

clean:
	rm -rf $(VENV) var .pytest_cache
