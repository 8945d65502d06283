# One entry point for readers, contributors and CI.
#   make serve   build the book (executing every page) and serve it on 127.0.0.1:8000
#   make test    everything CI checks: lint, unit tests, examples, snippets,
#                strict build, internal links, browser test
# Both create .venv/ and node_modules/ on first use and skip that work afterwards.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.cnnbook-setup
NODE_STAMP := node_modules/.cnnbook-setup
export PYTHONHASHSEED := 0
export NO_MKDOCS_2_WARNING := 1

.PHONY: help setup serve build test lint unit docs-build linkcheck browser browser-deps lock clean

help:
	@echo "make serve  - build the book and serve it on http://127.0.0.1:8000"
	@echo "make test   - run every check CI runs"
	@echo "make build  - strict build of the site into site/"
	@echo "make setup  - create .venv/ and node_modules/ (done by the targets above)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency declarations change.
$(SETUP_STAMP): $(BIN)/python pyproject.toml requirements/lock.txt
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -c requirements/lock.txt -e '.[docs,test]'
	@touch $@

# MathJax and mermaid are served by the site itself, from these npm packages.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

setup: $(SETUP_STAMP) $(NODE_STAMP)

# --dirty: after the first full build, an edit re-executes only the edited page.
serve: setup
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000 --dirty

build: setup
	@start=$$(date +%s); \
	$(BIN)/mkdocs build --strict --site-dir site; \
	echo "strict build took $$(( $$(date +%s) - start )) s"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/actionlint -color=false .github/workflows/*.yml

# Markdown files only: pointing the snippet runner at docs/ would import (and
# so execute) every notebook page as a module.
DOC_MARKDOWN := README.md $(shell find docs -name '*.md' -not -path 'docs/vendor/*' | sort)

unit: setup
	$(BIN)/python -m pytest -m "not browser" --durations=15 tests
	$(BIN)/python -m pytest --markdown-docs --markdown-docs-syntax=superfences -p no:cacheprovider $(DOC_MARKDOWN)

linkcheck: build
	$(BIN)/python tests/run_linkchecker.py

# Debian's chromium drives the browser test; install it when it is missing.
browser-deps:
	@if ! $(BIN)/python tests/browser/find_chromium.py >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

browser: build browser-deps
	$(BIN)/python -m pytest -m browser tests/browser

test: setup
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory lint unit linkcheck browser; \
	echo "make test took $$(( $$(date +%s) - start )) s"

# Local version labels (+cu130, +cpu) are dropped so one lock serves CPU and CUDA wheels.
lock: $(BIN)/python
	{ echo "# Exact versions used by \`make\` and CI (pip constraints). Users installing the"; \
	  echo "# package get the ranges from pyproject.toml instead. Regenerate with \`make lock\`."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^cnnbook' \
	    | sed -E 's/^([A-Za-z0-9_.-]+)==([^+ ]+)\+[A-Za-z0-9.]+$$/\1==\2/'; } > requirements/lock.txt.new
	mv requirements/lock.txt.new requirements/lock.txt

clean:
	rm -rf site .cache artifacts
