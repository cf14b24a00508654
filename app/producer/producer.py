#!/usr/bin/env python3
"""The producer: `python app/producer/producer.py --config FILE [producer options]`.

The same as `monitoring --config FILE producer`; the code is monitoring.producer.
"""
import sys

from monitoring.cli import main

sys.exit(main(["producer", *sys.argv[1:]], prog="producer.py"))
