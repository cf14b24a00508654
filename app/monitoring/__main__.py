"""`python -m monitoring`: the same command line as the `monitoring` console script."""
import sys

from monitoring.cli import main

sys.exit(main())
