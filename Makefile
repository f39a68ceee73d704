# Two commands on a fresh machine: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint fix check bench browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/nicepick serve --host 127.0.0.1 --port 8000

# Debian packages the tests drive: Chromium (browser tests) and nginx (the multi-instance
# test runs deploy/nginx.conf). Installed only when missing (root here, sudo elsewhere).
APT_INSTALL = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq

browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x /usr/sbin/nginx ]; then \
	  echo "installing chromium and nginx (Debian packages) for the tests"; \
	  $(APT_INSTALL) chromium nginx-light >/dev/null; \
	fi
	@# axe-core (pinned in package.json) is injected into pages by the accessibility tests;
	@# vnu-jar, the Nu Html Checker, validates every page type and runs on Java.
	@if ! command -v java >/dev/null; then \
	  echo "installing Java (Debian package) for the HTML checker"; \
	  $(APT_INSTALL) default-jre-headless >/dev/null; \
	fi
	@if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -f node_modules/vnu-jar/build/dist/vnu.jar ]; then \
	  npm install --no-audit --no-fund --no-package-lock --silent; \
	fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fix: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: $(STAMP)
	$(BIN)/nicepick check

test: $(DEV_STAMP) browser lint
	$(BIN)/pytest

bench: $(DEV_STAMP) browser
	@# wrk drives the load; Hugo is the static-export yardstick (both Debian packages).
	@if ! command -v wrk >/dev/null || ! command -v hugo >/dev/null; then \
	  $(APT_INSTALL) wrk hugo >/dev/null; \
	fi
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
