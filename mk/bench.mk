# make bench: the pipeline's benchmarks on this machine (not part of make test). See bench/README.md.
#
#   make bench                 producer, ingest end to end, Spark, the live path, and the deployment on the lab
#   make bench BENCH_LAB=0     the same without the lab (no root, no lab-deps, no wheelhouse needed)
#   make bench BENCH_RUNS=5    more runs per figure (default 3; the median and min-max are reported)
#   make bench-report          render bench/results.md and bench/spark_scaling.png again from results.json
#
# The lab part runs only if the lab is down when it starts (it may be someone else's); it purges the
# hosts' disks for a fresh deployment and takes the lab down again at the end.

BENCH_LAB ?= 1
BENCH_RUNS ?= 3
BENCH_ARGS ?=
BENCH_DEPS := setup kafka-dist spark-kafka-dist $(if $(filter 1,$(BENCH_LAB)),wheelhouse lab-deps)

.PHONY: bench bench-report
bench: $(BENCH_DEPS)
	$(VPY) -m bench.run --runs $(BENCH_RUNS) --lab $(BENCH_LAB) $(BENCH_ARGS)

bench-report: setup
	$(VPY) -m bench.report
