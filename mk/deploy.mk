# Deployment with Ansible (site.yml, run-analysis.yml, fetch-results.yml; see docs/deployment.md).
#
#   make wheelhouse   build/wheelhouse/: wheels of app/requirements.txt and app/requirements-spark.txt,
#                     for app_wheelhouse_src
#   make lint         ansible-lint (production profile), syntax checks, role specs, template renders

WHEELHOUSE := build/wheelhouse

.PHONY: wheelhouse lint
wheelhouse: $(WHEELHOUSE)/.built

# A file target: rebuilt only when a requirements file changes. pyspark is a source archive on
# PyPI (about 450 MB): pip builds its wheel once here, and the consumers install it offline.
$(WHEELHOUSE)/.built: app/requirements.txt app/requirements-spark.txt | $(VENV)/.installed
	mkdir -p $(WHEELHOUSE)
	$(VENV)/bin/pip wheel --quiet --disable-pip-version-check -r app/requirements.txt -r app/requirements-spark.txt -w $(WHEELHOUSE)
	touch $@

lint: setup
	$(VPY) -m pytest -q tests/lint
