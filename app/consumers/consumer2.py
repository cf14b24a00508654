#!/usr/bin/env python3
"""consumer2: `python app/consumers/consumer2.py --config FILE`, until stopped (SIGTERM).

The same as `monitoring --config FILE consumer2`; what it reads and writes is monitoring.wiring's.
"""
import sys

from monitoring.cli import main

sys.exit(main(["consumer2", *sys.argv[1:]], prog="consumer2.py"))
