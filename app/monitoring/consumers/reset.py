"""reset: remove a consumer's files on purpose, to start a new series (site.yml --tags reset).

The consumer must be stopped first (the reset play does it): its checkpoint is removed with its
CSVs, so it reads its topics again from the start, which the play has emptied. The live twin of its
job (the stream job, stopped too) loses its live CSV and its checkpoint folder the same way.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..core.config import Config
from ..wiring import CONSUMERS, EVENTS_DIR, JOBS
from .sink import checkpoint_path


def files_of(cfg: Config, role: str) -> list[Path]:
    """What holds a consumer's series: its CSVs, their events copies and moved-aside files, its
    checkpoint, and the team CSV of the job that reads them."""
    out = cfg.output_dir
    found: list[Path] = []
    for csv in CONSUMERS[role].csvs:
        for folder in (out, out / EVENTS_DIR):
            found += [folder / csv, *sorted(folder.glob(f"{csv}.*.aside"))]
    cp = checkpoint_path(out, role)
    found += [cp, cp.with_name(cp.name + ".tmp")]
    for job in (j for j in JOBS.values() if j.consumer == role):
        found.append(out / job.output_name(cfg.team_number))
        found += [out / job.live_csv, *sorted(out.glob(f"{job.live_csv}.*.aside"))]
        found.append(cfg.live.checkpoint_dir / job.stream)     # a folder: Spark's checkpoint and the sink's
    return found


def reset(cfg: Config, role: str) -> list[Path]:
    """Remove the consumer's files; the ones that were there, in order."""
    removed = []
    for path in files_of(cfg, role):
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
