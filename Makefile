# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: run test install demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install   ## the nightly pipeline once, on the embedded demo
	$(BIN)/repwatch demo

test: install
	$(BIN)/python -m pytest -q

bench: install  ## detection quality, detector speed, pipeline speed; needs ../shared/data/nab-realtweets
	$(BIN)/python -m benchmarks.spikes ../shared/data/nab-realtweets --loo --offsets
	$(BIN)/python -m benchmarks.real_stress ../shared/data/nab-realtweets
	$(BIN)/python -m benchmarks.synthetic
	$(BIN)/python -m benchmarks.speed
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.sentiment tests/fixtures/sentiment/customer_service.csv

clean:
	rm -rf $(VENV) data outbox .pytest_cache
