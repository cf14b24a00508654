"""config.yaml from disk: read and parsed here, validated by the core's rules (monitoring.core.config)."""
from __future__ import annotations

from pathlib import Path

from .core.config import Config, ConfigError, config_from_mapping


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; every failure is a ConfigError naming the file."""
    import yaml

    path = Path(path).resolve() if path else Path("config.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    try:
        return config_from_mapping(data, path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
