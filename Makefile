# Two commands do everything on a fresh machine:  make demo   and   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SEED ?= 0
N ?= 5000
# The exported champion is refitted on this many fresh synthetic patients (closer to the Bayes ceiling).
REFIT ?= 800000

.PHONY: demo test lint venv browser java serve clean lock

venv: $(VENV)/.installed

# The lock file pins every transitive dependency, so a fresh install is reproducible.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test,spark]"
	touch $@

demo: venv
	$(BIN)/mmn-ddx cohort generate --n $(N) --seed $(SEED) -o data/cohort.parquet
	$(BIN)/mmn-ddx cohort validate data/cohort.parquet --require-label
	$(BIN)/mmn-ddx cohort describe data/cohort.parquet
	$(BIN)/mmn-ddx train --synthetic $(N) --refit-synthetic $(REFIT) --mode at-presentation --seed $(SEED)
	$(BIN)/mmn-ddx train --synthetic $(N) --refit-synthetic $(REFIT) --mode with-treatment --seed $(SEED)
	$(BIN)/mmn-ddx benchmark --quick --n-test 5000 --n-boot 200
	$(BIN)/mmn-ddx predict examples/patient_mmn.json

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here; the
# tests drive /usr/bin/chromium through Playwright's executable_path and skip only if it is absent).
browser:
	@[ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' (browser tests will be skipped)"; fi; }
	@[ -x /usr/bin/chromium ] && /usr/bin/chromium --version 2>/dev/null | head -1 || true

# mypy reads the installed layout (mmn_ddx.data, ...) from a tree of links to the design card's folders:
# setuptools' editable finder maps them at import time, which a static checker does not see.
TYPECHECK := build/typecheck/mmn_ddx

lint: venv
	$(BIN)/ruff check .
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)
	ln -s $(wildcard $(CURDIR)/mmn_ddx/*.py) $(CURDIR)/mmn_ddx/cli $(TYPECHECK)/
	for layer in data features training serving; do ln -s $(CURDIR)/$$layer $(TYPECHECK)/$$layer; done
	MYPYPATH=build/typecheck $(BIN)/mypy -p mmn_ddx

# Debian's Java 17 runtime for Spark (the spark extra; tests/serving/test_spark.py skips only without Java).
java:
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else echo "java missing: run 'sudo apt-get install openjdk-17-jre-headless' (Spark tests will be skipped)"; fi; }
	@java -version 2>&1 | head -1 || true

# ruff, mypy, then the suite (the layer rule is tests/test_layers.py); warnings are errors (pyproject.toml)
test: venv browser java lint
	$(BIN)/python -m pytest -n 2

serve: venv
	$(BIN)/mmn-ddx serve

# Re-pin dependencies after changing pyproject.toml.
lock:
	rm -rf /tmp/mmn-ddx-lock && $(PYTHON) -m venv /tmp/mmn-ddx-lock
	/tmp/mmn-ddx-lock/bin/pip install --quiet . && /tmp/mmn-ddx-lock/bin/pip install --quiet ".[test,spark]"
	/tmp/mmn-ddx-lock/bin/pip freeze --exclude mmn-ddx > requirements.lock

# What the demo made: the venv, the cohorts, and the run-time outputs in the home directory
# (mmn_ddx/settings.py: $$MMN_DDX_HOME, else here).
RUN_HOME := $(or $(MMN_DDX_HOME),.)
clean:
	rm -rf $(VENV) build mmn_ddx.egg-info data/*.parquet data/*.csv
	rm -rf $(addprefix $(RUN_HOME)/,mlruns mlruns.db mlruns.db.lock mlartifacts models/mmn-ddx \
	  models/mmn-ddx-with-treatment reports data/cohort.parquet)
