# make test: everything, in one pytest run (fast tests first, the lab deployment last).
PYTEST := $(VPY) -m pytest
TEST_ORDER := tests/unit tests/lint tests/integration tests/e2e

.PHONY: test test-fast test-e2e
test: setup kafka-dist spark-kafka-dist wheelhouse lab-deps
	$(PYTEST) $(TEST_ORDER)

# No lab, no root: the core, lint, and real Kafka + Spark on loopback.
test-fast: setup kafka-dist spark-kafka-dist
	$(PYTEST) tests/unit tests/lint tests/integration

test-e2e: setup kafka-dist spark-kafka-dist wheelhouse lab-deps
	$(PYTEST) tests/e2e
