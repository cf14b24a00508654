"""reset: remove a consumer's files on purpose, to start a new series (site.yml --tags reset).

The consumer must be stopped first (the reset play does it): its checkpoint is removed with its
CSVs, so it reads its topics again from the start, which the play has emptied.
"""
from __future__ import annotations

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
    found += [out / job.output_name(cfg.team_number) for job in JOBS.values() if job.consumer == role]
    return found


def reset(cfg: Config, role: str) -> list[Path]:
    """Remove the consumer's files; the ones that were there, in order."""
    removed = []
    for path in files_of(cfg, role):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
