# Two commands: `make demo` and `make test`. Each sets up .venv and a Chromium by itself;
# a second run does no reinstall work.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BROWSER_STAMP := $(VENV)/.browser-stamp

.PHONY: demo test lint typecheck bench setup browser postgres registry clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(BROWSER_STAMP): $(STAMP)
	$(PY) -m webmem.browser --ensure
	touch $(BROWSER_STAMP)

setup: $(BROWSER_STAMP)

browser: $(STAMP)
	$(PY) -m webmem.browser --ensure

demo: setup
	$(VENV)/bin/webmem demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# the batch tests start a real PostgreSQL server of their own on 127.0.0.1 (Debian's package)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq postgresql)

# the sharing tests push to and pull from a real OCI registry of their own on 127.0.0.1 (Debian's package)
registry:
	@command -v docker-registry >/dev/null || (apt-get update -qq && apt-get install -y -qq docker-registry)

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: setup lint typecheck postgres registry
	# three workers on two cores: the browser tests mostly wait on pages and servers (8 min 40 s vs ~9 min 15 s with two)
	$(PY) -m pytest -q -n 3

bench: setup
	$(PY) bench/replay_overhead.py
	$(PY) bench/heal.py
	$(PY) bench/cache.py
	$(PY) bench/mcp_hits.py
	$(PY) bench/batch.py

clean:
	rm -rf $(VENV) out .pytest_cache
