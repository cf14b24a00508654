"""consumer1: topic-cpu and topic-mem into cpu_data.csv and mem_data.csv.

Run it as `python app/main.py --config FILE consumer1`.
"""
from .consumer import run


def main(cfg) -> int:
    return run(cfg, "consumer1")
