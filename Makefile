# One command runs the node (make demo), one command passes the tests (make test).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/jointwatch/web/static/vendor/.stamp

.PHONY: demo test lint bench bench-day web clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(VENDOR): web/package.json web/package-lock.json scripts/vendor_web.sh
	bash scripts/vendor_web.sh

install: $(STAMP) $(VENDOR)

web: $(VENDOR)

demo: install
	$(BIN)/jointwatch demo

test: install
	# Compile the decoder and detectors once, before the two workers each start nodes.
	$(BIN)/python -m jointwatch.warmup
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/run.py

# A 10 GB file (130 million lines) through `jointwatch ingest --direct`; needs ~27 GB of disk.
bench-day: install
	$(BIN)/python benchmarks/global_day.py

clean:
	rm -rf $(VENV) web/node_modules src/jointwatch/web/static/vendor
