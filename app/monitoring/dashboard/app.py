"""The dashboard's web app (Starlette, served by uvicorn): the page, its event stream, its charts.

One task polls the CSVs in output_dir every `poll_seconds` and updates the board; each open page
holds a server-sent events stream that gets the board whenever it changed. Read-only: nothing here
writes a file or takes input beyond the paths below.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
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
from .page import PAGE
from .state import CONSUMERS, LIVE, Board, consumer_csvs, metric_names, thresholds_for

log = logging.getLogger("dashboard")
KEEPALIVE_SECONDS = 15


class Sources:
    """The live CSVs when any exists, else the consumers' CSVs; the board starts anew on a switch."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        out = Path(cfg.output_dir)
        self.live = {name: CsvFollower(out / job.live_csv) for name, job in JOBS.items()}
        self.consumers = {key: CsvFollower(out / csv) for key, csv in consumer_csvs().items()}
        self.board = self._board(CONSUMERS)

    def _board(self, source: str) -> Board:
        return Board(source, thresholds_for(source, self.cfg.thresholds))

    def poll(self) -> None:
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


def create_app(cfg: Config, poll_seconds: float = 1.0) -> Starlette:
    sources = Sources(cfg)
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
        task = asyncio.create_task(poller())
        try:
            yield
        finally:
            task.cancel()

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
            cached = charts[metric] = (key, await run_in_threadpool(metric_chart, board, metric))
        return Response(cached[1], media_type="image/png", headers={"Cache-Control": "no-store"})

    return Starlette(routes=[Route("/", index), Route("/snapshot", snapshot), Route("/events", events),
                             Route("/chart/{metric}.png", chart)], lifespan=lifespan)


def serve(cfg: Config, host: str, port: int, poll_seconds: float = 1.0) -> int:
    """Listen on host:port until SIGTERM or SIGINT. The socket is bound here, so that a bad address
    is the caller's OSError (one line, exit code 1) rather than uvicorn's own exit."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host.strip("[]"), port), family=family)
    log.info("dashboard of %s on http://%s:%d/", cfg.output_dir, host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(cfg, poll_seconds), log_level="warning",
                                           timeout_graceful_shutdown=2))
    server.run(sockets=[sock])
    return 0
