# Kafka archive built from Maven Central jars (tools/kafka-dist), laid out like
# Apache's kafka_2.13-<version>.tgz. Used by the integration tests
# (tests/support/kafka_broker.py) and handed to the lab as kafka_archive_src.
#
#   make kafka-dist                      build (once) and print the archive's path
#   make kafka-dist KAFKA_VERSION=4.1.0  another 4.x release
#   make kafka-dist-clean                remove build/kafka

KAFKA_VERSION ?= 4.1.1
KAFKA_SCALA_VERSION := 2.13
KAFKA_DIST_DIR := build/kafka
KAFKA_DIST_NAME = kafka_$(KAFKA_SCALA_VERSION)-$(KAFKA_VERSION)
KAFKA_ARCHIVE = $(KAFKA_DIST_DIR)/$(KAFKA_DIST_NAME).tgz
KAFKA_DIST_SRC := tools/kafka-dist/build.sh tools/kafka-dist/pom.xml $(wildcard tools/kafka-dist/config/*.yaml)

.PHONY: kafka-dist kafka-dist-clean
kafka-dist: $(KAFKA_ARCHIVE)
	@echo $(KAFKA_ARCHIVE)

# A file target: nothing runs while the archive exists and is newer than its sources.
$(KAFKA_DIST_DIR)/kafka_$(KAFKA_SCALA_VERSION)-%.tgz: $(KAFKA_DIST_SRC)
	@tools/kafka-dist/build.sh $* $(KAFKA_DIST_DIR) >/dev/null

kafka-dist-clean:
	rm -rf $(KAFKA_DIST_DIR)
