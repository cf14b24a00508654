#!/usr/bin/env python3
"""spark-job2: `python app/spark-jobs/spark_job2.py --config FILE [--master URL]`, or with the
virtualenv's spark-submit: `spark-submit app/spark-jobs/spark_job2.py --config FILE`.

The same as `monitoring --config FILE spark-job2`; what it reads and writes is monitoring.wiring's.
"""
import sys

from monitoring.cli import main

sys.exit(main(["spark-job2", *sys.argv[1:]], prog="spark_job2.py"))
