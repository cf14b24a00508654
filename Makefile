# The two commands a newcomer needs: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
KAFKA_VERSION ?= 4.1.1

.PHONY: help setup test
help:
	@echo "make setup   - create .venv with the app, Ansible and test dependencies"
	@echo "make demo    - the whole pipeline on the local four-host lab (root)"
	@echo "make test    - lint, unit, integration and end-to-end tests (root)"
	@echo "make bench   - benchmarks (not part of make test)"

# The virtualenv is rebuilt when a requirements file changes.
setup: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt app/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

include $(wildcard mk/*.mk)
