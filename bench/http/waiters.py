"""`POST /jobs` latency with and without long-polls waiting: waiting must not slow submissions.

Opens `count` `GET /jobs/{id}/result?wait=60` on a job due in an hour (so none ends),
then drives `POST /jobs` with wrk; the runs with no waiter open alternate with the runs
with them, on the same process and Redis, so the p99 ratio loaded/idle is the cost of the
waiters to everyone else (1.0 = none; the issue's goal: <= 1.2). Every step is bounded.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import urllib.request
from collections.abc import Callable
from typing import Any

from bench.harness.report import ratio
from bench.http.wrk import WrkResult, run_wrk

STEP_TIMEOUT = 30.0
WAIT_SECONDS = 60
GOAL_P99_RATIO = 1.2
SETTLE_SECONDS = 3.0  # 500 GETs take the server well under a second, even on a busy machine
ANSWER_GRACE = 0.2  # seconds to read a byte a waiter already has

Waiter = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def park_a_job(base: str, api_key: str) -> str:
    """A job due in an hour: its waiters wait until they are closed."""
    body = json.dumps({"task": "examples.noop", "delay": 3600}).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}
    request = urllib.request.Request(base + "/jobs", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=STEP_TIMEOUT) as response:
        return str(json.load(response)["id"])


def measure(
    host: str,
    port: int,
    api_key: str,
    job_id: str,
    count: int,
    load: Callable[[], WrkResult],
    rounds: int,
) -> dict[str, Any]:
    """`rounds` pairs of wrk runs (`load`), none waiting then `count` waiting; p99 and rate of each."""
    idle: list[WrkResult] = []
    loaded: list[WrkResult] = []
    still_waiting: list[int] = []
    for _ in range(rounds):
        idle.append(load())
        result, waiting = asyncio.run(_with_waiters(host, port, api_key, job_id, count, load))
        loaded.append(result)
        still_waiting.append(waiting)
    idle_p99, loaded_p99 = _mean(idle, "p99_ms"), _mean(loaded, "p99_ms")
    return {
        "waiters": count,
        "rounds": rounds,
        "still_waiting_after_each_run": still_waiting,
        "idle": _figures(idle),
        "with_waiters": _figures(loaded),
        "p99_ratio_with_to_without": ratio(loaded_p99, idle_p99, 2),
        "rate_ratio_with_to_without": ratio(_mean(loaded, "rate"), _mean(idle, "rate"), 2),
        "goal_p99_ratio": GOAL_P99_RATIO,
    }


def load_with(command: list[str], seconds: int, after: Callable[[], object]) -> Callable[[], WrkResult]:
    """One wrk run of `command`, then `after` (letting the server drain what wrk left in flight)."""

    def run() -> WrkResult:
        result, _ = run_wrk(command, seconds)
        after()
        return result

    return run


async def _with_waiters(
    host: str, port: int, api_key: str, job_id: str, count: int, load: Callable[[], WrkResult]
) -> tuple[WrkResult, int]:
    """Open the waiters, run `load` beside them (off the loop), count those still waiting, close them."""
    path = f"/jobs/{job_id}/result?wait={WAIT_SECONDS}"
    opened = await asyncio.wait_for(
        asyncio.gather(*(_send(host, port, path, api_key) for _ in range(count))), STEP_TIMEOUT
    )
    try:
        await asyncio.sleep(SETTLE_SECONDS)  # the server still parses the waiters' requests: not part of the load
        result = await asyncio.to_thread(load)
        return result, await _still_waiting([reader for reader, _ in opened])
    finally:
        for _, writer in opened:
            writer.close()


async def _still_waiting(readers: list[asyncio.StreamReader]) -> int:
    """How many waiters have had no byte of an answer (nor a close) yet."""
    reads = [asyncio.ensure_future(reader.read(1)) for reader in readers]
    _, pending = await asyncio.wait(reads, timeout=ANSWER_GRACE)
    for read in pending:
        read.cancel()
    return len(pending)


async def _send(host: str, port: int, path: str, api_key: str) -> Waiter:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {api_key}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


def _mean(results: list[WrkResult], field: str) -> float:
    return float(statistics.fmean(getattr(r, field) for r in results))


def _figures(results: list[WrkResult]) -> dict[str, Any]:
    return {
        "p50_ms": round(_mean(results, "p50_ms"), 2),
        "p99_ms": round(_mean(results, "p99_ms"), 2),
        "rate": round(_mean(results, "rate"), 1),
        "p99_per_round": [r.p99_ms for r in results],
        "rate_per_round": [r.rate for r in results],
        "non_2xx": sum(r.non_2xx for r in results),
        "socket_errors": sum(r.socket_errors for r in results),
    }
