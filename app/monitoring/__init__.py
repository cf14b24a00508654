"""Server monitoring: a Kafka producer, two consumers and two Spark batch jobs (see docs/architecture.md).

`monitoring.wiring` says what flows where; `monitoring.core` is what it means (pure); the rest are
the shells that connect it to Kafka, Spark and files; `monitoring.cli` is the one command line.
"""
__version__ = "1.0.0"
