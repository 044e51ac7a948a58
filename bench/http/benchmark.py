"""HTTP submission benchmark: `POST /jobs` against a bare endpoint served by the same process,
and against the hand-written endpoint a user would write instead (`handwritten.py`, its own
uvicorn process on the same Redis).

Every endpoint gets byte-identical requests, in alternating runs, so the ratios are the
cost of our route (auth, validation, enqueue) and not of the machine or the load generator.
"""

from __future__ import annotations

import json
import statistics
import sys
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.harness.ports import free_port
from bench.harness.processes import Processes, child_env
from bench.harness.redis import RedisServer, command_delta
from bench.harness.report import ratio
from bench.harness.wait import poll_until, wait_until
from bench.http import batch, waiters
from bench.http.plan import HttpPlan
from bench.http.wrk import WrkResult, run_wrk, write_post_script, wrk_command

API_KEY = "bench-key"
BODY = json.dumps({"task": "examples.noop"})
HEADERS = {"Content-Type": "application/json", "X-API-Key": API_KEY}
ENDPOINTS = ("bare", "handwritten", "ours")
PATHS = {"bare": "/bare", "handwritten": "/jobs", "ours": "/jobs"}
FACTORIES = {"ours": "bench.http.app:create_bench_app", "handwritten": "bench.http.handwritten:create_handwritten_app"}
JOB_QUEUE_KEY = "rq:queue:default"
SETTLE_STEP = 0.25
SETTLE_TIMEOUT = 15.0


def run(plan: HttpPlan, workdir: Path) -> dict[str, Any]:
    """Serve both apps, alternate bare/hand-written/ours wrk runs, then the batch; summarise them."""
    with (
        RedisServer(workdir / "redis-http", startup_timeout=plan.startup_timeout) as redis,
        Processes(workdir / "logs") as processes,
    ):
        ports = {name: _serve(plan, processes, name, redis.url) for name in FACTORIES}
        bases = {e: f"http://127.0.0.1:{ports['handwritten' if e == 'handwritten' else 'ours']}" for e in ENDPOINTS}
        script = write_post_script(workdir / "post.lua", BODY, HEADERS)
        commands = _wrk_commands(plan, bases, script)
        _warm_up(plan, bases, script, redis)
        runs = [
            _measure(redis, endpoint, commands[endpoint], plan.http_seconds)
            for _ in range(plan.http_rounds)
            for endpoint in ENDPOINTS
        ]
        long_polls = _long_polls(plan, ports["ours"], commands["ours"], redis)
        redis.flush()
        figures = batch.measure(bases["ours"], API_KEY, redis, plan.batch_rounds)
    server = _uvicorn_command(ports["ours"], FACTORIES["ours"])
    return {**_summary(runs, server, commands), "long_polls": long_polls, "batch": figures}


def _serve(plan: HttpPlan, processes: Processes, name: str, redis_url: str) -> int:
    """Start one uvicorn process serving FACTORIES[name]; its port once it answers /healthz."""
    port = free_port()
    server = _uvicorn_command(port, FACTORIES[name])
    process = processes.python(f"uvicorn-{name}", server[1:], env=child_env(REDIS_URL=redis_url, API_KEYS=API_KEY))
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"), plan.startup_timeout, f"uvicorn {name} on {port}")
    except TimeoutError:
        print(processes.log_tail(process), file=sys.stderr)
        raise
    return port


def _long_polls(plan: HttpPlan, port: int, command: list[str], redis: RedisServer) -> dict[str, Any]:
    """`POST /jobs` under the same wrk load with none and with `long_poll_waiters` long-polls open.

    Redis is not flushed between these runs: the waiters' job must stay.
    """
    redis.flush()
    job_id = waiters.park_a_job(f"http://127.0.0.1:{port}", API_KEY)
    load = waiters.load_with(command, plan.http_seconds, lambda: _settle(redis))
    return waiters.measure("127.0.0.1", port, API_KEY, job_id, plan.long_poll_waiters, load, plan.latency_rounds)


def _wrk_commands(plan: HttpPlan, bases: dict[str, str], script: Path) -> dict[str, list[str]]:
    return {
        e: wrk_command(bases[e] + PATHS[e], script, plan.wrk_threads, plan.wrk_connections, plan.http_seconds)
        for e in ENDPOINTS
    }


def _warm_up(plan: HttpPlan, bases: dict[str, str], script: Path, redis: RedisServer) -> None:
    for endpoint in ENDPOINTS:
        warmup = wrk_command(
            bases[endpoint] + PATHS[endpoint], script, plan.wrk_threads, plan.wrk_connections, plan.http_warmup_seconds
        )
        run_wrk(warmup, plan.http_warmup_seconds)
        _settle(redis)


def _uvicorn_command(port: int, factory: str) -> list[str]:
    """The Procfile's web command, on `factory` and a private port."""
    args = f"-m uvicorn --factory {factory} --host 127.0.0.1 --port {port} --no-access-log"
    return [sys.executable, *args.split()]


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _measure(redis: RedisServer, endpoint: str, command: list[str], seconds: int) -> dict[str, Any]:
    """One wrk run on a freshly flushed Redis, with the Redis commands it caused."""
    redis.flush()
    before = redis.command_calls()
    result, _ = run_wrk(command, seconds)
    queued = _settle(redis)
    calls = command_delta(before, redis.command_calls())
    for ours_not_theirs in ("info", "flushall", "llen"):
        calls.pop(ours_not_theirs, None)
    handled = max(result.requests - result.non_2xx, queued)
    return {
        "endpoint": endpoint,
        **asdict(result),
        "jobs_queued": queued,
        "redis_commands_per_request": round(sum(calls.values()) / handled, 2) if handled else None,
        "redis_commands": calls,
    }


def _settle(redis: RedisServer) -> int:
    """Wait (bounded) until requests still queued in the server when wrk stopped have landed.

    Without this their enqueues would run into the next run and slow it down.
    Returns the number of jobs on the queue once it stopped growing (or at the deadline).
    """
    seen = [-1]

    def stopped_growing() -> bool:
        current = int(redis.client.llen(JOB_QUEUE_KEY))
        previous, seen[0] = seen[0], current
        return current == previous

    poll_until(stopped_growing, SETTLE_TIMEOUT, "the queue to stop growing", interval=SETTLE_STEP)
    return seen[0]


def _summary(runs: list[dict[str, Any]], server: list[str], commands: dict[str, list[str]]) -> dict[str, Any]:
    endpoints = {e: _mean_of([r for r in runs if r["endpoint"] == e]) for e in ENDPOINTS}
    bare, handwritten, ours = (endpoints[e]["rate"] for e in ENDPOINTS)
    return {
        "server_command": " ".join(server),
        "wrk_commands": {e: " ".join(c) for e, c in commands.items()},
        "request": {"method": "POST", "body": BODY, "headers": {**HEADERS, "X-API-Key": "<bench key>"}},
        "endpoints": endpoints,
        "ratio_ours_to_bare": ratio(ours, bare),
        "ratio_ours_to_handwritten": ratio(ours, handwritten),
        "goal_ratio_to_handwritten": 2.0,
        "runs": runs,
    }


def _mean_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per endpoint: mean rate and latencies over its rounds, summed error counts."""
    fields = [f for f in WrkResult.__dataclass_fields__ if f.endswith("_ms")] + ["rate"]
    mean = {f: round(statistics.fmean(r[f] for r in runs), 2) for f in fields}
    counts = {f: sum(r[f] for r in runs) for f in ("requests", "non_2xx", "socket_errors", "timeouts")}
    calls = [r["redis_commands_per_request"] for r in runs if r["redis_commands_per_request"] is not None]
    return {
        **mean,
        **counts,
        "rounds": [r["rate"] for r in runs],
        "redis_commands_per_request": round(statistics.fmean(calls), 2) if calls else None,
    }
