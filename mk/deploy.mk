# Deployment with Ansible (site.yml, run-analysis.yml, fetch-results.yml; see docs/deployment.md).
#
#   make wheelhouse   build/wheelhouse/: the app's own wheel (monitoring-<version>-py3-none-any.whl,
#                     what the hosts install) and the wheels of app/requirements.txt and
#                     app/requirements-spark.txt (for app_wheelhouse_src)
#   make app-wheel    the app's wheel alone
#   make lint         ansible-lint (production profile), syntax checks, role specs, template renders

WHEELHOUSE := build/wheelhouse
# The hosts' Pythons (Debian 12: 3.11, Ubuntu 24.04: 3.12, Debian 13: 3.13): the compiled wheels of
# app/requirements.txt (crc32c, PyYAML) are fetched for each, as PyPI publishes them.
WHEELHOUSE_PYTHONS := 3.11 3.12 3.13
WHEELHOUSE_PLATFORMS := manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_12_x86_64 \
	manylinux2010_x86_64 manylinux_2_5_x86_64 manylinux1_x86_64
# Every file and folder of the package: a folder's time changes when a file in it is added,
# removed or renamed, so a deleted module rebuilds the wheel too.
APP_WHEEL_INPUTS := app/pyproject.toml $(shell find app/monitoring -name __pycache__ -prune -o -print)
# The wheel's files carry this time instead of their own: the same code gives the same bytes, so
# a rebuild without a change has the same digest and the hosts reinstall nothing.
APP_WHEEL_EPOCH := 315532800

.PHONY: wheelhouse app-wheel lint
wheelhouse: $(WHEELHOUSE)/.built $(WHEELHOUSE)/.app-built
app-wheel: $(WHEELHOUSE)/.app-built

# A file target: rebuilt only when a requirements file changes. pyspark is a source archive on
# PyPI (about 450 MB): pip builds its wheel once here, and the consumers install it offline.
$(WHEELHOUSE)/.built: app/requirements.txt app/requirements-spark.txt | $(VENV)/.installed
	mkdir -p $(WHEELHOUSE)
	$(VENV)/bin/pip wheel --quiet --disable-pip-version-check -r app/requirements.txt -r app/requirements-spark.txt -w $(WHEELHOUSE)
	for v in $(WHEELHOUSE_PYTHONS); do \
		$(VENV)/bin/pip download --quiet --disable-pip-version-check --only-binary=:all: --implementation cp \
			--python-version $$v $(addprefix --platform ,$(WHEELHOUSE_PLATFORMS)) -r app/requirements.txt -d $(WHEELHOUSE) || exit 1; \
	done
	touch $@

# The app's wheel, rebuilt when a file of the package changes. Built from a fresh copy of the
# package: setuptools keeps a build/ folder in the source tree, whose leftovers (a module deleted
# since) would end up in the wheel.
$(WHEELHOUSE)/.app-built: $(APP_WHEEL_INPUTS) | $(VENV)/.installed
	mkdir -p $(WHEELHOUSE)
	rm -f $(WHEELHOUSE)/monitoring-*.whl
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  cp -r app/pyproject.toml app/monitoring "$$tmp"/ && \
	  find "$$tmp" -name __pycache__ -prune -exec rm -rf {} + && \
	  SOURCE_DATE_EPOCH=$(APP_WHEEL_EPOCH) $(VENV)/bin/pip wheel --quiet --disable-pip-version-check --no-deps "$$tmp" -w $(WHEELHOUSE)
	touch $@

lint: setup
	$(VPY) -m pytest -q tests/lint
