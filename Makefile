# PlantOS: `make demo` runs the demo plant, `make test` runs every test.
# Both set up what they need first (virtual environment, Debian packages).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench lint setup system-deps clean lock audit-deps

demo: $(STAMP)
	$(VENV)/bin/plantos demo

test: $(STAMP) system-deps
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$rc

bench: $(STAMP)
	$(PY) bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

setup: $(STAMP)

# Known vulnerabilities in the locked dependencies (pip-audit): a report, never a failed
# build, also when the vulnerability service cannot be reached.
audit-deps: $(STAMP)
	@if [ -f requirements.lock ]; then set -- -r requirements.lock --no-deps --disable-pip; \
	else set -- --local; fi; \
	$(VENV)/bin/pip-audit "$$@" --progress-spinner off --timeout 20 \
	|| echo "pip-audit: findings above, or the service could not be reached (report only)"

$(STAMP): pyproject.toml requirements.lock scripts/bootstrap.sh
	PYTHON=$(PYTHON) sh scripts/bootstrap.sh $(VENV)
	@touch $@

# Re-resolve requirements.lock from pyproject.toml (UPGRADE=1: newest allowed releases;
# PREFER_INSTALLED=1: a newly added package at the version installed here), then run
# `make test`: the suite judges the refreshed lock.
lock: $(STAMP)
	PYTHON=$(PY) sh scripts/lock.sh

system-deps:
	@sh scripts/system-deps.sh

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
