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
