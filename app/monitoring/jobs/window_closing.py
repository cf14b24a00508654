"""Which windows a micro-batch closes: the stream job's own closing rule, one batch sooner than Spark's.

The query runs in update mode: each micro-batch hands over every window its rows changed, with the
window's aggregates so far and the latest event time counted in it. The sink keeps the windows not
yet closed and the latest event time of the query (the flush marks' included), and closes a window
in the batch whose rows take that latest time `lateness` or more past the window's end, so a closed
window reaches the live CSV in the batch that closes it, not in the no-data batch after it (append
mode). Spark's watermark after that batch is the same bound, so Spark drops later rows for the
window in the batches after the next; a row the next batch still counts for a window closed here
(Spark filters late rows by the watermark of the batch before) is late to the live path, and the
update it brings is ignored and counted. Pure: the sink checkpoints the state with each batch id.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Window:
    server_id: str
    k: int              # its place on the grid: start = t0 + k * slide
    end: int            # its end, epoch seconds
    fields: tuple       # the live CSV's fields (server_id first), None for empty


@dataclass(frozen=True)
class Closing:
    latest: int | None = None                      # the latest event time the query counted
    open: tuple[Window, ...] = field(default=())   # windows updated and not closed, by (server_id, k)


@dataclass(frozen=True)
class Step:
    state: Closing
    closed: list[Window]    # sorted by server_id, then k
    late: int               # updates of windows closed before this batch, ignored


def advance(state: Closing, updates: list[Window], batch_latest: int | None, lateness: int) -> Step:
    """One micro-batch: its window updates and the latest event time of its rows (None: no rows)."""
    before = None if state.latest is None else state.latest - lateness
    windows = {(w.server_id, w.k): w for w in state.open}
    late = 0
    for w in updates:
        if before is not None and w.end <= before:
            late += 1
            continue
        windows[(w.server_id, w.k)] = w
    latest = state.latest if batch_latest is None else max(batch_latest, state.latest or batch_latest)
    bound = None if latest is None else latest - lateness
    ordered = sorted(windows.values(), key=lambda w: (w.server_id, w.k))
    closed = [w for w in ordered if bound is not None and w.end <= bound]
    still_open = tuple(w for w in ordered if bound is None or w.end > bound)
    return Step(Closing(latest, still_open), closed, late)


def to_json(state: Closing) -> dict:
    return {"latest": state.latest, "open": [[w.server_id, w.k, w.end, list(w.fields)] for w in state.open]}


def from_json(doc: dict) -> Closing:
    latest = doc["latest"]
    return Closing(None if latest is None else int(latest),
                   tuple(Window(s, int(k), int(end), tuple(f)) for s, k, end, f in doc["open"]))
