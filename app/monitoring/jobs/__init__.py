"""The Spark batch jobs: each reads one consumer's two CSVs and writes one team CSV (monitoring.wiring.JOBS)."""
