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
	@echo "make wiring  - write playbooks/vars/wiring.yml from app/monitoring/wiring.py"

# The virtualenv is rebuilt when a requirements file or the app's pyproject.toml changes. The app
# is installed editable (its code changes take effect at once); its dependencies come pinned from
# the requirements, hence --no-deps.
setup: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt app/requirements.txt app/requirements-spark.txt app/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	$(VENV)/bin/pip install -q --no-deps -e app
	touch $@

include $(wildcard mk/*.mk)
