"""/healthz latency with and without long-polls open: waiting must not slow other requests.

Opens `count` `GET /jobs/{id}/result?wait=` on a job that will not end, then times
sequential /healthz requests; the ratio loaded/idle of their medians is the cost of the
waiters to everyone else (1.0 = none). Every step is bounded by STEP_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import urllib.request
from typing import Any

from bench.harness.report import ratio

STEP_TIMEOUT = 30.0
WAIT_SECONDS = 60


def park_a_job(base: str, api_key: str) -> str:
    """A job due in an hour: its waiters wait until they are closed."""
    body = json.dumps({"task": "examples.noop", "delay": 3600}).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}
    request = urllib.request.Request(base + "/jobs", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=STEP_TIMEOUT) as response:
        return str(json.load(response)["id"])


def measure(host: str, port: int, api_key: str, job_id: str, count: int, samples: int) -> dict[str, Any]:
    return asyncio.run(_measure(host, port, api_key, job_id, count, samples))


async def _measure(host: str, port: int, api_key: str, job_id: str, count: int, samples: int) -> dict[str, Any]:
    idle = await _healthz_latencies(host, port, samples)
    path = f"/jobs/{job_id}/result?wait={WAIT_SECONDS}"
    waiters = await asyncio.wait_for(
        asyncio.gather(*(_send(host, port, path, api_key) for _ in range(count))), STEP_TIMEOUT
    )
    try:
        loaded = await _healthz_latencies(host, port, samples)
        still_waiting = sum(1 for reader, _ in waiters if not reader.at_eof())
    finally:
        for _, writer in waiters:
            writer.close()
    idle_ms, loaded_ms = statistics.median(idle), statistics.median(loaded)
    return {
        "waiters": count,
        "still_waiting": still_waiting,
        "healthz_idle_p50_ms": round(idle_ms, 2),
        "healthz_with_waiters_p50_ms": round(loaded_ms, 2),
        "ratio_with_to_without": ratio(loaded_ms, idle_ms, 2),
    }


async def _send(host: str, port: int, path: str, api_key: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {api_key}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def _healthz_latencies(host: str, port: int, samples: int) -> list[float]:
    """Milliseconds per /healthz, one after another, each on a new connection read to its end."""
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        reader, writer = await _send(host, port, "/healthz", "-")
        await asyncio.wait_for(reader.readuntil(b"}"), STEP_TIMEOUT)
        latencies.append((time.perf_counter() - started) * 1000)
        writer.close()
    return latencies
