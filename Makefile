# The two commands of the README:
#   make run   - install, migrate, load the demo project and serve it on 127.0.0.1:$(PORT)
#   make test  - install what the tests need (packages, Chromium), lint, and run the whole suite
# DATABASE_URL selects PostgreSQL for either; SQLite is the default.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run serve test chromium lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py demo --url http://127.0.0.1:$(PORT)/
# process_imports imports the big web uploads in the background; it stops with the server.
	DEBUG=$${DEBUG:-1} $(PY) manage.py process_imports & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver --noreload 127.0.0.1:$(PORT)

# As on a server (docs: Deploy): DEBUG off unless set, static files collected and
# compressed, gunicorn with $(WEB_CONCURRENCY) worker processes. Settings from the environment.
WEB_CONCURRENCY ?= 4
serve: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput
	$(PY) manage.py process_imports & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m gunicorn workbench.wsgi:application --bind 127.0.0.1:$(PORT) \
		--workers $(WEB_CONCURRENCY) --worker-class workbench.serving.SyncWorker \
		--timeout 120 --access-logfile - --no-control-socket

# The browser tests drive Debian's Chromium: Playwright cannot download its own here.
chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi; \
	if [ ! -x /usr/bin/chromium ]; then \
		echo "The browser tests need Debian's Chromium at /usr/bin/chromium and it could not be installed: run 'apt-get install chromium' as root." >&2; \
		exit 1; \
	fi

test: $(VENV)/.test-installed chromium
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .

# BENCH_ARGS="--quick" tries it in minutes; "--sizes 1000,100000 --db sqlite" and more:
# bench/README.md.
bench: $(VENV)/.test-installed
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
