# make demo: the whole pipeline on the local four-host lab (root). See lab/demo.sh.
.PHONY: demo
demo: setup kafka-dist spark-kafka-dist wheelhouse lab-deps
	bash lab/demo.sh

# make demo-live: the four lab hosts monitor themselves; a CPU burn on one raises its alert. See lab/demo-live.sh.
.PHONY: demo-live
demo-live: setup kafka-dist spark-kafka-dist wheelhouse lab-deps
	bash lab/demo-live.sh
