# Deployment with Ansible (site.yml, run-analysis.yml, fetch-results.yml; see docs/deployment.md).
#
#   make wheelhouse   build/wheelhouse/: wheels of app/requirements.txt and app/requirements-spark.txt,
#                     for app_wheelhouse_src
#   make lint         ansible-lint (production profile), syntax checks, role specs, template renders

WHEELHOUSE := build/wheelhouse
# The hosts' Pythons (Debian 12: 3.11, Ubuntu 24.04: 3.12, Debian 13: 3.13): the compiled wheels of
# app/requirements.txt (crc32c, PyYAML) are fetched for each, as PyPI publishes them.
WHEELHOUSE_PYTHONS := 3.11 3.12 3.13
WHEELHOUSE_PLATFORMS := manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_12_x86_64 \
	manylinux2010_x86_64 manylinux_2_5_x86_64 manylinux1_x86_64

.PHONY: wheelhouse lint
wheelhouse: $(WHEELHOUSE)/.built

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

lint: setup
	$(VPY) -m pytest -q tests/lint
