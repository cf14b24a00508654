# make demo: the whole pipeline on the local four-host lab (root). See lab/demo.sh.
.PHONY: demo
demo: setup kafka-dist spark-kafka-dist wheelhouse lab-deps
	bash lab/demo.sh
