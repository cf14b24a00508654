"""Kafka connection options shared by every client of the app, and the unreachable-broker message."""
from __future__ import annotations

from pipeline.config import Config


def client_options(cfg: Config) -> dict:
    """Connection and security options shared by every Kafka client of the app."""
    k = cfg.kafka
    opts = {
        "bootstrap_servers": list(k.bootstrap_servers),
        "bootstrap_timeout_ms": int(k.connect_timeout_seconds * 1000),
        "security_protocol": k.security_protocol,
    }
    if k.security_protocol == "SASL_SSL":
        opts.update(
            sasl_mechanism=k.sasl_mechanism,
            sasl_plain_username=k.sasl_username,
            sasl_plain_password=k.sasl_password_file.read_text().strip(),
            ssl_cafile=str(k.ssl_cafile) if k.ssl_cafile else None,
        )
    return opts


def unreachable_message(cfg: Config, exc: Exception) -> str:
    servers = ", ".join(cfg.kafka.bootstrap_servers)
    return (f"cannot reach the Kafka broker at {servers} within {cfg.kafka.connect_timeout_seconds:g} s "
            f"({type(exc).__name__}): is kafka.service running on the broker and its port open?")
