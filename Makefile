# The two commands a new user needs:  make run   (whole system on 127.0.0.1:8080, no AWS account)
#                                     make test  (lint, template check, all test tiers)
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8080
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint install clean clean-data sam-build bench

# constraints.txt pins every version (the layer's requirements.txt pins the same ones for sam build).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m mjproxy.local --port $(PORT)

lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/ruff check .

# Three workers on two cores: the local tier's tests mostly wait on a running system (steps of
# 1 s, browsers), so a third process keeps the cores busy. One file runs in one worker, since a
# file's tests share its module fixtures (one local system each). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3
test: lint
	$(BIN)/pytest -p no:cacheprovider --disable-socket --allow-unix-socket \
		-n $(TEST_WORKERS) --dist loadfile tests

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Optional: SAM CLI in its own virtualenv (it pins boto3/pydantic versions of its own).
sam-build:
	$(PYTHON) -m venv .sam-venv
	.sam-venv/bin/pip install --quiet aws-sam-cli
	SAM_CLI_TELEMETRY=0 .sam-venv/bin/sam build

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache

# Wipe what `make run` keeps (tasks, images, queued jobs): local-data/, or MJ_DATA_DIR if set.
clean-data:
	rm -rf "$${MJ_DATA_DIR:-local-data}"
