# Two commands: `make demo` (set up, then run the main job) and `make test` (set up, then run the tests).
# Set-up is incremental: the virtualenv is rebuilt only when pyproject.toml or constraints.txt change.

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=
# test workers: one per core, at most 4 (each builds its own session fixtures); JOBS=0 runs in one process
JOBS    ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: help setup test demo bench lock serve reports clean check-wheel
help:
	@echo "make demo   set up, generate the sample world, analyse it, write reports, serve the dashboard"
	@echo "make test   set up and run the test suite"
	@echo "make bench  run the performance benchmarks in benchmarks/"
	@echo "make lock   re-pin constraints.txt from a fresh resolve of pyproject.toml"
	@echo "make check-wheel  build the wheel, install it into a fresh venv, run check/report/serve outside the repo"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/find-python.sh
	@py=$$(scripts/find-python.sh) || exit 1; \
	 if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	   echo "creating $(VENV) with $$py"; rm -rf $(VENV); "$$py" -m venv $(VENV) || exit 1; \
	 fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,notebooks,spark,mlflow]'
	$(BIN)/workbench kernel install --sys-prefix >/dev/null
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/workbench demo

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lock:
	@py=$$(scripts/find-python.sh) || exit 1; rm -rf .lockvenv && "$$py" -m venv .lockvenv && \
	 .lockvenv/bin/pip install --quiet --upgrade pip && .lockvenv/bin/pip install --quiet '.[test,notebooks,bench]' && \
	 { head -2 constraints.txt; .lockvenv/bin/pip freeze --exclude-editable | grep -v '^experiment-workbench'; } > constraints.new && \
	 mv constraints.new constraints.txt && rm -rf .lockvenv && echo "constraints.txt updated"

check-wheel: $(STAMP)
	scripts/check-wheel.sh

serve: $(STAMP)
	$(BIN)/workbench serve

reports: $(STAMP)
	$(BIN)/workbench report --all --workers 2

clean:
	rm -rf $(VENV) .pytest_cache data/workbench.duckdb data/*.parquet reports/*/ reports/index.html build dist
