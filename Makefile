# The project's two set-up commands (see README.md):
#   make demo   run the main job on the embedded default store (no Neo4j, no GPU, no network)
#   make test   run the test suite, with a real Neo4j started from Maven Central's jars
# Both create the virtual environment on first use. It is cached outside the clone, keyed by the
# dependency files, so later runs (and CI) reuse it; the project itself is re-installed (editable,
# no deps, a few seconds) each time so the venv always points at this checkout.

SHELL := /bin/bash
PYTHON ?= python3
LMLM_CACHE ?= $(HOME)/.cache/lmlm
# Keyed by the pins and the dependency lists only (not by pytest/ruff settings in pyproject.toml).
EXTRAS ?= dev,neo4j,train,annotate,eval,app
DEPS_KEY := $(shell { cat constraints.txt; sed -n '/^dependencies = \[/,/^\[project.scripts\]/p' pyproject.toml; echo "$(EXTRAS)"; } | sha256sum | cut -c1-16)
VENV ?= $(LMLM_CACHE)/venv-$(DEPS_KEY)
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test venv lint bench-kg clean-venvs print-python

$(VENV)/.complete:
	@echo "creating $(VENV) (first run only: torch is large, this takes a few minutes)"
	rm -rf "$(VENV)"
	$(PYTHON) -m venv "$(VENV)"
	"$(PY)" -m pip install -q --upgrade pip
	"$(PY)" -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	touch "$@"

venv: $(VENV)/.complete
	@"$(PY)" -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1 || { echo "error: installing the project into $(VENV) failed" >&2; exit 1; }

demo: venv
	"$(VENV)/bin/lmlm" demo

# Starts the test Neo4j unless NEO4J_URI points at one already; stops it afterwards.
# pytest's exit code 5 (no test selected) is a failure here, not a pass.
test: venv
	@set -euo pipefail; \
	if [ -z "$${NEO4J_URI:-}" ]; then \
	  eval "$$(LMLM_PYTHON="$(PY)" docker/neo4j-test/run.sh start)"; \
	  trap 'docker/neo4j-test/run.sh stop' EXIT; \
	fi; \
	rc=0; "$(PY)" -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest selected no tests" >&2; exit 1; fi; \
	exit $$rc

lint: venv
	"$(VENV)/bin/ruff" check . && "$(VENV)/bin/ruff" format --check .

bench-kg: venv
	"$(PY)" -m lmlm.evaluation.bench.kg_bench $(BENCH_ARGS)

print-python:
	@echo "$(PY)"

clean-venvs:
	rm -rf "$(LMLM_CACHE)"/venv-*
