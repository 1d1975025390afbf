# The two commands of the README. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install sysdeps lint migrations-check screenshots bench clean

run: install
	./scripts/run-dev.sh

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

install: sysdeps $(STAMP)

sysdeps:
	@./scripts/ensure-system-deps.sh

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var/db.sqlite3 var/broker var/media

# Full-page screenshots of every portal page against the demo data, in var/screenshots/ (Debian's
# Chromium at /usr/bin/chromium, driven by Playwright; see docs/portal.md).
screenshots: install
	PORTAL_SCREENSHOTS=demo $(PY) -m pytest tests/portal/test_page_walk.py -p no:cacheprovider -q
	@ls var/screenshots/*.png

# Scale benchmark (issue #11, docs/benchmarks.md "Scale benchmark"): re-creates the benchmark database
# (its name must contain "bench"), migrates it, builds the synthetic MSP and measures. BENCH_ARGS, e.g.
# "--scale 0.1 --no-load" (quick run, no gunicorn + wrk); DATABASE_URL defaults to the mis_bench database.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mis_bench
bench: install
	export DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" CELERY_BROKER_URL=memory:// && \
	$(PY) -m bench.db && $(PY) manage.py migrate --noinput -v 0 && $(PY) manage.py bench $(BENCH_ARGS)
