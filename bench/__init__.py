"""The benchmarks (make bench): run as `python -m bench.run` from the checkout. See bench/README.md."""
