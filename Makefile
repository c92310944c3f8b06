# Qinglan — `make demo` runs the app on SQLite with demo data; `make test` runs the test suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python >= 3.12 that actually runs (pyenv shims for versions not selected fail, so each
# candidate is tried).
PYTHON ?= $(shell for c in python3.13 python3.12 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3 /usr/bin/python3 python3; do \
	if $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then echo $$c; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
QINGLAN := $(BIN)/qinglan
PYTEST_ARGS ?=

.PHONY: help setup demo test serve worker clean python-check

help:
	@echo "make demo   set up, then run Qinglan with demo data on SQLite (http://127.0.0.1:8000/)"
	@echo "make test   set up, then run the whole test suite"

python-check:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Qinglan needs Python 3.12 or newer, and none was found."; \
		echo "Install one (e.g. 'apt-get install python3.12 python3.12-venv', or 'pyenv install 3.13'), then run make again."; \
		exit 1; fi
	@command -v npm >/dev/null 2>&1 || { echo "Qinglan needs Node.js 20+ with npm for its front-end packages; install it (e.g. 'apt-get install nodejs npm')."; exit 1; }

$(BIN)/python: | python-check
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json | python-check
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

qinglan/static_vendor/.installed: node_modules/.installed
	rm -rf qinglan/static_vendor/vendor
	mkdir -p qinglan/static_vendor/vendor/bootstrap qinglan/static_vendor/vendor/bootstrap-icons/font
	cp -r node_modules/bootstrap/dist/css node_modules/bootstrap/dist/js qinglan/static_vendor/vendor/bootstrap/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts qinglan/static_vendor/vendor/bootstrap-icons/font/
	mkdir -p qinglan/static_vendor/vendor/bpmn-js
	cp -r node_modules/bpmn-js/dist/bpmn-modeler.production.min.js node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js node_modules/bpmn-js/dist/assets qinglan/static_vendor/vendor/bpmn-js/
	touch $@

setup: $(VENV)/.installed qinglan/static_vendor/.installed
	$(QINGLAN) build_locale

demo: setup
	$(QINGLAN) demo

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules qinglan/static_vendor/vendor qinglan/static_vendor/.installed
