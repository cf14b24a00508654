"""The producer shell: rows of the data file (or this machine, live) to the topics."""
