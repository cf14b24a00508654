"""consumer2: topic-net and topic-disk into net_data.csv and disk_data.csv.

Run it as `python app/main.py --config FILE consumer2`.
"""
from .consumer import run


def main(cfg) -> int:
    return run(cfg, "consumer2")
