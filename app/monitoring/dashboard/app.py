"""The dashboard's web app (Starlette, served by uvicorn): the page, its event stream, its charts.

Its sources (`source`): kafka reads the four metric topics and the alerts topic (kafka_feed: no
consumer group, nothing committed); csv polls the CSVs in output_dir; auto (the default) reads
Kafka and, while Kafka cannot be reached, the CSVs. One task, every `poll_seconds`, takes what
arrived and updates the board; each open page holds a server-sent events stream that gets the
board whenever it changed. Read-only: nothing here writes a file or takes input beyond the paths
below.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import queue
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..core.config import Config
from ..wiring import JOBS
from .charts import metric_chart
from .follow import CsvFollower
from .kafka_feed import ALERT, DOWN, METRIC, READY, KafkaFeed
from .page import PAGE
from .state import CONSUMERS, KAFKA, LIVE, Board, consumer_csvs, metric_names, thresholds_for

log = logging.getLogger("dashboard")
KEEPALIVE_SECONDS = 15
SOURCES = ("auto", "kafka", "csv")
DRAIN_AT_MOST = 50000      # records taken from the Kafka feed per poll (the loop stays responsive)


class Sources:
    """Kafka once it answers (source kafka or auto); else (csv, or auto until then) the live CSVs
    when any exists, else the consumers' CSVs. The board starts anew on a switch."""

    def __init__(self, cfg: Config, source: str = "auto", history_seconds: int = 600):
        self.cfg = cfg
        self.history_seconds = history_seconds
        out = Path(cfg.output_dir)
        self.live = {name: CsvFollower(out / job.live_csv) for name, job in JOBS.items()}
        self.consumers = {key: CsvFollower(out / csv) for key, csv in consumer_csvs().items()}
        self.feed = KafkaFeed(cfg, history_seconds) if source != "csv" else None
        self.csv = source != "kafka"
        self.notice = ""
        self.board = self._board(KAFKA if source == "kafka" else CONSUMERS)

    def start(self) -> None:
        if self.feed:
            self.feed.start()

    def stop(self) -> None:
        if self.feed:
            self.feed.stop.set()

    def _board(self, source: str) -> Board:
        return Board(source, thresholds_for(source, self.cfg.thresholds), self.history_seconds, notice=self.notice)

    def _say(self, notice: str) -> None:
        if notice != self.notice:
            log.warning("%s%s", notice, "; showing the CSVs meanwhile" if self.csv else "")
            self.notice = self.board.notice = notice
            self.board.version += 1

    def _drain(self) -> None:
        for _ in range(DRAIN_AT_MOST):
            try:
                event = self.feed.events.get_nowait()
            except queue.Empty:
                return
            kind = event[0]
            if kind == METRIC and self.board.source == KAFKA:
                self.board.add_message(*event[1:])
            elif kind == ALERT and self.board.source == KAFKA:
                self.board.add_alert_message(event[1])
            elif kind == READY:
                self.notice = ""
                if event[1] or self.board.source != KAFKA:
                    self.board = self._board(KAFKA)
                self.board.sample_alerts = not event[2]
                self.board.notice = ""
                self.board.version += 1
            elif kind == DOWN:
                self._say(event[1])

    def poll(self) -> None:
        if self.feed:
            self._drain()
        if self.board.source == KAFKA or not self.csv:
            return
        if self.board.source != LIVE and any(f.path.exists() for f in self.live.values()):
            log.info("live CSVs found in %s: showing the live windows", self.cfg.output_dir)
            self.board = self._board(LIVE)
        if self.board.source == LIVE:
            for name, follower in self.live.items():
                for row in follower.new_rows():
                    self.board.add_window(JOBS[name], row)
        else:
            for key, follower in self.consumers.items():
                for row in follower.new_rows():
                    self.board.add_sample(key, row)


def create_app(cfg: Config, poll_seconds: float = 1.0, source: str = "auto") -> Starlette:
    sources = Sources(cfg, source)
    charts: dict[str, tuple[tuple[int, int], bytes]] = {}   # metric -> ((board, version), PNG)

    async def poller():
        while True:
            try:
                sources.poll()
            except OSError as exc:
                log.warning("cannot read the CSVs in %s: %s", cfg.output_dir, exc)
            await asyncio.sleep(poll_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        sources.start()
        task = asyncio.create_task(poller())
        try:
            yield
        finally:
            task.cancel()
            sources.stop()

    async def index(_request: Request):
        return HTMLResponse(PAGE.replace("{{team}}", str(cfg.team_number)), headers={"Cache-Control": "no-store"})

    async def snapshot(_request: Request):
        return JSONResponse(sources.board.snapshot())

    async def events(request: Request):
        async def stream():
            sent, quiet = -1, 0.0
            while not await request.is_disconnected():
                board = sources.board
                if board.version != sent:
                    sent, quiet = board.version, 0.0
                    yield f"data: {json.dumps(board.snapshot())}\n\n"
                elif quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keepalive\n\n"
                await asyncio.sleep(poll_seconds)
                quiet += poll_seconds
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def chart(request: Request):
        metric = request.path_params["metric"]
        board = sources.board
        if metric not in metric_names(board.source):
            return Response("no such metric", status_code=404)
        cached = charts.get(metric)
        key = (id(board), board.version)
        if cached is None or cached[0] != key:
            # The drawing runs in a worker thread: it gets a copy of this metric's history.
            copy = dataclasses.replace(board, history={metric: {s: list(points) for s, points in
                                                                board.history.get(metric, {}).items()}})
            cached = charts[metric] = (key, await run_in_threadpool(metric_chart, copy, metric))
        return Response(cached[1], media_type="image/png", headers={"Cache-Control": "no-store"})

    return Starlette(routes=[Route("/", index), Route("/snapshot", snapshot), Route("/events", events),
                             Route("/chart/{metric}.png", chart)], lifespan=lifespan)


def serve(cfg: Config, host: str, port: int, poll_seconds: float = 1.0, source: str = "auto") -> int:
    """Listen on host:port until SIGTERM or SIGINT. The socket is bound here, so that a bad address
    is the caller's OSError (one line, exit code 1) rather than uvicorn's own exit."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host.strip("[]"), port), family=family)
    log.info("dashboard (source %s) on http://%s:%d/", source, host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(cfg, poll_seconds, source), log_level="warning",
                                           timeout_graceful_shutdown=2))
    server.run(sockets=[sock])
    return 0
