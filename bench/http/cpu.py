"""`python -m bench.http.cpu [REQUESTS] [--rounds N] [--profile WHICH]`: CPU per request, in-process.

The bench app (ours, with `POST /bare`) and the hand-written app are driven through ASGI
directly (no socket, no HTTP parsing: uvicorn's share is the same for every endpoint),
one private Redis, `CONCURRENCY` requests in flight as wrk -c32 keeps them. The CPU time of
the process per request is the figure; it moves far less with the machine's load than
wrk's req/s, so two checkouts compare by running this on each in turns. `--profile ours`
prints cProfile's top functions for `POST /jobs` (or `bare`, `handwritten`, `batch`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.harness.redis import RedisServer

API_KEY = "bench-key"
BODY = json.dumps({"task": "examples.noop"}).encode()
BATCH = 1000
BATCH_BODY = json.dumps({"jobs": [{"task": "examples.noop"}] * BATCH}).encode()
CONCURRENCY = 32
HEADERS = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"x-api-key", API_KEY.encode())]

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def request(app: Asgi, path: str, body: bytes) -> int:
    """One POST through `app`; its status (anything but 2xx stops the run)."""
    headers = [*HEADERS, (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = [0]

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a disconnect never comes while the app answers
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    await app(scope, receive, send)
    if not 200 <= status[0] < 300:
        raise RuntimeError(f"POST {path} answered {status[0]}")
    return status[0]


async def drive(app: Asgi, path: str, body: bytes, count: int, concurrency: int) -> None:
    """`count` requests, `concurrency` at a time."""
    left = [count]

    async def one_lane() -> None:
        while left[0] > 0:
            left[0] -= 1
            await request(app, path, body)

    await asyncio.gather(*(one_lane() for _ in range(concurrency)))


class Lifespan:
    """Runs an app's lifespan startup and, on exit, its shutdown."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self.outbox.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {reply}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        assert self.task is not None
        await self.task


def build(which: str) -> Asgi:
    """The app `which` is served by: `create_bench_app` for ours, bare and batch; the hand-written one."""
    if which == "handwritten":
        from bench.http.handwritten import create_handwritten_app

        return create_handwritten_app()
    from bench.http.app import create_bench_app

    return create_bench_app()


TARGETS = {
    "bare": ("/bare", BODY, 1),
    "ours": ("/jobs", BODY, 1),
    "handwritten": ("/jobs", BODY, 1),
    "batch": ("/jobs/batch", BATCH_BODY, BATCH),
}


async def measure(which: str, requests: int, redis: RedisServer, profile: bool) -> float:
    """CPU microseconds of this process per request (per job for a batch); prints a profile if asked."""
    path, body, per_request = TARGETS[which]
    count = max(1, requests // per_request)
    lanes = 1 if which == "batch" else CONCURRENCY
    app = build(which)
    async with Lifespan(app):
        await drive(app, path, body, max(1, count // 10), lanes)  # warm up: connections, caches
        redis.flush()
        profiler = cProfile.Profile() if profile else None
        cpu = time.process_time()
        if profiler is not None:
            profiler.enable()
        await drive(app, path, body, count, lanes)
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - cpu
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
    return 1e6 * cpu / (count * per_request)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http.cpu", description=__doc__.splitlines()[0])
    parser.add_argument("requests", type=int, nargs="?", default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="bare,handwritten,ours,batch")
    parser.add_argument("--profile", choices=tuple(TARGETS), default=None)
    args = parser.parse_args()
    import uvloop

    with tempfile.TemporaryDirectory() as workdir, RedisServer(Path(workdir)) as redis:
        os.environ.update(REDIS_URL=redis.url, API_KEYS=API_KEY, LOG_LEVEL="WARNING")
        if args.profile:
            uvloop.run(measure(args.profile, args.requests, redis, profile=True))
            return 0
        names = args.only.split(",")
        runs: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(args.rounds):
            for name in names:
                redis.flush()
                runs[name].append(uvloop.run(measure(name, args.requests, redis, profile=False)))
    for name, values in runs.items():
        unit = "job" if name == "batch" else "request"
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:<12} CPU us per {unit}: median {statistics.median(values):.0f}, min {min(values):.0f} ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
