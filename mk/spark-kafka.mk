# Spark's Kafka connector for the streaming jobs (tools/spark-kafka-dist), resolved once on the
# controller. The integration tests put it on the class path; the spark role installs it on the
# consumers (spark_kafka_jars_src).
#
#   make spark-kafka-dist   build (once) and print the folder's path
#
# The connector is built against one exact Spark release, so its version is the pyspark pin's.
# Checked 2026-12-01: the connector resolves for 4.1.1 and 4.2.0; 4.2.1 and 4.3.0 are refused,
# although PyPI serves those pysparks. Hence pyspark==4.2.0 in app/requirements-spark.txt.

SPARK_VERSION := $(shell sed -n 's/^pyspark==//p' app/requirements-spark.txt)
SPARK_KAFKA_DIR := build/spark-kafka
SPARK_KAFKA_JARS = $(SPARK_KAFKA_DIR)/spark-kafka-$(SPARK_VERSION)

.PHONY: spark-kafka-dist
spark-kafka-dist: $(SPARK_KAFKA_JARS)/.built
	@echo $(SPARK_KAFKA_JARS)

$(SPARK_KAFKA_JARS)/.built: app/requirements-spark.txt tools/spark-kafka-dist/build.sh tools/spark-kafka-dist/pom.xml
	@tools/spark-kafka-dist/build.sh $(SPARK_VERSION) $(SPARK_KAFKA_DIR) >/dev/null
	@touch $@
