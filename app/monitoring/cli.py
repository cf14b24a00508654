#!/usr/bin/env python3
"""The pipeline's one command line: every role, every helper.

    python app/main.py --config FILE ROLE [options]

Exit codes: 0 success; 1 a runtime failure (broker unreachable, job failed, wait timed out);
2 bad usage, bad config or bad input. A failure always ends with one line on stderr naming it.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent
sys.path.insert(0, str(APP))

from pipeline.config import ConfigError, load_config  # noqa: E402

ROLES = {
    "producer": "publish the data file (or, with --source live, this machine's own metrics) to the four topics",
    "consumer1": "consume topic-cpu and topic-mem into cpu_data.csv and mem_data.csv, until stopped",
    "consumer2": "consume topic-net and topic-disk into net_data.csv and disk_data.csv, until stopped",
    "spark-job1": "window averages of CPU and memory with alerts -> team_<N>_CPU_MEM.csv",
    "spark-job2": "window maxima of network-in and disk I/O with alerts -> team_<N>_NET_DISK.csv",
    "check-config": "validate the config file and print what it says",
    "wait-caught-up": "wait until a consumer has written everything produced so far",
    "generate": "write a deterministic sample data file (needs no --config)",
}


class Failure(Exception):
    """A failure of the run: (exit code, one line)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="main.py",
        description="Real-time server monitoring: Kafka producer, consumers and Spark jobs.",
        epilog="Run 'main.py ROLE --help' for a role's options.")
    p.add_argument("--config", metavar="FILE", default=os.environ.get("MONITORING_CONFIG"),
                   help="the config.yaml (default: $MONITORING_CONFIG)")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    sub = p.add_subparsers(dest="role", metavar="ROLE", required=True)
    roles = {name: sub.add_parser(name, help=text, description=text) for name, text in ROLES.items()}

    prod = roles["producer"]
    prod.add_argument("--source", choices=("file", "live"), help="the data file (default) or this machine, sampled")
    prod.add_argument("--mode", choices=("fast", "rate", "replay"),
                      help="fast: as fast as possible; rate: --rate rows/s; replay: at the pace of ts, --speedup x")
    prod.add_argument("--rate", type=float, help="rows per second for --mode rate")
    prod.add_argument("--speedup", type=float, help="replay this many times faster than the ts")
    prod.add_argument("--interval", type=float, help="seconds between live samples")
    prod.add_argument("--data", metavar="FILE", help="the data file (default: data_file of the config)")
    for job in ("spark-job1", "spark-job2"):
        roles[job].add_argument("--master", help="Spark master URL (default: spark.master of the config)")
    wait = roles["wait-caught-up"]
    wait.add_argument("consumer", choices=("consumer1", "consumer2"))
    wait.add_argument("--timeout", type=float, default=600.0, help="seconds to wait at most (default 600)")
    gen = roles["generate"]
    gen.add_argument("--out", required=True, metavar="FILE", help="where to write the CSV")
    gen.add_argument("--servers", type=int, default=20)
    gen.add_argument("--hours", type=float, default=2.0)
    gen.add_argument("--interval", type=int, default=5, help="seconds between a server's rows")
    gen.add_argument("--start", default="10:00:00", help="HH:MM:SS or 'YYYY-MM-DD HH:MM:SS'")
    gen.add_argument("--seed", type=int, default=42)
    return p


def _positive(name: str, value):
    if value is not None and not value > 0:
        raise Failure(2, f"{name} must be > 0 (got {value:g})")
    return value


def _load(args):
    if not args.config:
        raise Failure(2, "no config: give --config FILE (or set MONITORING_CONFIG)")
    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise Failure(2, f"config error: {exc}") from None


def _spark_job(file_name: str):
    path = APP / "spark-jobs" / file_name
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dispatch(args) -> int:
    if args.role == "generate":
        from pipeline import generator

        spec = generator.Spec(servers=args.servers, hours=args.hours, interval=args.interval,
                              start=args.start, seed=args.seed)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", newline="") as f:
            f.write(",".join(generator.header()) + "\n")
            n = 0
            for row in generator.rows(spec):
                f.write(",".join(row) + "\n")
                n += 1
        logging.getLogger("generate").info("wrote %d rows to %s", n, out)
        return 0

    cfg = _load(args)
    if args.role == "check-config":
        print(f"{cfg.path}: OK: team {cfg.team_number}, broker {', '.join(cfg.kafka.bootstrap_servers)}, "
              f"output {cfg.output_dir}, window {cfg.window.duration_seconds}s/{cfg.window.slide_seconds}s")
        return 0
    if args.role == "producer":
        from producer.producer import ProducerError, run

        p = cfg.producer
        try:
            return run(cfg, source=args.source or p.source, mode=args.mode or p.mode,
                       rate=_positive("--rate", args.rate) or p.rate,
                       speedup=_positive("--speedup", args.speedup) or p.speedup,
                       interval=_positive("--interval", args.interval) or p.live_interval_seconds,
                       data_file=Path(args.data) if args.data else cfg.data_file)
        except ProducerError as exc:
            raise Failure(1, str(exc)) from None
    if args.role in ("consumer1", "consumer2"):
        from consumers.consumer import ConsumerError, run

        try:
            return run(cfg, args.role)
        except ConsumerError as exc:
            raise Failure(1, str(exc)) from None
    if args.role == "wait-caught-up":
        from consumers.caught_up import NotCaughtUp, wait

        try:
            return wait(cfg, args.consumer, args.timeout)
        except NotCaughtUp as exc:
            raise Failure(1, str(exc)) from None
    job = _spark_job("spark_job1.py" if args.role == "spark-job1" else "spark_job2.py")
    try:
        return job.main(cfg, args.master)
    except job.JobError as exc:
        raise Failure(1, f"{args.role}: {exc}") from None


def cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # kafka-python logs every retry while a broker restarts (dozens of lines a second); the app's own
    # lines say what matters. --log-level DEBUG shows them all.
    logging.getLogger("kafka").setLevel(logging.DEBUG if args.log_level == "DEBUG" else logging.CRITICAL)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        return _dispatch(args)
    except Failure as exc:
        print(f"main.py {args.role}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
