"""An alert as a message on the alerts topic, and back: pure, so the stream job and the readers agree.

The value is JSON with the job's alert fields in a fixed order (monitoring.wiring.Job.alert_fields),
the two aggregates as JSON numbers with the live CSV's text ("91.25"), an empty one as null; the key
is the server_id. Nothing in it depends on when or how often it was sent: the same window's alert
published twice (after a crash between publishing and the checkpoint) is the same key and the same
bytes, so a reader drops a repeat by (job, server_id, window) or by the whole value.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..wiring import ALERT_COLUMN, ALERT_MESSAGE_LEAD, Job

_NAMED = (*ALERT_MESSAGE_LEAD, ALERT_COLUMN)


@dataclass(frozen=True)
class Alert:
    job: str
    server_id: str
    window_start: str
    window_end: str
    first: str        # the first aggregate as written in the live CSV; "" when it had no records
    second: str
    label: str


def encode(job: Job, alert: Alert) -> tuple[bytes, bytes]:
    """(key, value) of the alert's message."""
    def number(text: str) -> str:
        return text if text else "null"

    values = [json.dumps(alert.job), json.dumps(alert.server_id), json.dumps(alert.window_start),
              json.dumps(alert.window_end), number(alert.first), number(alert.second), json.dumps(alert.label)]
    body = ",".join(f"{json.dumps(name)}:{v}" for name, v in zip(job.alert_fields, values))
    return alert.server_id.encode(), ("{" + body + "}").encode()


def decode(value: bytes) -> dict:
    """The message's fields; numbers keep their text. Raises ValueError if it is not an alert."""
    doc = json.loads(value, parse_float=str, parse_int=str)
    if not isinstance(doc, dict) or not set(_NAMED) <= set(doc):
        raise ValueError("not an alert message")
    return doc


def line(doc: dict) -> str:
    """One terminal or journal line for an alert."""
    values = ", ".join(f"{k} {'-' if v is None else v}" for k, v in doc.items()
                       if k not in _NAMED)
    job, server, start, end = (doc[k] for k in ALERT_MESSAGE_LEAD)
    return f"{job} {server} {start}-{end}: {doc[ALERT_COLUMN]} ({values})"
