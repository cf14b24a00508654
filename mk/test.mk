# make test: everything, in one pytest run (fast tests first, the lab deployment last).
PYTEST := $(VPY) -m pytest
TEST_ORDER := tests/unit tests/lint tests/browser tests/integration tests/e2e

.PHONY: test test-fast test-e2e
test: setup kafka-dist spark-kafka-dist wheelhouse lab-deps browser-deps
	$(PYTEST) $(TEST_ORDER)

# No lab, no root: the core, lint, the pages in a browser, and real Kafka + Spark on loopback.
test-fast: setup kafka-dist spark-kafka-dist browser-deps
	$(PYTEST) tests/unit tests/lint tests/browser tests/integration

test-e2e: setup kafka-dist spark-kafka-dist wheelhouse lab-deps
	$(PYTEST) tests/e2e
