PY ?= python3
# `make run PORT=8101` serves elsewhere; HOST=0.0.0.0 listens on every interface.
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BROWSER := $(VENV)/.browser

.PHONY: install run test lint bench screenshots clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
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

test: $(STAMP)
	$(BIN)/pytest -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/triage.py

clean:
	rm -rf $(VENV) var .pytest_cache
