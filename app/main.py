#!/usr/bin/env python3
"""The seed's entry point: `python app/main.py --config FILE ROLE`, the same as the `monitoring` command."""
import sys

from monitoring.cli import main

sys.exit(main(prog="main.py"))
