"""Kafka connection options shared by every client of the app, and the unreachable-broker message."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .core.config import Config


class StoppedWhileConnecting(BaseException):
    """A stop signal came while a client was still connecting (a BaseException: kafka-python's own
    `except Exception` handlers must not swallow it)."""


@contextmanager
def stop_ends_connecting(stop: threading.Event):
    """kafka-python's constructors block until the broker answers, up to connect_timeout_seconds.
    Inside this block a SIGTERM or SIGINT ends that wait at once (systemctl stop, a reboot), instead
    of after the timeout with a misleading 'cannot reach the broker'."""
    def interrupt(*_):
        stop.set()
        raise StoppedWhileConnecting()

    signals = (signal.SIGTERM, signal.SIGINT)
    previous = [signal.signal(sig, interrupt) for sig in signals]
    try:
        if stop.is_set():
            raise StoppedWhileConnecting()
        yield
    finally:
        for sig, handler in zip(signals, previous):
            signal.signal(sig, handler)


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


def spark_kafka_options(cfg: Config) -> dict:
    """The same connection and security options for Spark's Kafka connector (a Java client)."""
    k = cfg.kafka
    opts = {"kafka.bootstrap.servers": ",".join(k.bootstrap_servers), "kafka.security.protocol": k.security_protocol}
    if k.security_protocol == "SASL_SSL":
        password = k.sasl_password_file.read_text().strip()

        def quoted(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        opts.update({
            "kafka.sasl.mechanism": k.sasl_mechanism,
            "kafka.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required "
                                      f"username={quoted(k.sasl_username)} password={quoted(password)};",
        })
        if k.ssl_cafile:
            opts.update({"kafka.ssl.truststore.type": "PEM", "kafka.ssl.truststore.location": str(k.ssl_cafile)})
    return opts


def unreachable_message(cfg: Config, exc: Exception) -> str:
    servers = ", ".join(cfg.kafka.bootstrap_servers)
    return (f"cannot reach the Kafka broker at {servers} within {cfg.kafka.connect_timeout_seconds:g} s "
            f"({type(exc).__name__}): is kafka.service running on the broker and its port open?")
