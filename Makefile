# One entry point for readers, contributors and CI; `make help` lists the targets.
# Every target that needs the environment creates .venv/ and node_modules/ on first
# use and skips that work afterwards. A target's `## ` comment is its line in
# `make help` (tests/test_makefile.py checks that every .PHONY target has one).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.cnnbook-setup
NODE_STAMP := node_modules/.cnnbook-setup
export PYTHONHASHSEED := 0
# The package and the tests are imported by hundreds of processes (page kernels,
# test workers, the commands the tests run): let Python cache their bytecode.
unexport PYTHONDONTWRITEBYTECODE
export NO_MKDOCS_2_WARNING := 1

# The book's networks are small: one thread per process runs them faster than
# two (the degradation page: 39 s against 56 s on two cores), and it lets the
# build and the tests share the cores without threads waiting for each other.
# Pages print the thread count beside every timing.
THREADS ?= 1
# Test processes (pytest-xdist); each computes on one thread (tests/conftest.py).
WORKERS ?= 2

.PHONY: help setup serve build test fast lint typecheck complexity unit results linkcheck browser \
	browser-deps lock clean

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  make %-13s %s\n", $$1, $$2 }' \
		$(firstword $(MAKEFILE_LIST))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency declarations change. pip does not byte-compile:
# compiling all of torch took about 70 s of a fresh setup, while the processes that
# `make` starts (PYTHONDONTWRITEBYTECODE is unexported above) cache the bytecode of
# the modules they import, once, and each later process reads it.
$(SETUP_STAMP): $(BIN)/python pyproject.toml requirements/lock.txt
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet --no-compile -c requirements/lock.txt -e '.[docs,test]'
	@touch $@

# MathJax and mermaid are served by the site itself, from these npm packages.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

setup: $(SETUP_STAMP) $(NODE_STAMP) ## create .venv/ and node_modules/ (the other targets do it too)

# A page executes only when it, the package, the versions or the recorded results
# changed since it last did (tools/exec_cache.py); --dirty: an edit while serving
# rebuilds only the pages it touches.
serve: setup ## build the book, executing the pages that changed, and serve it on http://127.0.0.1:8000
	OMP_NUM_THREADS=$(THREADS) $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000 --dirty

build: setup ## strict build of the site into site/
	@start=$$(date +%s); \
	OMP_NUM_THREADS=$(THREADS) $(BIN)/mkdocs build --strict --site-dir site; \
	echo "strict build took $$(( $$(date +%s) - start )) s"

lint: setup ## ruff (lint and format check) and actionlint on the workflows
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/actionlint -color=false .github/workflows/*.yml

typecheck: setup ## mypy on src/cnnbook (settings in pyproject.toml)
	@start=$$(date +%s); \
	$(BIN)/mypy; \
	echo "mypy took $$(( $$(date +%s) - start )) s"

# Part of `make lint` (C90 in pyproject.toml); this shows the complexity findings alone.
complexity: setup ## McCabe complexity <= 12 for every function in src/
	$(BIN)/ruff check --select C90 src

# Markdown files only: pointing the snippet runner at docs/ would import (and
# so execute) every notebook page as a module.
DOC_MARKDOWN := README.md $(shell find docs -name '*.md' -not -path 'docs/vendor/*' | sort)

# Niced: in `make test` the strict build runs beside the tests, and the links and
# browser checks wait for it, so it gets a core of its own first.
unit: setup ## all tests except the browser test, then the Markdown pages' snippets
	nice -n 10 $(BIN)/python -m pytest -n $(WORKERS) -m "not browser" --durations=15 tests
	$(BIN)/python -m pytest --markdown-docs --markdown-docs-syntax=superfences -p no:cacheprovider $(DOC_MARKDOWN)

# Recorded runs (docs/results/) must match today's code; CPU runs are replayed.
results: setup ## every recorded result in docs/results/ matches the code (cnnbook results check)
	@start=$$(date +%s); \
	$(BIN)/cnnbook results check; \
	echo "results check took $$(( $$(date +%s) - start )) s"

# The quick loop while editing: tests marked slow or browser still run in `make test`.
fast: setup ## unit tests without the slow and browser ones
	$(BIN)/python -m pytest -n $(WORKERS) -m "not slow and not browser" -q -p no:cacheprovider tests

linkcheck: build ## internal links and anchors of the built site
	$(BIN)/python tests/run_linkchecker.py

# Debian's chromium drives the browser test; install it when it is missing.
browser-deps: ## install Debian's chromium when no Chromium is found
	@if ! $(BIN)/python tests/browser/find_chromium.py >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

# SCREENSHOTS=1 first saves every page, light and dark, at 1280 and 390 px, to
# artifacts/screenshots/pages/ (git-ignored), for a person to look at.
SCREENSHOTS ?=
browser: build browser-deps ## drive chromium against the built site (offline, math, layout, screenshots)
	$(if $(SCREENSHOTS),$(BIN)/python tests/browser/screenshots.py)
	$(BIN)/python -m pytest -m browser tests/browser

# Two jobs at a time, output grouped per target: the strict build starts first and
# runs beside lint, types and the unit tests; links and the browser test follow it.
test: setup ## everything CI checks: lint, types, recorded results, tests, snippets, build, links, browser
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j2 --output-sync=target \
		build lint typecheck results unit linkcheck browser; \
	echo "make test took $$(( $$(date +%s) - start )) s"

# Local version labels (+cu130, +cpu) are dropped so one lock serves CPU and CUDA wheels.
lock: $(BIN)/python ## re-pin requirements/lock.txt from .venv/
	{ echo "# Exact versions used by \`make\` and CI (pip constraints). Users installing the"; \
	  echo "# package get the ranges from pyproject.toml instead. Regenerate with \`make lock\`."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^cnnbook' \
	    | sed -E 's/^([A-Za-z0-9_.-]+)==([^+ ]+)\+[A-Za-z0-9.]+$$/\1==\2/'; } > requirements/lock.txt.new
	mv requirements/lock.txt.new requirements/lock.txt

clean: ## remove site/, caches (executed pages included) and artifacts
	rm -rf site .cache artifacts
