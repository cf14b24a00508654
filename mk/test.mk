# make test: everything, in one pytest run (fast tests first, the lab deployment last). The lab's
# plaintext session runs without the live path (E2E_LIVE=1 make test-e2e: with it); the secured one with it.
# The lab's other topologies (sudo login, Debian 13, the seven-host mix; marker lab_topologies) each bring
# their own lab up from scratch: make test-topologies runs them (README.md, "Tests", has the times).
PYTEST := $(VPY) -m pytest
TEST_ORDER := tests/unit tests/lint tests/browser tests/integration tests/e2e
NOT_TOPOLOGIES := -m "not lab_topologies"

.PHONY: test test-fast test-e2e test-topologies
test: setup kafka-dist spark-kafka-dist wheelhouse lab-deps browser-deps
	$(PYTEST) $(NOT_TOPOLOGIES) $(TEST_ORDER)

# No lab, no root: the core, lint, the pages in a browser, and real Kafka + Spark on loopback.
test-fast: setup kafka-dist spark-kafka-dist browser-deps
	$(PYTEST) tests/unit tests/lint tests/browser tests/integration

test-e2e: setup kafka-dist spark-kafka-dist wheelhouse lab-deps browser-deps
	$(PYTEST) $(NOT_TOPOLOGIES) tests/e2e

test-topologies: setup kafka-dist spark-kafka-dist wheelhouse lab-deps
	$(PYTEST) -m lab_topologies tests/e2e
