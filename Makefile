# `make run` serves the app; `make test` runs every test. Both set everything up on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check bench load fuzz chromium clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build of this machine kind, never a CUDA download.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/losslab serve

chromium:
	./scripts/ensure-chromium.sh

test: $(STAMP) chromium
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	./scripts/check-js.sh

# Ratios against a bare torch loop: the engine and the API, sweeps, the Python client.
bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_sweeps.py
	$(BIN)/python bench/bench_client.py

# 50 WebSocket clients dragging sliders plus a burst of maps against a real server (~1 min).
load: $(STAMP)
	$(BIN)/python bench/load.py

# The schema fuzzer of `make test`, at length: FUZZ_EXAMPLES cases per operation.
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
