"""config.yaml from disk: read and parsed here, validated by the core's rules (monitoring.core.config)."""
from __future__ import annotations

from pathlib import Path

from .core.config import Config, ConfigError, config_from_mapping


# `--config -`: the config from standard input (site.yml's preflight checks each machine's rendered
# config.yaml so, without a file); its relative paths are relative to the working directory.
STDIN = "-"


def load_config(path: str | Path) -> Config:
    """Read and validate a config file (or standard input); every failure is a ConfigError naming it."""
    if str(path) == STDIN:
        return _parse(_read_stdin(), Path("<stdin>"), base=Path.cwd())
    path = Path(path).resolve() if path else Path("config.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    return _parse(text, path)


def _read_stdin() -> str:
    import sys

    try:
        return sys.stdin.buffer.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"<stdin>: cannot read it ({exc})") from None


def _parse(text: str, path: Path, base: Path | None = None) -> Config:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    try:
        return config_from_mapping(data, path, base)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
