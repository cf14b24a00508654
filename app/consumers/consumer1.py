#!/usr/bin/env python3
"""consumer1: `python app/consumers/consumer1.py --config FILE`, until stopped (SIGTERM).

The same as `monitoring --config FILE consumer1`; what it reads and writes is monitoring.wiring's.
"""
import sys

from monitoring.cli import main

sys.exit(main(["consumer1", *sys.argv[1:]], prog="consumer1.py"))
